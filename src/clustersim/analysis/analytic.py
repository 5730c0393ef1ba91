"""Closed-form reliability models used to validate the simulator (DESIGN §6).

Everything here is a pure function of floats in base units (seconds, bytes, bytes per second,
failures per component-second). The functions are the reference the discrete-event simulator
is checked against, so each one states its model and its source.

Notation (exponential failures): ``M`` is the job's mean time between failures, ``C`` the
checkpoint cost (the time training is stalled per checkpoint), ``R`` the restart (recovery)
time after a failure, and ``τ`` the compute time between two checkpoints, so that one segment
is ``τ + C`` long when nothing fails.

Sources:
    * J. W. Young, "A first order approximation to the optimum checkpoint interval",
      Communications of the ACM 17(9), 1974 — ``τ = √(2CM)``.
    * J. T. Daly, "A higher order estimate of the optimum checkpoint interval for restart
      dumps", Future Generation Computer Systems 22(3), 2006 — the higher-order interval and
      the exact expected segment time ``E[T] = M·e^{R/M}·(e^{(τ+C)/M} − 1)``.
    * A. Kokolis et al., "Revisiting Reliability in Large-Scale Machine Learning Research
      Clusters", arXiv:2410.21680, 2024 (HPCA 2025) — ETTR, its first-order expectation and the
      MTTF-versus-scale figures.
    * R. M. Corless et al., "On the Lambert W function", Advances in Computational
      Mathematics 5, 1996 — branch-point series and Halley iteration for ``W₀``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "checkpoint_bytes",
    "checkpoint_time",
    "daly_interval",
    "exact_ettr",
    "exact_ettr_recovery_unexposed",
    "exact_optimal_interval",
    "exact_segment_time",
    "expected_interruptions",
    "first_order_ettr",
    "job_mtbf",
    "kokolis_ettr",
    "kokolis_optimal_interval",
    "lambert_w0",
    "poisson_cdf",
    "poisson_interval",
    "poisson_quantile",
    "spare_pool_size",
    "young_interval",
]

# 1/e as the nearest double (which is slightly *above* the true 1/e) and the remainder
# 1/e - _INV_E_HI, so that x + 1/e can be formed without cancellation near the branch point.
_INV_E_HI = 0.36787944117144233
_INV_E_LO = -1.2428753672788363e-17

# Largest Poisson mean the exact (windowed) CDF accepts; the window is ~30·√mean entries.
_MAX_POISSON_MEAN = 1e10


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _check(
    name: str,
    value: float,
    *,
    positive: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float after checking it is a usable non-negative number.

    Args:
        name: Parameter name used in the error message.
        value: The value to check.
        positive: Require ``value > 0`` instead of ``value >= 0``.
        allow_inf: Accept ``+inf``.

    Returns:
        ``float(value)``.

    Raises:
        ValueError: If the value is NaN, negative, zero when ``positive``, or infinite when
            not ``allow_inf``.
    """
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number, got NaN")
    if math.isinf(v) and not (allow_inf and v > 0):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


def _check_nodes(n_nodes: int) -> int:
    """Return ``n_nodes`` after checking it is a positive integer.

    Raises:
        ValueError: If ``n_nodes`` is not an integer >= 1.
    """
    if isinstance(n_nodes, bool) or int(n_nodes) != n_nodes:
        raise ValueError(f"n_nodes must be an integer, got {n_nodes!r}")
    n = int(n_nodes)
    if n < 1:
        raise ValueError(f"n_nodes must be >= 1, got {n}")
    return n


def _check_probability(probability: float) -> float:
    """Return ``probability`` after checking it lies strictly between 0 and 1.

    Raises:
        ValueError: If ``probability`` is not in the open interval (0, 1).
    """
    p = float(probability)
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    return p


# --------------------------------------------------------------------------------------------
# Optimal checkpoint intervals
# --------------------------------------------------------------------------------------------


