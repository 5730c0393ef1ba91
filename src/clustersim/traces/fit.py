"""Fitting failure-time distributions to a failure trace, per cause.

This module owns ``clustersim trace fit``'s statistics: it reads a failure trace (the CSV or
JSON-lines format that ``kind: trace`` replays, parsed by
:func:`clustersim.faults.trace.read_fault_trace`), groups its rows by ``cause`` and fits, per
cause, an exponential and a Weibull distribution to the times between failures by maximum
likelihood with right-censoring, with a Kolmogorov-Smirnov goodness-of-fit statistic and AIC
to pick the better of the two. It renders the result as a ``faults:`` YAML section for a
scenario. No scipy: the special functions (regularised incomplete gamma, chi-square quantile,
Kolmogorov distribution) are computed here.

**What is fitted.** The simulator's ``kind: poisson`` source runs one renewal process per
node, starting at time 0 (``faults/poisson.py``), so that is the model fitted when the node
count is known (``--nodes N``, or a ``# nodes: N`` comment line in the trace): every node
contributes its gaps between failures, the first measured from the window start, and one
right-censored gap from its last failure (or from 0, for a node that never failed) to the
window end. Without a node count the unit is the whole cluster: the gaps between the cause's
successive failures anywhere, the first from the window start, the last right-censored.
Rows of one unit at the same time are one arrival (a multi-node incident in cluster mode);
a zero first gap (a failure exactly at the window start) is left out.

**The window** is ``[0, end]``: ``end`` is ``--window`` (or a ``# window: 54d`` comment
line), else the time of the trace's last row (then the cause with the last row has no
censored gap). For the exponential the censored MLE is then exactly the Poisson MLE
``failures / exposure``; censoring matters for the Weibull, whose shape would otherwise be
biased towards short gaps.

**Goodness of fit.** Each complete gap ``x`` with time ``c`` left in the window at its start
is transformed to ``u = F(x) / F(c)``, which is uniform on [0, 1] under the model (a gap is
only seen complete if it ended inside the window); KS D is the distance of the u's from the
uniform, with the asymptotic Kolmogorov p-value. The parameters are estimated from the same
data, so that p-value is conservative (Lilliefors): it rejects a wrong model less often than
its nominal level, never more.

Size: one module (over 500 lines) because it is one statistic pipeline, read top to bottom:
the no-scipy special functions it needs, the censored fits, the per-cause sample, the
result types and their YAML rendering. The special functions (``gamma_p``,
``chi2_quantile``, ``kolmogorov_sf``) are the seam to split along if another module needs
them or this one grows.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clustersim.config import MAX_INT, ConfigError, UsageError
from clustersim.config.units import parse_duration
from clustersim.faults.trace import FaultTrace, read_fault_trace

__all__ = [
    "MIN_FAILURES",
    "CauseFit",
    "ExponentialFit",
    "Sample",
    "TraceFit",
    "WeibullFit",
    "chi2_quantile",
    "fit_exponential",
    "fit_trace",
    "fit_weibull",
    "gamma_p",
    "kolmogorov_sf",
    "ks_statistic",
    "read_directives",
    "sample_from_times",
]

DAY_S = 86400.0
CONFIDENCE = 0.95
"""Level of the exponential rate's confidence interval."""
MIN_FAILURES = 5
"""Fewer failures than this in a cause and ``trace fit`` warns: with so few, the rate's interval
spans an order of magnitude and a KS p-value is near 1 whatever the model."""
SIGNIFICANT = 4
"""Significant digits of the rates and shapes in the emitted YAML (far below their SE)."""
_NEWTON_STEPS = 200
_DIRECTIVES = ("nodes", "window")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Sample:
    """Times between failures, some right-censored, with multiplicities.

    ``x`` are the gap lengths (s); ``observed`` is False for a censored gap (the unit was
    still up at the window end); ``bound`` is the time left in the window when the gap
    started (for a censored gap, its own length); ``weight`` counts identical rows (the
    nodes that never failed are one censored row of weight ``N - failed nodes``).
    """

    x: FloatArray
    observed: NDArray[np.bool_]
    bound: FloatArray
    weight: FloatArray

    @classmethod
    def complete(cls, x: Any) -> Sample:
        """A sample of fully observed gaps with no window bound (e.g. simulated draws)."""
        arr = np.asarray(x, dtype=float)
        n = arr.size
        return cls(arr, np.ones(n, dtype=bool), np.full(n, math.inf), np.ones(n))

    @property
    def failures(self) -> int:
        """Number of complete gaps (= failures observed)."""
        return int(self.weight[self.observed].sum())

    @property
    def exposure(self) -> float:
        """Total time at risk (s): the sum of every gap, censored ones included."""
        return float((self.weight * self.x).sum())


