from __future__ import annotations

import numpy as np

from clustersim.rng import BlockSampler, Streams


def test_named_streams_are_stable_and_independent() -> None:
    a = Streams(7).get("faults.node").random(5)
    b = Streams(7).get("faults.node").random(5)
    c = Streams(7).get("faults.rack").random(5)
    d = Streams(7, replication=1).get("faults.node").random(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_adding_a_stream_does_not_change_another() -> None:
    s1 = Streams(3)
    s1.get("workload.arrivals").random(100)
    x = s1.get("faults.node").random(3)
    y = Streams(3).get("faults.node").random(3)
    assert np.array_equal(x, y)


def test_global_random_state_is_not_used() -> None:
    np.random.seed(1)
    x = Streams(5).get("s").random(3)
    np.random.seed(2)
    np.random.random(10)
    assert np.array_equal(x, Streams(5).get("s").random(3))


def test_block_sampler_moments() -> None:
    s = BlockSampler(Streams(1).get("x"), block=256)
    e = np.array([s.exponential() for _ in range(20000)])
    z = np.array([s.normal() for _ in range(20000)])
    k = np.array([s.integer(7) for _ in range(20000)])
    assert abs(e.mean() - 1) < 0.03
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert k.min() == 0 and k.max() == 6


def test_no_global_randomness_in_the_package() -> None:
    """STYLE: global ``random``/``np.random.*`` draws are banned in library code."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    banned = re.compile(
        r"np\.random\.(rand|random|seed|normal|exponential|randint|choice)\(|"
        r"^\s*import random\b|\brandom\.(random|seed|choice|randint)\(",
        re.M,
    )
    for folder in ("src/clustersim", "scheduler", "faults"):
        for path in (root / folder).rglob("*.py"):
            assert not banned.search(path.read_text()), path