def young_interval(checkpoint_s: float, mtbf_s: float) -> float:
    """Young's first-order optimum checkpoint interval ``τ = √(2·C·M)``.

    Young (1974) minimises the first-order waste ``C/τ + τ/(2M)``; the result is accurate
    when ``C ≪ M``.

    Args:
        checkpoint_s: Checkpoint cost ``C`` in seconds (> 0).
        mtbf_s: Mean time between failures ``M`` in seconds (> 0; ``inf`` gives ``inf``).

    Returns:
        Compute time between checkpoints in seconds.

    Raises:
        ValueError: If ``checkpoint_s`` or ``mtbf_s`` is not > 0. (With ``C = 0`` the
            optimum degenerates to checkpointing continuously, which is not an interval.)
    """
    c = _check("checkpoint_s", checkpoint_s, positive=True)
    m = _check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    return math.sqrt(2.0 * c * m)


def daly_interval(checkpoint_s: float, mtbf_s: float) -> float:
    """Daly's higher-order optimum checkpoint interval.

    Daly (2006)::

        τ = √(2CM)·[1 + ⅓·√(C/2M) + (C/2M)/9] − C   if C < 2M
        τ = M                                     otherwise

    The estimate is discontinuous at ``C = 2M`` (the formula gives ``8M/9`` there).

    Args:
        checkpoint_s: Checkpoint cost ``C`` in seconds (> 0).
        mtbf_s: Mean time between failures ``M`` in seconds (> 0; ``inf`` gives ``inf``).

    Returns:
        Compute time between checkpoints in seconds.

    Raises:
        ValueError: If ``checkpoint_s`` or ``mtbf_s`` is not > 0.
    """
    c = _check("checkpoint_s", checkpoint_s, positive=True)
    m = _check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    if math.isinf(m):
        return math.inf
    if c >= 2.0 * m:
        return m
    ratio = c / (2.0 * m)
    return math.sqrt(2.0 * c * m) * (1.0 + math.sqrt(ratio) / 3.0 + ratio / 9.0) - c


# --------------------------------------------------------------------------------------------
# Lambert W
# --------------------------------------------------------------------------------------------


def _w0_initial(x: float, q: float) -> float:
    """Return an initial guess for ``W₀(x)``; ``q = x + 1/e`` is formed without cancellation."""
    if x < -0.25:
        # Branch-point series in p = √(2(ex + 1)) (Corless et al. 1996).
        p = math.sqrt(2.0 * math.e * q)
        return -1.0 + p * (
            1.0
            + p
            * (
                -1.0 / 3.0
                + p
                * (11.0 / 72.0 + p * (-43.0 / 540.0 + p * (769.0 / 17280.0 - p * 221.0 / 8505.0)))
            )
        )
    if x <= math.e:
        # Winitzki's approximation, good to a few per cent on [-0.25, e].
        lx = math.log1p(x)
        return lx * (1.0 - math.log1p(lx) / (2.0 + lx))
    # Asymptotic expansion for large x (Corless et al. 1996).
    l1 = math.log(x)
    l2 = math.log(l1)
    return l1 - l2 + l2 / l1 + l2 * (l2 - 2.0) / (2.0 * l1 * l1)