@dataclass(frozen=True, slots=True)
class ExponentialFit:
    """MLE rate (per second) with its exact chi-square interval, SE, log-likelihood, KS."""

    rate: float
    low: float
    high: float
    se: float
    loglik: float
    ks_d: float
    ks_p: float

    @property
    def aic(self) -> float:
        """Akaike information criterion, 2·1 − 2 log L."""
        return 2.0 - 2.0 * self.loglik


@dataclass(frozen=True, slots=True)
class WeibullFit:
    """MLE shape ``k`` and scale ``scale`` (s) with standard errors, log-likelihood and KS."""

    k: float
    scale: float
    se_k: float
    se_scale: float
    loglik: float
    ks_d: float
    ks_p: float

    @property
    def mean(self) -> float:
        """Mean time between failures, λ·Γ(1 + 1/k) (s)."""
        return self.scale * math.gamma(1.0 + 1.0 / self.k)

    @property
    def aic(self) -> float:
        """Akaike information criterion, 2·2 − 2 log L."""
        return 4.0 - 2.0 * self.loglik


# ----------------------------------------------------------------- special functions


def gamma_p(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) (series below a + 1, continued fraction above)."""
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        denom = a
        for _ in range(100_000):
            denom += 1.0
            term *= x / denom
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return min(1.0, total * math.exp(log_front))
    # Q(a, x) by the modified Lentz method on its continued fraction.
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def chi2_quantile(p: float, dof: float) -> float:
    """The ``p`` quantile of the chi-square distribution with ``dof`` degrees of freedom."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    lo, hi = 0.0, max(1.0, dof)
    while gamma_p(dof / 2.0, hi / 2.0) < p:
        hi *= 2.0
    for _ in range(200):  # bisection: the CDF is monotone, 200 halvings reach float precision
        mid = 0.5 * (lo + hi)
        if gamma_p(dof / 2.0, mid / 2.0) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return 0.5 * (lo + hi)


def kolmogorov_sf(t: float) -> float:
    """P(K > t) for the Kolmogorov distribution (the limit of √n·D under the null)."""
    if t <= 0.0:
        return 1.0
    if t < 1.0:  # the theta-function form converges fast for small t
        s = sum(math.exp(-((2 * j - 1) ** 2) * math.pi**2 / (8.0 * t * t)) for j in range(1, 20))
        return min(1.0, max(0.0, 1.0 - math.sqrt(2.0 * math.pi) / t * s))
    s = math.fsum((1.0 if j % 2 else -1.0) * math.exp(-2.0 * j * j * t * t) for j in range(1, 101))
    return min(1.0, max(0.0, 2.0 * s))


def ks_statistic(u: FloatArray) -> tuple[float, float]:
    """KS distance of values ``u`` (uniform under the null) from the uniform, and its p-value."""
    n = u.size
    if n == 0:
        return math.nan, math.nan
    s = np.sort(np.clip(u, 0.0, 1.0))
    i = np.arange(1, n + 1, dtype=float)
    d = float(max((i / n - s).max(), (s - (i - 1) / n).max()))
    return d, kolmogorov_sf(math.sqrt(n) * d)


# ----------------------------------------------------------------- estimators


def _conditional_pit(cdf: FloatArray, cdf_bound: FloatArray) -> FloatArray:
    """The PIT F(x) / F(c) of a gap seen complete because it ended within the window."""
    with np.errstate(divide="ignore", invalid="ignore"):
        u: FloatArray = np.where(cdf_bound > 0.0, cdf / cdf_bound, 1.0)
    return u


