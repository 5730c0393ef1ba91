"""The knobs ``clustersim plan`` may turn, their default ranges, their prices, and scaling.

A knob is a scenario field the operator can invest in (docs/planning.md). This module owns
the knob registry (:data:`KNOBS`), parsing ``--knob path[=lo:hi | =v1,v2,..]`` and
``--price path=USD`` and ``--scale 16k,...``, the per-scale value grids, applying a knob
setting to a :class:`~clustersim.config.Scenario`, the cost model (US dollars per 30-day
month), scaling a single-job scenario to another size, and multiplying its failure rates.
Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from clustersim.config import Scenario, UsageError
from clustersim.config.units import parse_bandwidth, parse_duration

__all__ = [
    "DEFAULT_KNOBS",
    "HOURS_PER_MONTH",
    "KNOBS",
    "Knob",
    "KnobRequest",
    "apply_knobs",
    "base_value",
    "default_price",
    "format_value",
    "knob_cost",
    "knob_grid",
    "parse_knob",
    "parse_price",
    "parse_scales",
    "requests_for",
    "scale_rates",
    "scale_scenario",
]

DEFAULT_KNOBS = (
    "checkpoint.interval",
    "storage.write_bandwidth",
    "cluster.spare_nodes",
    "restart.init_time",
)
"""The knobs a plan turns unless told which (``--knob``, ``plan(knobs=...)``)."""
HOURS_PER_MONTH = 720.0
"""A planning month is 30 days (the llama4-100k and scale-history horizons)."""
TB_S = 1e12
MINUTE_S = 60.0
INTERVAL_STEPS = 8
"""The default interval grid is ``τ*·2^(k/4)`` for ``k = -8..8``: a quarter-octave resolution."""
INTERVAL_RATIO = 2.0**0.25

Cost = Literal["free", "absolute", "reduction"]


@dataclass(frozen=True, slots=True)
class Knob:
    """What one knob sets, how it is shown and priced, and which way is better.

    Attributes:
        path: The knob's name on the command line (a scenario field, or ``restart.init_time``).
        unit: Display unit; ``scale`` base units make one display unit.
        scale: Base units (s, B/s, nodes) per display unit.
        parse: Parses one value given on the command line into base units.
        cost: ``free``; ``absolute`` (value × price, a resource paid for every month); or
            ``reduction`` (price × how far the value is below the scenario's, engineering).
        price_usd: Default price per display unit per month (``None``: from ``cost.*``).
        better: ``up`` if a larger value raises ETTR (bandwidth, spares), else ``down``.
        default: Default grid in base units (``None``: derived per scale, see :func:`knob_grid`).
    """

    path: str
    unit: str
    scale: float
    parse: Callable[[str], float]
    cost: Cost
    price_usd: float | None
    better: Literal["up", "down", "optimum"]
    default: tuple[float, ...] | None


def _nodes(text: str) -> float:
    value = float(text)
    if value < 0 or value != int(value):
        raise ValueError(f"expected a whole number of nodes, got {text!r}")
    return value


_BANDWIDTH = tuple(v * TB_S for v in (0.5, 1, 2, 3, 5, 7.5, 10))


def _bandwidth_knob(path: str) -> Knob:
    """A storage bandwidth knob (read and write are priced and gridded alike)."""
    return Knob(path, "TB/s", TB_S, parse_bandwidth, "absolute", 20_000.0, "up", _BANDWIDTH)


KNOBS: dict[str, Knob] = {
    "checkpoint.interval": Knob(
        "checkpoint.interval", "min", MINUTE_S, parse_duration, "free", 0.0, "optimum", None
    ),
    "storage.write_bandwidth": _bandwidth_knob("storage.write_bandwidth"),
    "storage.read_bandwidth": _bandwidth_knob("storage.read_bandwidth"),
    "cluster.spare_nodes": Knob(
        "cluster.spare_nodes", "node", 1.0, _nodes, "absolute", None, "up", None
    ),
    "restart.init_time": Knob(
        "restart.init_time",
        "min",
        MINUTE_S,
        parse_duration,
        "reduction",
        10_000.0,
        "down",
        tuple(v * MINUTE_S for v in (0.5, 1, 2, 5, 10, 15, 20, 30)),
    ),
    "restart.detection": Knob(
        "restart.detection",
        "min",
        MINUTE_S,
        parse_duration,
        "reduction",
        10_000.0,
        "down",
        (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    ),
}


@dataclass(frozen=True, slots=True)
class KnobRequest:
    """One ``--knob``: the knob and, optionally, the user's range or list of values."""

    knob: Knob
    low: float | None = None
    high: float | None = None
    values: tuple[float, ...] | None = None


def parse_knob(text: str) -> KnobRequest:
    """Parse ``path``, ``path=lo:hi`` or ``path=v1,v2,..`` (values with units).

    Raises:
        UsageError: On an unknown knob or a value that does not parse.
    """
    path, _, spec = text.partition("=")
    path = path.strip()
    knob = KNOBS.get(path)
    if knob is None:
        raise UsageError(f"--knob {path!r}: unknown knob (known: {', '.join(KNOBS)})")
    if not spec:
        return KnobRequest(knob)
    zero_ok = knob.path == "cluster.spare_nodes"
    try:
        if ":" in spec:
            lo_text, _, hi_text = spec.partition(":")
            lo, hi = knob.parse(lo_text.strip()), knob.parse(hi_text.strip())
            if not (0 if zero_ok else 1e-300) <= lo < hi:
                raise ValueError(f"expected lo < hi, both > 0, got {spec!r}")
            return KnobRequest(knob, low=lo, high=hi)
        values = tuple(sorted({knob.parse(v.strip()) for v in spec.split(",")}))
    except ValueError as exc:
        raise UsageError(f"--knob {text!r}: {exc}") from None
    if any(v < 0 or (v == 0 and not zero_ok) for v in values):
        raise UsageError(f"--knob {text!r}: values must be > 0")
    return KnobRequest(knob, values=values)


def parse_price(text: str) -> tuple[str, float]:
    """Parse ``--price path=USD`` (US dollars per display unit per month).

    Raises:
        UsageError: On an unknown knob or a price that is not a number >= 0.
    """
    path, sep, value = text.partition("=")
    if path not in KNOBS or not sep:
        raise UsageError(f"--price {text!r}: expected KNOB=USD with a knob of: {', '.join(KNOBS)}")
    try:
        price = float(value)
    except ValueError:
        raise UsageError(f"--price {text!r}: {value!r} is not a number") from None
    if not math.isfinite(price) or price < 0:
        raise UsageError(f"--price {text!r}: the price must be a finite number >= 0")
    return path, price


def parse_scales(text: str) -> list[int]:
    """Parse ``16k,32k,98304`` into GPU counts.

    ``Nk`` is N thousand GPUs rounded as the papers count them: to a power of two if one lies
    within 5 %, else to a multiple of 2,048 (16k = 16,384, 24k = 24,576, 98k = 98,304,
    131k = 131,072). A plain number is taken as it is.

    Raises:
        UsageError: On an entry that is not a positive whole number of GPUs.
    """
    out: list[int] = []
    for item in text.split(","):
        item = item.strip().lower()
        thousands = item.endswith("k")
        try:
            value = float(item[:-1] if thousands else item)
        except ValueError:
            value = math.nan
        if thousands and math.isfinite(value) and value > 0:
            value *= 1000.0
            power = 2.0 ** round(math.log2(value))
            value = power if abs(power - value) <= 0.05 * value else 2048.0 * round(value / 2048)
        if not math.isfinite(value) or value < 1 or value != int(value) or value > 1e8:
            raise UsageError(f"--scale {text!r}: {item!r} is not a GPU count like 16k or 98304")
        out.append(int(value))
    return out


def _geometric(low: float, high: float, n: int) -> tuple[float, ...]:
    if low <= 0:
        return tuple(low + (high - low) * i / (n - 1) for i in range(n))
    return tuple(low * (high / low) ** (i / (n - 1)) for i in range(n))


def knob_grid(
    request: KnobRequest, *, optimum_s: float, n_nodes: int, job_nodes: int
) -> tuple[float, ...]:
    """The values to try for one knob at one scale, in base units, sorted.

    Defaults: interval ``τ*·2^(k/4)``, k = -8..8, around this scale's exact optimum ``τ*``;
    spares 0 to 5 % of the cluster's nodes in 6 steps, capped so the job still fits; the others
    from :data:`KNOBS`. A ``lo:hi`` range keeps the default number of points, spaced
    geometrically (spares: evenly, whole nodes).
    """
    knob = request.knob
    spare_cap = max(0, n_nodes - job_nodes - 1)
    if request.values is not None:
        values: tuple[float, ...] = request.values
    elif knob.path == "checkpoint.interval":
        n = 2 * INTERVAL_STEPS + 1
        if request.low is not None and request.high is not None:
            values = _geometric(request.low, request.high, n)
        else:
            values = tuple(optimum_s * INTERVAL_RATIO**k for k in range(-8, 9))
    elif knob.path == "cluster.spare_nodes":
        low = request.low if request.low is not None else 0.0
        high = request.high if request.high is not None else math.floor(0.05 * n_nodes)
        high = min(high, spare_cap)
        low = min(low, high)
        values = tuple(sorted({float(round(low + (high - low) * i / 5)) for i in range(6)}))
    else:
        assert knob.default is not None
        if request.low is not None and request.high is not None:
            values = _geometric(request.low, request.high, len(knob.default))
        else:
            values = knob.default
    if knob.path == "cluster.spare_nodes" and any(v > spare_cap for v in values):
        raise UsageError(
            f"--knob cluster.spare_nodes: at most {spare_cap} spares leave room for the job "
            f"({job_nodes} of {n_nodes} nodes)"
        )
    return tuple(sorted(values))


def knob_cost(knob: Knob, value: float, base: float, price: float) -> float:
    """US dollars per month for setting ``knob`` to ``value`` (``base``: the scenario's value)."""
    units = value / knob.scale
    if knob.cost == "absolute":
        return units * price
    if knob.cost == "reduction":
        return max(0.0, (base - value) / knob.scale) * price
    return 0.0


def default_price(knob: Knob, scenario: Scenario) -> float:
    """The knob's default price; a spare node costs its GPUs at ``cost.usd_per_gpu_hour``."""
    if knob.price_usd is not None:
        return knob.price_usd
    return scenario.cluster.gpus_per_node * HOURS_PER_MONTH * scenario.cost.usd_per_gpu_hour


def base_value(knob: Knob, scenario: Scenario, job_gpus: int) -> float:
    """The knob's value in the scenario as given (the init time at the job's size)."""
    sc = scenario
    values: dict[str, float] = {
        "checkpoint.interval": sc.checkpoint.interval,
        "storage.write_bandwidth": sc.storage.write_bandwidth,
        "storage.read_bandwidth": sc.storage.read_bandwidth,
        "cluster.spare_nodes": float(sc.cluster.spare_nodes),
        "restart.init_time": sc.restart.init + sc.restart.init_per_gpu * job_gpus,
        "restart.detection": sc.restart.detection,
    }
    return values[knob.path]


def _section(scenario: Scenario, name: str, **update: Any) -> Scenario:
    section = getattr(scenario, name)
    return scenario.model_copy(update={name: section.model_copy(update=update)})


def apply_knobs(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """``scenario`` with each knob set (base units); fields not named are left alone.

    ``checkpoint.interval`` also sets ``checkpoint.policy: fixed``; ``restart.init_time`` sets
    the whole init (``restart.init``) and zeroes ``restart.init_per_gpu``; ``restart.detection``
    is the default detection (causes with their own ``detection`` keep it).
    """
    sc = scenario
    for path, value in sorted(values.items()):
        if path == "checkpoint.interval":
            sc = _section(sc, "checkpoint", policy="fixed", interval=value)
        elif path in ("storage.write_bandwidth", "storage.read_bandwidth"):
            sc = _section(sc, "storage", **{path.split(".")[1]: value})
        elif path == "cluster.spare_nodes":
            sc = _section(sc, "cluster", spare_nodes=int(value))
        elif path == "restart.init_time":
            sc = _section(sc, "restart", init=value, init_per_gpu=0.0)
        elif path == "restart.detection":
            sc = _section(sc, "restart", detection=value)
        else:  # pragma: no cover - parse_knob admits only registered knobs
            raise KeyError(path)
    return sc


def scale_rates(scenario: Scenario, multiplier: float) -> Scenario:
    """``scenario`` with every unplanned failure rate multiplied (maintenance is untouched)."""
    faults = {
        name: f.model_copy(update={"rate": f.rate * multiplier})
        if f.rate is not None and not f.is_planned
        else f
        for name, f in scenario.faults.items()
    }
    return scenario.model_copy(update={"faults": faults})


def scale_scenario(scenario: Scenario, gpus: int) -> Scenario:
    """A single-job scenario scaled to a job of ``gpus`` GPUs, cluster and spares alike.

    As the ``scale-history-*`` presets do: the job's GPUs change; the cluster keeps its ratio
    of nodes to job nodes (whole pods, or whole racks in a one-pod cluster) and its ratio of
    spares to job nodes; per-node failure rates, the model (checkpoint size) and the restart
    law (``init + init_per_gpu × GPUs``) stay as they are.

    Raises:
        UsageError: If the scenario does not hold exactly one explicit job.
    """
    wl = scenario.workload
    if wl.generator is not None or len(wl.jobs) != 1 or wl.jobs[0].count != 1:
        raise UsageError("--scale needs a scenario with exactly one job (workload.jobs)")
    cfg = scenario.cluster
    job = wl.jobs[0]
    gpn = cfg.gpus_per_node
    old_nodes = math.ceil(job.gpus / gpn)
    new_nodes = math.ceil(gpus / gpn)
    ratio = new_nodes / old_nodes
    n_nodes = cfg.nodes_per_rack * cfg.racks_per_pod * cfg.pods
    spares = round(cfg.spare_nodes * ratio)
    want = max(math.ceil(n_nodes * ratio), new_nodes + spares + 1)
    if cfg.pods > 1:
        per_pod = cfg.nodes_per_rack * cfg.racks_per_pod
        cluster = cfg.model_copy(update={"pods": math.ceil(want / per_pod), "spare_nodes": spares})
    else:
        racks = math.ceil(want / cfg.nodes_per_rack)
        cluster = cfg.model_copy(update={"racks_per_pod": racks, "spare_nodes": spares})
    jobs = [job.model_copy(update={"gpus": gpus})]
    return scenario.model_copy(
        update={
            "name": f"{scenario.name}@{gpus}",
            "cluster": cluster,
            "workload": wl.model_copy(update={"jobs": jobs}),
        }
    )


BASE_UNITS = {"min": "s", "TB/s": "B/s", "node": "node"}
"""The base unit of each display unit (what a knob's values are in: JSON ``from``/``to``)."""


def format_value(knob: Knob, value: float) -> str:
    """A knob value in its display unit (``2 TB/s``, ``4.1 min``, ``64``); under a minute, s.

    A 5 s detection time reads ``5 s``, not ``0.0833 min``.
    """
    shown = value / knob.scale
    if knob.unit == "node":
        return f"{int(shown)}"
    if knob.unit == "min" and abs(value) < 60.0:
        return f"{value:.3g} s"
    return f"{shown:.3g} {knob.unit}"


def requests_for(texts: Sequence[str]) -> list[KnobRequest]:
    """Parse every ``--knob`` and refuse the same knob twice (UsageError)."""
    out = [parse_knob(t) for t in texts]
    seen = [r.knob.path for r in out]
    dup = sorted({p for p in seen if seen.count(p) > 1})
    if dup:
        raise UsageError(f"--knob {dup[0]!r} given more than once")
    return out
