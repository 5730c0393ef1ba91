from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clustersim.config.units import (
    format_bandwidth,
    format_bytes,
    format_duration,
    parse_bandwidth,
    parse_bytes,
    parse_duration,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("54d", 54 * 86400.0),
        ("1h30m", 5400.0),
        ("8.6ms", 0.0086),
        ("1y", 365 * 86400.0),
        (90, 90.0),
        ("12.5", 12.5),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "value"),
    [("5.67TB", 5.67e12), ("80GiB", 80 * 2**30), ("400Gb", 5e10), ("1kB", 1e3)],
)
def test_sizes(text: str, value: float) -> None:
    assert parse_bytes(text) == pytest.approx(value)


def test_bandwidth_and_rate() -> None:
    assert parse_bandwidth("2TB/s") == 2e12
    assert parse_bandwidth("400Gb/s") == 5e10
    assert parse_bandwidth("1TB/h") == pytest.approx(1e12 / 3600)
    assert parse_rate("6.5/1000 node-days", "node") == pytest.approx(6.5 / 1000 / 86400)
    assert parse_rate("3.79 per 1000 node-days", "node") == pytest.approx(3.79e-3 / 86400)
    assert parse_rate("1/node-year", "node") == pytest.approx(1 / (365 * 86400))


@pytest.mark.parametrize("bad", ["2 parsecs", "fast", "", "1e400s", True, [1]])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_rate_must_name_the_right_component() -> None:
    with pytest.raises(ValueError, match="expects per node"):
        parse_rate("1/1000 gpu-days", "node")


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_formatting_round_trips_exactly(x: float) -> None:
    for fmt, parse in (
        (format_duration, parse_duration),
        (format_bytes, parse_bytes),
        (format_bandwidth, parse_bandwidth),
    ):
        text = fmt(x)
        assert parse(text) == x or (isinstance(text, float) and text == x)
        assert not (isinstance(text, float) and math.isnan(text))


def test_formatting_is_human() -> None:
    assert format_duration(54 * 86400.0) == "54d"
    assert format_bytes(5.67e12) == "5.67TB"
    assert format_bandwidth(2e12) == "2TB/s"
