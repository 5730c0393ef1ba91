from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clustersim.config.units import (
    format_bandwidth,
    format_bytes,
    format_duration,
    format_gpu_seconds,
    parse_bandwidth,
    parse_bytes,
    parse_duration,
    parse_gpu_seconds,
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
        (format_gpu_seconds, parse_gpu_seconds),
    ):
        text = fmt(x)
        assert parse(text) == x or (isinstance(text, float) and text == x)
        assert not (isinstance(text, float) and math.isnan(text))


def test_formatting_is_human() -> None:
    assert format_duration(54 * 86400.0) == "54d"
    assert format_bytes(5.67e12) == "5.67TB"
    assert format_bandwidth(2e12) == "2TB/s"


@pytest.mark.parametrize(
    ("text", "gpu_s"),
    [
        ("3200 GPU-s", 3200.0),
        ("1 GPU-h", 3600.0),
        ("2.5 gpu-days", 216000.0),
        ("10GPU-m", 600.0),
        (42, 42.0),
        ("7", 7.0),
    ],
)
def test_gpu_time(text: object, gpu_s: float) -> None:
    assert parse_gpu_seconds(text) == gpu_s
    assert parse_gpu_seconds(format_gpu_seconds(gpu_s)) == gpu_s


@pytest.mark.parametrize("bad", ["3 node-h", "GPU-h", "1 GPU-fortnight", "1 GPU"])
def test_bad_gpu_time(bad: str) -> None:
    with pytest.raises(ValueError, match="GPU time"):
        parse_gpu_seconds(bad)


def test_gpu_time_is_written_in_gpu_hours_where_exact() -> None:
    assert format_gpu_seconds(3600.0) == "1 GPU-h"
    assert format_gpu_seconds(3200.0) == "3200 GPU-s"
