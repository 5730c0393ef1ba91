"""Human units at the config edge: durations, byte sizes, bandwidths, failure rates and power.

Inside the simulator everything is a float in base units (seconds, bytes, bytes per second,
events per component-second, watts). This module owns the conversion both ways: ``parse_*`` turns
``"2h"``, ``"5.67TB"``, ``"2TB/s"``, ``"6.5/1000 node-days"`` or ``"10.2kW"`` into base units, and
``format_*`` turns a base-unit float back into the shortest human string that parses back to
exactly the same float (so a resolved scenario printed by ``clustersim show`` re-loads
bit-for-bit).

Conventions (documented in ``docs/config.md``):

* A plain number is already in base units (seconds, bytes, bytes/s, per component-second, W).
* Power is watts with a decimal prefix: ``"700W"``, ``"10.2kW"``, ``"150MW"``, ``"1.2GW"``.
* Byte prefixes are decimal (``TB`` = 10**12 B) unless binary (``TiB`` = 2**40 B); a lower-case
  ``b`` means bits (``400Gb/s`` = 5e10 B/s).
* A rate names its component: ``"3.79/1000 node-days"``, ``"0.5 per gpu-year"``,
  ``"1/1000 switch-months"``. The component must be the one the field expects.
* An amount of GPU time is GPUs x time: ``"3200 GPU-s"``, ``"1 GPU-h"``, ``"2.5 gpu-days"``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = [
    "SECONDS_PER_UNIT",
    "Bandwidth",
    "Bytes",
    "Duration",
    "GpuSeconds",
    "NodeRate",
    "Watts",
    "format_bandwidth",
    "format_bytes",
    "format_duration",
    "format_gpu_seconds",
    "format_power",
    "format_rate",
    "parse_bandwidth",
    "parse_bytes",
    "parse_duration",
    "parse_gpu_seconds",
    "parse_power",
    "parse_rate",
]

SECONDS_PER_UNIT: dict[str, float] = {
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "wk": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
    "month": 30 * 86400.0,
    "months": 30 * 86400.0,
    "y": 365 * 86400.0,
    "yr": 365 * 86400.0,
    "year": 365 * 86400.0,
    "years": 365 * 86400.0,
}

_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_BIN_PREFIX = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DURATION_PART = re.compile(rf"\s*({_NUM})\s*([a-zA-Z]+)\s*")
_SIZE = re.compile(rf"^\s*({_NUM})\s*(Ki|Mi|Gi|Ti|Pi|[kKMGTPE]?)([Bb])\s*$")
_GPU_TIME = re.compile(rf"^\s*({_NUM})\s*gpu[-\s]?([a-z]+)\s*$", re.IGNORECASE)
_POWER = re.compile(rf"^\s*({_NUM})\s*([kKMG]?)W\s*$")
_RATE = re.compile(rf"^\s*({_NUM})\s*(?:/|per)\s*(?:({_NUM})\s*)?([a-zA-Z]+)[-\s]([a-zA-Z]+)\s*$")


def _number(value: Any, what: str) -> float | None:
    """Return ``value`` as a float if it is a plain number; ``None`` if it is a string."""
    if isinstance(value, bool):
        raise ValueError(f"expected a {what}, got a boolean")
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:  # an int beyond float range (over about 1.8e308)
            digits = int(int(value).bit_length() * math.log10(2)) + 1  # str() may refuse it
            raise ValueError(f"{what} is too large: {digits} digits, beyond float range") from None
        if not math.isfinite(result):
            raise ValueError(f"{what} must be finite, got {value!r}")
        return result
    if isinstance(value, str):
        stripped = value.strip()
        try:
            result = float(stripped)
        except ValueError:
            return None
        if not math.isfinite(result):
            raise ValueError(f"{what} must be finite, got {value!r}")
        return result
    kind = type(value).__name__
    raise ValueError(f"expected a {what} (number or string with a unit), got {kind}")


def _finite(result: float, value: Any, what: str) -> float:
    if not math.isfinite(result):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return result


def parse_duration(value: Any) -> float:
    """Parse ``"90s"``, ``"2h"``, ``"1h30m"``, ``"54d"`` or a number of seconds into seconds."""
    plain = _number(value, "duration")
    if plain is not None:
        return plain
    text = str(value).strip()
    pos = 0
    total = 0.0
    matched = False
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse duration {value!r} (try '30s', '10m', '2h', '54d')")
        unit = m.group(2)
        scale = SECONDS_PER_UNIT.get(unit, SECONDS_PER_UNIT.get(unit.lower()))
        if scale is None:
            raise ValueError(f"unknown time unit {unit!r} in {value!r}")
        total += float(m.group(1)) * scale
        matched = True
        pos = m.end()
    if not matched:
        raise ValueError(f"cannot parse duration {value!r}")
    return _finite(total, value, "duration")


def parse_gpu_seconds(value: Any) -> float:
    """Parse ``"3200 GPU-s"``, ``"1 GPU-h"``, ``"2 gpu-days"`` or a number of GPU-seconds."""
    plain = _number(value, "GPU time")
    if plain is not None:
        return plain
    m = _GPU_TIME.match(str(value))
    if m is None:
        raise ValueError(f"cannot parse GPU time {value!r} (try '3200 GPU-s', '1 GPU-h')")
    number, unit = m.groups()
    scale = SECONDS_PER_UNIT.get(unit, SECONDS_PER_UNIT.get(unit.lower()))
    if scale is None:
        raise ValueError(f"unknown time unit {unit!r} in GPU time {value!r}")
    return _finite(float(number) * scale, value, "GPU time")


def parse_bytes(value: Any) -> float:
    """Parse ``"5.67TB"``, ``"80GiB"``, ``"400Gb"`` or a number of bytes into bytes."""
    plain = _number(value, "size")
    if plain is not None:
        return plain
    m = _SIZE.match(str(value))
    if m is None:
        raise ValueError(f"cannot parse size {value!r} (try '5.67TB', '80GiB')")
    number, prefix, unit = m.groups()
    scale = _BIN_PREFIX[prefix] if prefix in _BIN_PREFIX else _PREFIX[prefix]
    if unit == "b":
        scale /= 8.0
    return _finite(float(number) * scale, value, "size")


def parse_bandwidth(value: Any) -> float:
    """Parse ``"2TB/s"``, ``"400Gb/s"`` or a number of bytes per second into bytes/s."""
    plain = _number(value, "bandwidth")
    if plain is not None:
        return plain
    text = str(value).strip()
    if "/" not in text:
        raise ValueError(f"cannot parse bandwidth {value!r} (try '2TB/s', '400Gb/s')")
    size_text, _, time_text = text.rpartition("/")
    size = parse_bytes(size_text)
    time_text = time_text.strip()
    per = SECONDS_PER_UNIT.get(time_text)
    if per is None:
        per = parse_duration(time_text)
    if per <= 0:
        raise ValueError(f"bandwidth {value!r} has a non-positive time unit")
    return _finite(size / per, value, "bandwidth")


def parse_power(value: Any) -> float:
    """Parse ``"700W"``, ``"10.2kW"``, ``"150MW"``, ``"1.2GW"`` or a number of watts into watts."""
    plain = _number(value, "power")
    if plain is not None:
        return plain
    m = _POWER.match(str(value))
    if m is None:
        raise ValueError(f"cannot parse power {value!r} (try '700W', '10.2kW', '150MW')")
    return _finite(float(m.group(1)) * _PREFIX[m.group(2)], value, "power")


def parse_rate(value: Any, component: str) -> float:
    """Parse a failure rate per ``component`` into events per component-second.

    Accepts ``"6.5/1000 node-days"``, ``"3.79 per 1000 node-days"``, ``"0.2/gpu-year"`` or a
    plain number (already per component-second). The component word must match ``component``
    (singular or plural).
    """
    plain = _number(value, "rate")
    if plain is not None:
        return plain
    m = _RATE.match(str(value))
    if m is None:
        raise ValueError(f"cannot parse rate {value!r} (try '3.79/1000 {component}-days')")
    count, per_count, comp, unit = m.groups()
    if comp.lower().rstrip("s") != component:
        raise ValueError(f"rate {value!r} is per {comp!r}, but this field expects per {component}")
    scale = SECONDS_PER_UNIT.get(unit.lower())
    if scale is None:
        raise ValueError(f"unknown time unit {unit!r} in rate {value!r}")
    denominator = (float(per_count) if per_count else 1.0) * scale
    if denominator <= 0:
        raise ValueError(f"rate {value!r} has a non-positive denominator")
    return _finite(float(count) / denominator, value, "rate")


def _shortest(value: float, units: list[tuple[str, float]], parse: Any) -> str | float:
    """The first ``f"{value/scale:g}{unit}"`` that parses back to exactly ``value``."""
    if value == 0:
        return 0.0
    for unit, scale in units:
        quotient = value / scale
        if abs(quotient) < 1 and scale != units[-1][1]:
            continue
        text = f"{quotient:.12g}{unit}"
        if parse(text) == value:
            return text
    return value


_DURATION_UNITS = [("y", 365 * 86400.0), ("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)]
_BYTE_UNITS = [(f"{p}B", _PREFIX[p]) for p in ("E", "P", "T", "G", "M", "k", "")]
_POWER_UNITS = [(f"{p}W", _PREFIX[p]) for p in ("G", "M", "k", "")]


def format_duration(seconds: float) -> str | float:
    """Shortest exact human string for ``seconds`` (or the float itself)."""
    return _shortest(seconds, _DURATION_UNITS, parse_duration)


def format_bytes(n_bytes: float) -> str | float:
    """Shortest exact human string for a byte count (or the float itself)."""
    return _shortest(n_bytes, _BYTE_UNITS, parse_bytes)


def format_bandwidth(bytes_per_s: float) -> str | float:
    """Shortest exact human string for a bandwidth in bytes/s (or the float itself)."""
    return _shortest(bytes_per_s, [(f"{u}/s", s) for u, s in _BYTE_UNITS], parse_bandwidth)


def format_power(watts: float) -> str | float:
    """Shortest exact human string for a power in watts (``"10.2kW"``), or the float itself."""
    return _shortest(watts, _POWER_UNITS, parse_power)


def format_rate(per_component_s: float, component: str = "node") -> str | float:
    """``"x/1000 {component}-days"`` if it parses back exactly, else the float itself."""
    per_1000_days = per_component_s * 1000 * 86400.0
    text = f"{per_1000_days:.12g}/1000 {component}-days"
    return text if parse_rate(text, component) == per_component_s else per_component_s


def format_gpu_seconds(gpu_s: float) -> str | float:
    """Shortest exact human string for GPU-seconds (``"1 GPU-h"``), or the float itself."""
    units = [(f" GPU-{u}", scale) for u, scale in _DURATION_UNITS]
    return _shortest(gpu_s, units, parse_gpu_seconds)


def _format_node_rate(per_node_s: float) -> str | float:
    return format_rate(per_node_s, "node")


def _non_negative(parse: Any) -> Any:
    def check(value: Any) -> float:
        result = float(parse(value))
        if result < 0:
            raise ValueError(f"must not be negative, got {value!r}")
        return result

    return check


Duration = Annotated[
    float,
    BeforeValidator(_non_negative(parse_duration)),
    PlainSerializer(format_duration, return_type=Any),
]
"""Seconds; accepts ``"30s"``, ``"10m"``, ``"2h"``, ``"54d"`` or a number; never negative."""

Bytes = Annotated[
    float,
    BeforeValidator(_non_negative(parse_bytes)),
    PlainSerializer(format_bytes, return_type=Any),
]
"""Bytes; accepts ``"5.67TB"``, ``"80GiB"`` or a number; never negative."""

Bandwidth = Annotated[
    float,
    BeforeValidator(_non_negative(parse_bandwidth)),
    PlainSerializer(format_bandwidth, return_type=Any),
]
"""Bytes per second; accepts ``"2TB/s"``, ``"400Gb/s"`` or a number; never negative."""

GpuSeconds = Annotated[
    float,
    BeforeValidator(_non_negative(parse_gpu_seconds)),
    PlainSerializer(format_gpu_seconds, return_type=Any),
]
"""GPU-seconds (GPUs x seconds); accepts ``"3200 GPU-s"``, ``"1 GPU-h"`` or a number."""

NodeRate = Annotated[
    float,
    BeforeValidator(_non_negative(lambda v: parse_rate(v, "node"))),
    PlainSerializer(_format_node_rate, return_type=Any),
]
"""Failures per node-second; accepts ``"3.79/1000 node-days"`` or a number; never negative."""

Watts = Annotated[
    float,
    BeforeValidator(_non_negative(parse_power)),
    PlainSerializer(format_power, return_type=Any),
]
"""Watts; accepts ``"700W"``, ``"10.2kW"``, ``"150MW"`` or a number; never negative."""