def lambert_w0(x: float) -> float:
    """Principal branch ``W₀`` of the Lambert W function, the solution of ``w·eʷ = x``.

    Implementation (no SciPy): an initial guess from the branch-point series near ``−1/e``,
    Winitzki's approximation on ``[−0.25, e]`` or the asymptotic series above ``e``
    (Corless et al. 1996), refined by Halley's iteration written as
    ``t = w − x·e^{−w}``, ``w ← w − t / ((w + 1) − (w + 2)·t / (2w + 2))`` (no overflow for
    large ``x``) until the step is below ~1e-16 relative. Very close to the branch point
    (``p = √(2(ex+1)) < 1e-3``) the six-term series is already exact to double precision and
    is returned directly, because Halley's step is singular at ``w = −1``.

    Args:
        x: Argument, ``x >= −1/e``. The double nearest ``−1/e`` (−0.36787944117144233, which
            lies a hair below the true value) is accepted and gives ``−1``.

    Returns:
        ``W₀(x)``, in ``[−1, ∞)``.

    Raises:
        ValueError: If ``x`` is NaN or below ``−1/e``.
    """
    x = float(x)
    if math.isnan(x):
        raise ValueError("lambert_w0: x must be a number, got NaN")
    if x < -_INV_E_HI:
        raise ValueError(f"lambert_w0: x must be >= -1/e (≈ -0.36787944117144233), got {x}")
    if x == 0.0:
        return 0.0
    if math.isinf(x):
        return math.inf
    q = max(0.0, (x + _INV_E_HI) + _INV_E_LO)  # x + 1/e, exact to ~1e-33 near the branch
    if q == 0.0:
        return -1.0
    if 2.0 * math.e * q < 1e-6:  # p < 1e-3: series error O(p^7) < 1e-21
        return _w0_initial(x, q)
    w = _w0_initial(x, q)
    for _ in range(64):
        t = w - x * math.exp(-w)
        wp1 = w + 1.0
        step = t / (wp1 - (w + 2.0) * t / (2.0 * wp1))
        w -= step
        if abs(step) <= 4e-16 * max(1.0, abs(w)):
            break
    return w


# --------------------------------------------------------------------------------------------
# Exact model (exponential failures, restart exposed to failures)
# --------------------------------------------------------------------------------------------


def exact_segment_time(
    work_s: float, checkpoint_s: float, restart_s: float, mtbf_s: float
) -> float:
    """Return the expected wall time of one segment: ``τ`` of work plus a checkpoint ``C``.

    Model (Daly 2006, with zero downtime): failures arrive as a Poisson process with
    mean ``M``; a failure anywhere in the segment (including during the checkpoint write)
    loses the whole segment; each failure is followed by a restart of length ``R`` that is
    itself exposed to failures (a failure during a restart starts the restart again); then
    the segment is retried from its start. The expected time is::

        E[T] = M·e^{R/M}·(e^{(τ+C)/M} − 1)

    which tends to ``τ + C`` as ``M → ∞``.

    Args:
        work_s: Compute time ``τ`` in the segment, seconds (>= 0).
        checkpoint_s: Checkpoint cost ``C``, seconds (>= 0).
        restart_s: Restart time ``R`` after each failure, seconds (>= 0).
        mtbf_s: Mean time between failures ``M``, seconds (> 0; ``inf`` means no failures).

    Returns:
        Expected wall time in seconds (``inf`` if it overflows a double).

    Raises:
        ValueError: On a negative or NaN argument, or ``mtbf_s <= 0``.
    """
    tau = _check("work_s", work_s)
    c = _check("checkpoint_s", checkpoint_s)
    r = _check("restart_s", restart_s)
    m = _check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    if math.isinf(m):
        return tau + c
    try:
        return m * math.exp(r / m) * math.expm1((tau + c) / m)
    except OverflowError:
        return math.inf


def exact_ettr(interval_s: float, checkpoint_s: float, restart_s: float, mtbf_s: float) -> float:
    """Exact expected ETTR of a long job: ``τ / E[T]`` (see :func:`exact_segment_time`).

    ETTR (effective training time ratio, Kokolis et al. 2024) is useful compute time over
    wall time. For a job made of many identical segments it is the ratio of the segment's
    work to its expected wall time, with no approximation beyond the exponential model.

    Args:
        interval_s: Compute time ``τ`` between checkpoints, seconds (> 0).
        checkpoint_s: Checkpoint cost ``C``, seconds (>= 0).
        restart_s: Restart time ``R``, seconds (>= 0).
        mtbf_s: Mean time between failures ``M``, seconds (> 0; ``inf`` allowed).

    Returns:
        ETTR in ``[0, 1]``.

    Raises:
        ValueError: On invalid input (``interval_s`` must be > 0).
    """
    tau = _check("interval_s", interval_s, positive=True)
    return tau / exact_segment_time(tau, checkpoint_s, restart_s, mtbf_s)