def fit_exponential(sample: Sample, confidence: float = CONFIDENCE) -> ExponentialFit:
    """Censored exponential MLE: rate = failures / exposure.

    The interval is the exact (Garwood) chi-square interval for a failure count over a fixed
    exposure T: [χ²(α/2; 2d) / 2T, χ²(1 − α/2; 2d + 2) / 2T]; the SE is rate / √d.

    Raises:
        ValueError: the sample has no complete gap or no exposure.
    """
    d = sample.failures
    total = sample.exposure
    if d < 1 or total <= 0.0:
        raise ValueError("an exponential fit needs at least one failure and some exposure")
    rate = d / total
    alpha = 1.0 - confidence
    low = chi2_quantile(alpha / 2.0, 2.0 * d) / (2.0 * total)
    high = chi2_quantile(1.0 - alpha / 2.0, 2.0 * d + 2.0) / (2.0 * total)
    loglik = d * math.log(rate) - rate * total
    obs = sample.observed
    cdf = -np.expm1(-rate * sample.x[obs])
    bound = -np.expm1(-rate * sample.bound[obs])
    ks_d, ks_p = ks_statistic(np.repeat(_conditional_pit(cdf, bound), _counts(sample)))
    return ExponentialFit(rate, low, high, rate / math.sqrt(d), loglik, ks_d, ks_p)


def _counts(sample: Sample) -> NDArray[np.int64]:
    return np.rint(sample.weight[sample.observed]).astype(np.int64)


def fit_weibull(sample: Sample) -> WeibullFit | None:
    """Censored Weibull MLE by Newton's method on the profile likelihood of the shape.

    For a shape k the scale's MLE is λ(k)^k = Σ w·x^k / d; substituting it leaves the score
    g(k) = 1/k + mean(log x over failures) − Σ w·x^k·log x / Σ w·x^k, strictly decreasing in
    k, so its root is unique. Newton steps are kept inside a bracket (bisection when a step
    leaves it). Standard errors come from the observed information matrix at the MLE.
    Returns None when no finite MLE exists: fewer than two failures, or every failed gap as
    long as the longest gap (the likelihood then grows without bound in k).
    """
    obs = sample.observed & (sample.x > 0.0)
    w_obs = sample.weight[obs]
    d = float(w_obs.sum())
    keep = sample.x > 0.0
    x_all, w_all = sample.x[keep], sample.weight[keep]
    if d < 2 or x_all.size == 0:
        return None
    top = float(x_all.max())
    log_y = np.log(x_all / top)  # scaled so that y^k never overflows: log y <= 0
    mean_log_obs = float((w_obs * np.log(sample.x[obs] / top)).sum()) / d
    if mean_log_obs >= -1e-12:
        return None

    def score(k: float) -> tuple[float, float]:
        yk = w_all * np.exp(k * log_y)
        s0 = float(yk.sum())
        s1 = float((yk * log_y).sum())
        s2 = float((yk * log_y * log_y).sum())
        g = 1.0 / k + mean_log_obs - s1 / s0
        return g, -1.0 / (k * k) - (s2 * s0 - s1 * s1) / (s0 * s0)

    lo, hi = 1.0, 1.0
    while score(lo)[0] < 0.0:
        lo /= 2.0
    while score(hi)[0] > 0.0:
        hi *= 2.0
    k = 0.5 * (lo + hi) if lo != hi else lo
    for _ in range(_NEWTON_STEPS):
        g, dg = score(k)
        if g > 0.0:
            lo = max(lo, k)
        else:
            hi = min(hi, k)
        step = k - g / dg if dg < 0.0 else math.nan
        new = step if lo < step < hi else 0.5 * (lo + hi)
        if abs(new - k) <= 1e-13 * k:
            k = new
            break
        k = new
    yk = w_all * np.exp(k * log_y)
    scale = top * (float(yk.sum()) / d) ** (1.0 / k)
    return _weibull_result(sample, k, scale, d)


def _weibull_result(sample: Sample, k: float, scale: float, d: float) -> WeibullFit:
    keep = sample.x > 0.0
    x, w = sample.x[keep], sample.weight[keep]
    obs = sample.observed[keep]
    log_r = np.log(x / scale)
    z = np.exp(k * log_r)
    wz = w * z
    sum_obs_log = float((w[obs] * log_r[obs]).sum())
    loglik = d * math.log(k / scale) + (k - 1.0) * sum_obs_log - float(wz.sum())
    # Observed information (negative Hessian in (k, λ)).
    swz, swzl, swzl2 = float(wz.sum()), float((wz * log_r).sum()), float((wz * log_r**2).sum())
    h_kk = -d / (k * k) - swzl2
    h_ll = -(k / scale**2) * (swz - d) - (k * k / scale**2) * swz
    h_kl = (swz - d) / scale + (k / scale) * swzl
    info = -np.array([[h_kk, h_kl], [h_kl, h_ll]])
    try:
        cov = np.linalg.inv(info)
        se_k, se_scale = math.sqrt(max(cov[0, 0], 0.0)), math.sqrt(max(cov[1, 1], 0.0))
    except np.linalg.LinAlgError:
        se_k = se_scale = math.nan
    so = sample.observed
    cdf = -np.expm1(-((sample.x[so] / scale) ** k))
    bound = -np.expm1(-((sample.bound[so] / scale) ** k))
    ks_d, ks_p = ks_statistic(np.repeat(_conditional_pit(cdf, bound), _counts(sample)))
    return WeibullFit(k, scale, se_k, se_scale, loglik, ks_d, ks_p)


