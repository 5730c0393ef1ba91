from __future__ import annotations

from clustersim.config import Scenario
from clustersim.rng import Streams
from clustersim.workload import build_workload


def scenario(**workload: object) -> Scenario:
    return Scenario.model_validate({"workload": workload})


def test_explicit_jobs_with_count_and_checkpoint_size() -> None:
    sc = scenario(
        jobs=[
            {
                "name": "b",
                "gpus": 16,
                "work": "1h",
                "submit": "2h",
                "count": 2,
                "model_params": 1e9,
            },
            {"name": "a", "gpus": 8, "work": "1h", "checkpoint_bytes": "1TB"},
        ]
    )
    jobs = build_workload(sc, Streams(0))
    assert [j.name for j in jobs] == ["a", "b-0", "b-1"]
    assert [j.id for j in jobs] == [0, 1, 2]
    assert jobs[0].checkpoint_bytes == 1e12
    assert jobs[1].checkpoint_bytes == 14e9


def test_generator_is_seeded_sorted_and_bounded() -> None:
    sc = scenario(
        generator={
            "jobs": 500,
            "window": "10d",
            "classes": [
                {"name": "s", "weight": 3, "gpus": [8], "work_median": "1h", "work_max": "5h"},
                {"name": "l", "weight": 1, "gpus": [64, 128], "work_median": "10h"},
            ],
        }
    )
    a = build_workload(sc, Streams(1))
    b = build_workload(sc, Streams(1))
    c = build_workload(sc, Streams(2))
    assert a == b and a != c
    submits = [j.submit_s for j in a]
    assert submits == sorted(submits) and submits[0] >= 0 and submits[-1] <= 10 * 86400
    small = [j for j in a if j.name.startswith("s-")]
    assert all(j.work_s <= 5 * 3600 for j in small)
    assert 0.65 < len(small) / len(a) < 0.85