def exact_ettr_recovery_unexposed(
    interval_s: float, checkpoint_s: float, restart_s: float, mtbf_s: float
) -> float:
    """Exact expected ETTR when failures during a restart are ignored.

    The model of :func:`exact_segment_time`, except that the restart ``R`` is not exposed to
    failures (``restart.failure_during_recovery: ignore``): each failure costs one ``R``.
    A segment of ``τ + C`` needs a geometric number of attempts; the failed ones number
    ``e^{(τ+C)/M} − 1`` on average, the attempts take ``M·(e^{(τ+C)/M} − 1)`` in all, so::

        E[T] = (M + R)·(e^{(τ+C)/M} − 1)

    (the restart-exposed model has ``M·e^{R/M}`` in place of ``M + R``; the optimal interval
    is the same). As ``τ + C → 0`` the ETTR tends to ``M / (M + R)``.

    Args:
        interval_s: Compute time ``τ`` between checkpoints, seconds (> 0).
        checkpoint_s: Checkpoint cost ``C``, seconds (>= 0).
        restart_s: Restart time ``R``, seconds (>= 0).
        mtbf_s: Mean time between failures ``M``, seconds (> 0; ``inf`` allowed).

    Returns:
        ETTR in ``[0, 1]``.

    Raises:
        ValueError: On invalid input (``interval_s`` must be > 0).
    """
    tau = _check("interval_s", interval_s, positive=True)
    c = _check("checkpoint_s", checkpoint_s)
    r = _check("restart_s", restart_s)
    m = _check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    if math.isinf(m):
        return tau / (tau + c)
    try:
        return tau / ((m + r) * math.expm1((tau + c) / m))
    except OverflowError:
        return 0.0


def exact_optimal_interval(checkpoint_s: float, mtbf_s: float) -> float:
    """Compute time between checkpoints that maximises :func:`exact_ettr`.

    Minimising ``E[T]/τ`` gives the stationarity condition ``1 − e^{−(τ+C)/M} = τ/M``,
    whose solution is::

        τ* = M·(1 + W₀(−e^{−(1 + C/M)}))

    It does not depend on ``R`` (the factor ``e^{R/M}`` is common to all ``τ``). When
    ``C ≪ M`` the argument of ``W₀`` is close to ``−1/e`` and ``1 + W₀`` cancels, so the
    Lambert-W value is polished with Newton steps on ``g(u) = u + expm1(−(u + C/M))``
    (``u = τ/M``), which is well conditioned there.

    Args:
        checkpoint_s: Checkpoint cost ``C``, seconds (> 0).
        mtbf_s: Mean time between failures ``M``, seconds (> 0; ``inf`` gives ``inf``).

    Returns:
        The optimal ``τ`` in seconds.

    Raises:
        ValueError: If ``checkpoint_s`` or ``mtbf_s`` is not > 0.
    """
    c = _check("checkpoint_s", checkpoint_s, positive=True)
    m = _check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    if math.isinf(m):
        return math.inf
    ratio = c / m
    u = 1.0 + lambert_w0(-math.exp(-(1.0 + ratio)))
    for _ in range(4):
        g = u + math.expm1(-(u + ratio))
        dg = -math.expm1(-(u + ratio))
        if dg <= 0.0:
            break
        step = g / dg
        u -= step
        if abs(step) <= 1e-16 * u:
            break
    return m * u


# --------------------------------------------------------------------------------------------
# First-order models
# --------------------------------------------------------------------------------------------