# ----------------------------------------------------------------- traces


def sample_from_times(times: Any, end: float) -> Sample:
    """The gaps of one unit (a node, or the cluster) failing at ``times`` within ``[0, end]``.

    Equal times are one arrival; the first gap runs from 0 (a zero one is dropped), the last
    one, from the last failure to ``end``, is censored (dropped when zero).
    """
    t = np.unique(np.asarray(times, dtype=float))
    starts = np.concatenate(([0.0], t[:-1]))
    gaps = t - starts
    keep = gaps > 0.0
    x = gaps[keep]
    bound = (end - starts)[keep]
    tail = end - (float(t[-1]) if t.size else 0.0)
    observed = np.ones(x.size, dtype=bool)
    if tail > 0.0:
        x = np.append(x, tail)
        bound = np.append(bound, tail)
        observed = np.append(observed, False)
    return Sample(x, observed, bound, np.ones(x.size))


def _node_sample(nodes: NDArray[np.int64], times: FloatArray, end: float, n_nodes: int) -> Sample:
    """Pooled per-node renewal gaps; the nodes that never failed are one censored row."""
    parts = [sample_from_times(times[nodes == node], end) for node in np.unique(nodes)]
    idle = n_nodes - len(parts)
    if idle > 0 and end > 0.0:
        row = np.array([end])
        parts.append(Sample(row, np.zeros(1, dtype=bool), row, np.array([float(idle)])))
    return Sample(
        np.concatenate([p.x for p in parts]),
        np.concatenate([p.observed for p in parts]),
        np.concatenate([p.bound for p in parts]),
        np.concatenate([p.weight for p in parts]),
    )


@dataclass(frozen=True, slots=True)
class CauseFit:
    """The fits of one cause: its rows, failures fitted, and both models."""

    cause: str
    rows: int
    failures: int
    exposure_s: float
    exponential: ExponentialFit
    weibull: WeibullFit | None

    @property
    def pick(self) -> str:
        """``weibull`` if its AIC is lower, else ``exponential`` (the simpler model on ties)."""
        if self.weibull is not None and self.weibull.aic < self.exponential.aic:
            return "weibull"
        return "exponential"

    def fault(self) -> dict[str, Any]:
        """A ``kind: poisson`` fault entry (needs per-node fits) as scenario data."""
        entry: dict[str, Any] = {"kind": "poisson"}
        if self.pick == "weibull" and self.weibull is not None:
            entry["rate"] = _rate_text(1.0 / self.weibull.mean)
            entry["distribution"] = "weibull"
            entry["shape"] = float(f"{self.weibull.k:.{SIGNIFICANT}g}")
        else:
            entry["rate"] = _rate_text(self.exponential.rate)
        return entry


