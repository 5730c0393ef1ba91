"""Closed-form reliability models used to validate the simulator (DESIGN §6).

Everything here is a pure function of floats in base units (seconds, bytes, bytes per second,
failures per component-second). The functions are the reference the discrete-event simulator
is checked against, so each one states its model and its source.

The Lambert W function (:mod:`~clustersim.analysis.lambertw`) and the Poisson counts
(:mod:`~clustersim.analysis.poisson`) live in their own modules and are re-exported here, so
``analytic.poisson_interval`` and ``analytic.lambert_w0`` keep working.

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

from clustersim.analysis.checks import check, check_nodes
from clustersim.analysis.lambertw import lambert_w0
from clustersim.analysis.poisson import (
    expected_interruptions,
    poisson_cdf,
    poisson_interval,
    poisson_quantile,
    spare_pool_size,
)

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
    c = check("checkpoint_s", checkpoint_s, positive=True)
    m = check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
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
    c = check("checkpoint_s", checkpoint_s, positive=True)
    m = check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
    if math.isinf(m):
        return math.inf
    if c >= 2.0 * m:
        return m
    ratio = c / (2.0 * m)
    return math.sqrt(2.0 * c * m) * (1.0 + math.sqrt(ratio) / 3.0 + ratio / 9.0) - c


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
    tau = check("work_s", work_s)
    c = check("checkpoint_s", checkpoint_s)
    r = check("restart_s", restart_s)
    m = check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
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
    tau = check("interval_s", interval_s, positive=True)
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
    tau = check("interval_s", interval_s, positive=True)
    c = check("checkpoint_s", checkpoint_s)
    r = check("restart_s", restart_s)
    m = check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
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
    c = check("checkpoint_s", checkpoint_s, positive=True)
    m = check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
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
    tau = check("interval_s", interval_s, positive=True)
    c = check("checkpoint_s", checkpoint_s)
    r = check("restart_s", restart_s)
    m = check("mtbf_s", mtbf_s, positive=True, allow_inf=True)
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
    n = check_nodes(n_nodes)
    rf = check("rate_per_node_s", rate_per_node_s)
    wcp = check("checkpoint_write_s", checkpoint_write_s)
    dt = check("interval_s", interval_s, positive=True)
    u0 = check("restart_overhead_s", restart_overhead_s)
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
    n = check_nodes(n_nodes)
    rf = check("rate_per_node_s", rate_per_node_s)
    wcp = check("checkpoint_write_s", checkpoint_write_s, positive=True)
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
    n = check_nodes(n_nodes)
    rf = check("rate_per_node_s", rate_per_node_s)
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
    p = check("model_params", model_params)
    b = check("bytes_per_param", bytes_per_param, positive=True)
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
    nb = check("n_bytes", n_bytes)
    bw = check("bandwidth_bytes_per_s", bandwidth_bytes_per_s, positive=True, allow_inf=True)
    if nb == 0.0:
        return 0.0
    return nb / bw