def first_order_ettr(
    interval_s: float, checkpoint_s: float, restart_s: float, mtbf_s: float
) -> float:
    """Classic first-order ETTR, the approximation that :func:`exact_ettr` corrects.

    With segment length ``τ' = τ + C`` the first-order waste fraction is::

        waste = C/τ' + (τ'/2 + R)/M,    ETTR ≈ max(0, 1 − waste)

    i.e. checkpoint overhead plus, per failure (rate ``1/M`` per unit of *wall* time), half
    a segment of lost work and one restart. It neglects failures that hit restarts and
    retried work and charges waste against wall rather than useful time, so it is
    pessimistic: for ``M = 2 h``, ``C = 60 s``, ``R = 10 min`` at Daly's interval it gives
    0.7875 where the exact model gives 0.806 (the "≈ 0.79 — the classic bug" of DESIGN §6).

    Args:
        interval_s: Compute time ``τ`` between checkpoints, seconds (> 0).
        checkpoint_s: Checkpoint cost ``C``, seconds (>= 0).
        restart_s: Restart time ``R``, seconds (>= 0).
        mtbf_s: Mean time between failures ``M``, seconds (> 0; ``inf`` allowed).

    Returns:
        ETTR in ``[0, 1]``.

    Raises:
        ValueError: On invalid input.
    """
    tau = _check("interval_s", interval_s, positive=True)
    c = _check("checkpoint_s", checkpoint_s)
    r = _check("restart_s", restart_s)
    m = _check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    seg = tau + c
    waste = c / seg + (seg / 2.0 + r) / m
    return min(1.0, max(0.0, 1.0 - waste))


def kokolis_ettr(
    n_nodes: int,
    rate_per_node_s: float,
    checkpoint_write_s: float,
    interval_s: float,
    restart_overhead_s: float,
) -> float:
    """First-order expected ETTR of Kokolis et al. (2024).

    ::

        E[ETTR] ≈ (1 − N·r_f·(u₀ + Δt/2)) / (1 + w_cp/Δt)

    clipped to ``[0, 1]``, with ``N`` nodes failing independently at ``r_f`` per node-second,
    restart overhead ``u₀``, checkpoint interval ``Δt`` and checkpoint write time ``w_cp``.

    Args:
        n_nodes: Number of nodes ``N`` in the job (>= 1).
        rate_per_node_s: Failure rate ``r_f`` per node per second (>= 0).
        checkpoint_write_s: Checkpoint write (stall) time ``w_cp``, seconds (>= 0).
        interval_s: Checkpoint interval ``Δt``, seconds (> 0).
        restart_overhead_s: Restart overhead ``u₀`` per failure, seconds (>= 0).

    Returns:
        Expected ETTR in ``[0, 1]``.

    Raises:
        ValueError: On invalid input.
    """
    n = _check_nodes(n_nodes)
    rf = _check("rate_per_node_s", rate_per_node_s)
    wcp = _check("checkpoint_write_s", checkpoint_write_s)
    dt = _check("interval_s", interval_s, positive=True)
    u0 = _check("restart_overhead_s", restart_overhead_s)
    value = (1.0 - n * rf * (u0 + dt / 2.0)) / (1.0 + wcp / dt)
    return min(1.0, max(0.0, value))


def kokolis_optimal_interval(
    n_nodes: int, rate_per_node_s: float, checkpoint_write_s: float
) -> float:
    """Checkpoint interval maximising :func:`kokolis_ettr`: ``Δt* = √(2·w_cp/(N·r_f))``.

    This is Young's interval with ``M = 1/(N·r_f)`` (Kokolis et al. 2024).

    Args:
        n_nodes: Number of nodes ``N`` (>= 1).
        rate_per_node_s: Failure rate ``r_f`` per node per second (>= 0; 0 gives ``inf``).
        checkpoint_write_s: Checkpoint write time ``w_cp``, seconds (> 0).

    Returns:
        The interval in seconds.

    Raises:
        ValueError: On invalid input.
    """
    n = _check_nodes(n_nodes)
    rf = _check("rate_per_node_s", rate_per_node_s)
    wcp = _check("checkpoint_write_s", checkpoint_write_s, positive=True)
    if rf == 0.0:
        return math.inf
    return math.sqrt(2.0 * wcp / (n * rf))


def job_mtbf(n_nodes: int, rate_per_node_s: float) -> float:
    """Mean time between failures of a job on ``N`` independent nodes: ``1/(N·r)``.

    Kokolis et al. (2024) use this to show MTTF shrinking inversely with job size (1.8 h at
    16,384 GPUs, 0.23 h at 131,072 GPUs for 6.50 failures per 1,000 node-days).

    Args:
        n_nodes: Number of nodes ``N`` (>= 1).
        rate_per_node_s: Failure rate per node per second (>= 0).

    Returns:
        MTBF in seconds (``inf`` if the rate is 0).

    Raises:
        ValueError: On invalid input.
    """
    n = _check_nodes(n_nodes)
    rf = _check("rate_per_node_s", rate_per_node_s)
    if rf == 0.0:
        return math.inf
    return 1.0 / (n * rf)