@dataclass(frozen=True, slots=True)
class TraceFit:
    """Per-cause fits of one trace; ``nodes`` is None when the unit is the whole cluster."""

    path: str
    nodes: int | None
    window_s: float
    causes: tuple[CauseFit, ...]

    @property
    def unit(self) -> str:
        """What a rate is per: ``node`` or ``cluster``."""
        return "cluster" if self.nodes is None else "node"

    def warnings(self) -> list[str]:
        """One line per cause fitted from fewer than :data:`MIN_FAILURES` failures."""
        return [
            f"{self.path}: cause {fit.cause or '(unlabelled)'!r}: only {fit.failures} "
            f"failure{'s' if fit.failures != 1 else ''} (fewer than {MIN_FAILURES}): its rate, "
            "interval and KS p-value say little, and the Weibull fit less"
            for fit in self.causes
            if fit.failures < MIN_FAILURES
        ]

    def faults_yaml(self) -> str:
        """The ``faults:`` section, ready to paste into a scenario (needs a node count)."""
        if self.nodes is None:
            raise UsageError(
                f"{self.path}: a faults section needs the node count "
                "(--nodes N, or a '# nodes: N' line in the trace)"
            )
        lines = [
            f"# fitted by clustersim trace fit from {Path(self.path).name}: "
            f"{self.nodes} nodes, {self.window_s / DAY_S:.6g} days",
            "faults:",
        ]
        for fit in self.causes:
            entry = fit.fault()
            body = ", ".join(f"{key}: {_yaml_scalar(value)}" for key, value in entry.items())
            lines.append(f"  {_yaml_key(fit.cause)}: {{{body}}}")
        return "\n".join(lines) + "\n"

    def __rich__(self) -> Any:
        """A table: cause, n, rate with CI, Weibull k and λ, KS D/p of both, AIC pick."""
        from rich import box
        from rich.console import Group
        from rich.table import Table

        per_node = self.nodes is not None
        scale, unit = (1000.0 * DAY_S, "/1000 node-days") if per_node else (DAY_S, "/day")
        title = (
            f"{Path(self.path).name}: {self.window_s / DAY_S:.4g} days, "
            + (f"{self.nodes:,} nodes (per-node renewals)" if per_node else "whole cluster")
            + f"; rate {unit}"
        )
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for name in ("cause", "n", "rate", "95 % CI", "exp D/p"):
            table.add_column(name, justify="left" if name == "cause" else "right")
        for name in ("k", "λ", "Weib D/p", "ΔAIC", "pick"):
            table.add_column(name, justify="right")
        for fit in self.causes:
            exp, wb = fit.exponential, fit.weibull
            row = [
                fit.cause or "(unlabelled)",
                f"{fit.failures:,}",
                f"{exp.rate * scale:.4g}",
                f"{exp.low * scale:.3g}-{exp.high * scale:.3g}",
                _ks(exp.ks_d, exp.ks_p),
            ]
            if wb is None:
                row += ["-", "-", "-", "-"]
            else:
                row += [
                    f"{wb.k:.3f}±{wb.se_k:.3f}",
                    _span(wb.scale),
                    _ks(wb.ks_d, wb.ks_p),
                    f"{exp.aic - wb.aic:+.1f}",
                ]
            table.add_row(*row, "Weibull" if fit.pick == "weibull" else "exp")
        note = (
            "n: failures fitted. k, λ: Weibull shape and scale. D/p: Kolmogorov-Smirnov distance "
            "and asymptotic p-value (conservative: parameters fitted to the same data). "
            "ΔAIC = AIC(exp) − AIC(Weibull): > 0 favours Weibull."
        )
        return Group(table, note)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: every fitted number, rates per unit-second and per unit-day."""
        return {
            "path": self.path,
            "unit": self.unit,
            "nodes": self.nodes,
            "window_s": self.window_s,
            "causes": [_cause_dict(fit) for fit in self.causes],
            "min_failures": MIN_FAILURES,
            "warnings": self.warnings(),
        }


def _cause_dict(fit: CauseFit) -> dict[str, Any]:
    exp = fit.exponential
    out: dict[str, Any] = {
        "cause": fit.cause,
        "rows": fit.rows,
        "failures": fit.failures,
        "exposure_s": fit.exposure_s,
        "exponential": {
            "rate_per_s": exp.rate,
            "rate_per_day": exp.rate * DAY_S,
            "ci95_per_day": [exp.low * DAY_S, exp.high * DAY_S],
            "se_per_day": exp.se * DAY_S,
            "loglik": exp.loglik,
            "aic": exp.aic,
            "ks_d": exp.ks_d,
            "ks_p": exp.ks_p,
        },
        "weibull": None,
        "pick": fit.pick,
    }
    wb = fit.weibull
    if wb is not None:
        out["weibull"] = {
            "shape": wb.k,
            "shape_se": wb.se_k,
            "scale_s": wb.scale,
            "scale_se_s": wb.se_scale,
            "mean_s": wb.mean,
            "loglik": wb.loglik,
            "aic": wb.aic,
            "ks_d": wb.ks_d,
            "ks_p": wb.ks_p,
        }
    return out


def _ks(d: float, p: float) -> str:
    return f"{d:.3f}/{p:.2g}"


def _span(seconds: float) -> str:
    """A duration for the table: days above two days, else hours."""
    if seconds >= 2 * DAY_S:
        return f"{seconds / DAY_S:.4g} d"
    return f"{seconds / 3600.0:.4g} h"


def _rate_text(per_node_s: float) -> str:
    """A per-node rate as ``"x/1000 node-days"`` to :data:`SIGNIFICANT` digits."""
    return f"{per_node_s * 1000.0 * DAY_S:.{SIGNIFICANT}g}/1000 node-days"


def _yaml_key(text: str) -> str:
    """A cause name as a YAML key (JSON-quoted unless plainly safe)."""
    safe = bool(text) and text[0].isalpha() and all(ch.isalnum() or ch in "-_" for ch in text)
    safe = safe and text.isascii() and text.lower() not in ("true", "false", "null")
    return text if safe else json.dumps(text or "unlabelled")


def _yaml_scalar(value: Any) -> str:
    """A YAML 1.2 flow scalar: strings JSON-quoted (valid YAML) unless plain, numbers as repr."""
    if not isinstance(value, str):
        return repr(value)
    return value if value.isascii() and value.isalpha() else json.dumps(value)


def read_directives(path: str | os.PathLike[str]) -> dict[str, str]:
    """``# nodes: N`` and ``# window: D`` comment lines before the trace's first row.

    Raises:
        ConfigError: a directive names the same key twice (``path:line: key: message``).
    """
    found: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            for number, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line:
                    continue
                if not line.startswith("#"):
                    break
                key, sep, value = line[1:].partition(":")
                key = key.strip().lower()
                if sep and key in _DIRECTIVES:
                    if key in found:
                        raise ConfigError([f"{path}:{number}: {key}: given twice"])
                    found[key] = value.strip()
                    found[f"{key}_line"] = str(number)
    except OSError:
        return {}  # read_fault_trace reports the unreadable file
    return found


def _directive_nodes(path: str, found: dict[str, str]) -> int | None:
    if "nodes" not in found:
        return None
    text = found["nodes"]
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_INT:
        raise ConfigError(
            [f"{path}:{found['nodes_line']}: nodes: expected a positive integer, got {text!r}"]
        )
    return int(text)


def _directive_window(path: str, found: dict[str, str]) -> float | None:
    if "window" not in found:
        return None
    try:
        value = parse_duration(found["window"])
    except (ValueError, TypeError, OverflowError) as err:
        raise ConfigError([f"{path}:{found['window_line']}: window: {err}"]) from None
    return value


def fit_trace(
    path: str | os.PathLike[str], *, nodes: int | None = None, window_s: float | None = None
) -> TraceFit:
    """Read the failure trace at ``path`` and fit every cause (see the module docstring).

    ``nodes`` and ``window_s`` override the trace's ``# nodes:`` / ``# window:`` lines.

    Raises:
        ConfigError: a bad trace or directive (one line, ``path:line: field: message``).
        UsageError: a node count or window that contradicts the trace (a component id not
            below the node count, a window ending before the last row).
    """
    name = os.fspath(path)
    found = read_directives(name)
    nodes = nodes if nodes is not None else _directive_nodes(name, found)
    window_given = window_s is not None
    window_s = window_s if window_s is not None else _directive_window(name, found)
    trace = read_fault_trace(name, nodes if nodes is not None else MAX_INT)
    last = trace.times[-1]
    if window_s is None:
        window_s = last
    elif window_s < last:
        where = "--window" if window_given else f"{name}:{found['window_line']}: window"
        message = f"{where}: the window ({window_s:g} s) ends before the last row ({last:g} s)"
        if window_given:
            raise UsageError(message)
        raise ConfigError([message])
    if window_s <= 0.0:
        raise ConfigError([f"{name}:{trace.lines[-1]}: time: every row is at time 0: no window"])
    return TraceFit(name, nodes, window_s, _fit_causes(trace, nodes, window_s))


def _fit_causes(trace: FaultTrace, nodes: int | None, end: float) -> tuple[CauseFit, ...]:
    times = np.asarray(trace.times, dtype=float)
    comp = np.asarray(trace.nodes, dtype=np.int64)
    labels = np.asarray(trace.causes, dtype=object)
    fits = []
    for cause in sorted(set(trace.causes)):
        mask = labels == cause
        if nodes is None:
            sample = sample_from_times(times[mask], end)
        else:
            sample = _node_sample(comp[mask], times[mask], end, nodes)
        if sample.failures < 1:
            continue  # only failures at time 0: nothing to fit
        fits.append(
            CauseFit(
                cause=cause,
                rows=int(mask.sum()),
                failures=sample.failures,
                exposure_s=sample.exposure,
                exponential=fit_exponential(sample),
                weibull=fit_weibull(sample),
            )
        )
    return tuple(fits)