# --------------------------------------------------------------------------------------------
# Checkpoint size and time
# --------------------------------------------------------------------------------------------


def checkpoint_bytes(model_params: float, bytes_per_param: float = 14.0) -> float:
    """Size of a full training checkpoint.

    The default 14 bytes per parameter is mixed-precision Adam: bf16 weights (2) + fp32
    master weights (4) + fp32 first and second moments (8).

    Args:
        model_params: Number of model parameters (>= 0).
        bytes_per_param: Bytes stored per parameter (> 0).

    Returns:
        Checkpoint size in bytes.

    Raises:
        ValueError: On invalid input.
    """
    p = _check("model_params", model_params)
    b = _check("bytes_per_param", bytes_per_param, positive=True)
    return p * b


def checkpoint_time(n_bytes: float, bandwidth_bytes_per_s: float) -> float:
    """Time to write (or read) ``n_bytes`` at a given bandwidth.

    Args:
        n_bytes: Bytes to move (>= 0; 0 gives 0).
        bandwidth_bytes_per_s: Bandwidth in bytes per second (> 0; ``inf`` gives 0).

    Returns:
        Time in seconds.

    Raises:
        ValueError: On invalid input.
    """
    nb = _check("n_bytes", n_bytes)
    bw = _check("bandwidth_bytes_per_s", bandwidth_bytes_per_s, positive=True, allow_inf=True)
    if nb == 0.0:
        return 0.0
    return nb / bw


# --------------------------------------------------------------------------------------------
# Poisson counts: interruptions and spare pools
# --------------------------------------------------------------------------------------------


def _poisson_cdf_window(mean: float) -> tuple[int, NDArray[np.float64]]:
    """Poisson CDF on a window of integers around the mode holding all but ~e^-100 of the mass.

    The pmf is built relative to the mode in log space, ``log p(k+1) − log p(k) =
    log(mean) − log(k+1)``, accumulated with ``cumsum`` in both directions from the mode,
    exponentiated (the maximum is 0, so nothing overflows) and normalised by its sum. This
    is stable for any mean up to :data:`_MAX_POISSON_MEAN`. The window is
    ``mode ± (15·√mean + 40)``, beyond which the pmf relative to the mode is < e^-100.

    Args:
        mean: Poisson mean (> 0, finite).

    Returns:
        ``(lo, cdf)`` with ``cdf[i] = P(X <= lo + i)`` and ``cdf[-1] == 1``.
    """
    mode = math.floor(mean)
    half = math.ceil(15.0 * math.sqrt(mean)) + 40
    lo = max(0, mode - half)
    hi = mode + half
    rel = np.zeros(hi - lo + 1, dtype=np.float64)
    log_mean = math.log(mean)
    i_mode = mode - lo
    if hi > mode:
        j_up = np.arange(mode + 1, hi + 1, dtype=np.float64)
        rel[i_mode + 1 :] = np.cumsum(log_mean - np.log(j_up))
    if mode > lo:
        j_down = np.arange(mode, lo, -1, dtype=np.float64)  # k + 1 for k = mode-1 .. lo
        rel[i_mode - 1 :: -1] = -np.cumsum(log_mean - np.log(j_down))
    pmf = np.exp(rel)
    cdf = np.cumsum(pmf)
    cdf /= cdf[-1]
    return lo, cdf


def _check_mean(mean: float) -> float:
    """Return a validated Poisson mean.

    Raises:
        ValueError: If the mean is negative, NaN, infinite or above the supported maximum.
    """
    lam = _check("mean", mean)
    if lam > _MAX_POISSON_MEAN:
        raise ValueError(
            f"mean must be <= {_MAX_POISSON_MEAN:g} for the exact Poisson CDF, got {lam}"
        )
    return lam


def poisson_cdf(k: int, mean: float) -> float:
    """Poisson cumulative distribution ``P(X <= k)`` for ``X ~ Poisson(mean)``.

    Args:
        k: Count (any integer; negative gives 0).
        mean: Poisson mean (>= 0, at most 1e10).

    Returns:
        The probability.

    Raises:
        ValueError: On an invalid mean.
    """
    lam = _check_mean(mean)
    k = int(k)
    if k < 0:
        return 0.0
    if lam == 0.0:
        return 1.0
    lo, cdf = _poisson_cdf_window(lam)
    if k < lo:
        return 0.0
    if k - lo >= cdf.size:
        return 1.0
    return float(cdf[k - lo])


def poisson_quantile(mean: float, probability: float) -> int:
    """Poisson quantile: the smallest ``k`` with ``P(X <= k) >= probability``.

    Args:
        mean: Poisson mean (>= 0, at most 1e10).
        probability: Target probability in (0, 1).

    Returns:
        The quantile ``k``.

    Raises:
        ValueError: On an invalid mean or probability.
    """
    lam = _check_mean(mean)
    p = _check_probability(probability)
    if lam == 0.0:
        return 0
    lo, cdf = _poisson_cdf_window(lam)
    idx = int(np.searchsorted(cdf, p, side="left"))
    return lo + min(idx, cdf.size - 1)


def expected_interruptions(n_nodes: int, rate_per_node_s: float, duration_s: float) -> float:
    """Return the expected number of job interruptions, ``N·r·T``.

    For Llama 3 (2,048 nodes for 54 days, 419 unexpected interruptions) this is the Poisson
    mean used by :func:`poisson_interval`.

    Args:
        n_nodes: Number of nodes ``N`` (>= 1).
        rate_per_node_s: Interruption rate per node per second (>= 0).
        duration_s: Duration ``T`` in seconds (>= 0).

    Returns:
        The expected count.

    Raises:
        ValueError: On invalid input.
    """
    n = _check_nodes(n_nodes)
    rf = _check("rate_per_node_s", rate_per_node_s)
    d = _check("duration_s", duration_s)
    return n * rf * d


def poisson_interval(mean: float, probability: float = 0.95) -> tuple[int, int]:
    """Central interval of a Poisson count: ``(q((1 − p)/2), q((1 + p)/2))``.

    ``q`` is :func:`poisson_quantile`, so at least ``probability`` of the mass lies in the
    closed interval (e.g. the spread of interruption counts across simulator replicas).

    Args:
        mean: Poisson mean (>= 0).
        probability: Coverage in (0, 1), default 0.95.

    Returns:
        ``(lower, upper)`` inclusive bounds.

    Raises:
        ValueError: On an invalid mean or probability.
    """
    p = _check_probability(probability)
    alpha = (1.0 - p) / 2.0
    return poisson_quantile(mean, alpha), poisson_quantile(mean, 1.0 - alpha)


def spare_pool_size(
    n_nodes: int, rate_per_node_s: float, repair_s: float, probability: float = 0.99
) -> int:
    """Hot spares needed so that a failed node can be replaced immediately with ``probability``.

    With node failures at ``r`` per node-second and parallel repairs taking ``repair_s``
    on average, the number of nodes out for repair is Poisson with mean
    ``λ = N·r·repair_s`` (M/G/∞ queue, any repair-time distribution). The pool size is the
    smallest ``k`` with ``P(X <= k) >= probability``.

    Args:
        n_nodes: Number of nodes ``N`` exposed to failures (>= 1).
        rate_per_node_s: Failure rate per node per second (>= 0).
        repair_s: Mean repair time, seconds (>= 0).
        probability: Target probability in (0, 1), default 0.99.

    Returns:
        Number of spare nodes.

    Raises:
        ValueError: On invalid input.
    """
    n = _check_nodes(n_nodes)
    rf = _check("rate_per_node_s", rate_per_node_s)
    rep = _check("repair_s", repair_s)
    p = _check_probability(probability)
    return poisson_quantile(n * rf * rep, p)
