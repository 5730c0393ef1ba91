"""Synthetic workloads calibrated to published research-cluster shapes.

This module owns the named *shapes* a scenario's ``workload.generator.shape`` selects (a job
size distribution over powers of two and a capped lognormal work time per size), their
analytic calibration figures (:func:`expected_shares`), the generator that draws a workload
from one (:func:`generate`, from the stream ``workload.synthetic`` only), and writing a
generated workload as SWF (:func:`write_workload_swf`, through :mod:`clustersim.traces.swf`).

Shape ``rsc1`` — Meta's RSC-1 research cluster (16,000 A100 GPUs), Kokolis et al. 2024,
"Revisiting Reliability in Large-Scale Machine Learning Research Clusters" (arXiv 2410.21680,
HPCA 2025), as summarised in issue #9 and ``../shared/data/published_rates.csv``:

* more than 90 % of jobs use fewer than 8 GPUs (one node), while jobs of 256 GPUs or more
  hold about two thirds of the GPU time: the size distribution below gives 91.4 % and 0.667;
* heavy-tailed durations: lognormal with log-space sigma 1.8 (a 90th/10th percentile ratio
  of about 100), capped at 7 days;
* the abstract's totals (over 150 million A100 GPU-hours in about 4 million jobs on RSC-1 and
  RSC-2, 11 months) put the mean near 37.5 GPU-hours per job; the shape gives 42.

The individual probabilities and medians are our assumptions, chosen to meet those three
figures (the paper publishes the shape as CDF plots, not as a table); the targets themselves
are the paper's. Sizes larger than the cluster are the scenario's business (clip them with
``max_gpus``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

import numpy as np

from clustersim.config import GeneratorConfig
from clustersim.rng import Streams

__all__ = [
    "SHAPES",
    "STREAM",
    "Shape",
    "expected_shares",
    "generate",
    "job_shares",
    "write_workload_swf",
]

STREAM = "workload.synthetic"
"""The one random stream a shape-based generator draws from (arrivals, sizes, work)."""
HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Shape:
    """A job mix: sizes with their probabilities, and a capped lognormal work time per size.

    ``medians_s[i]`` is the median work of size ``sizes[i]``; ``sigma`` is the log-space
    standard deviation, ``work_max_s`` the cap.
    """

    name: str
    sizes: tuple[int, ...]
    probs: tuple[float, ...]
    medians_s: tuple[float, ...]
    sigma: float
    work_max_s: float


def _rsc1() -> Shape:
    sizes = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
    tail = (0.065, 0.045, 0.045, 0.017, 0.010, 0.007, 0.0045)  # 2 .. 128 GPUs
    large = (0.00121, 0.000735, 0.000389, 0.000173, 0.0000432)  # 256 .. 4096 GPUs
    medians_h = (0.25, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0)
    probs = (1.0 - sum(tail) - sum(large), *tail, *large)
    return Shape(
        name="rsc1",
        sizes=sizes,
        probs=probs,
        medians_s=tuple(h * HOUR_S for h in medians_h),
        sigma=1.8,
        work_max_s=7 * 24 * HOUR_S,
    )


SHAPES: dict[str, Shape] = {"rsc1": _rsc1()}
"""The shapes ``workload.generator.shape`` may name."""


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _capped_lognormal_mean(median: float, sigma: float, cap: float) -> float:
    """E[min(X, cap)] for X lognormal with ``median`` and log-space ``sigma``."""
    if sigma == 0.0:
        return min(median, cap)
    a = math.log(cap / median) / sigma
    return median * math.exp(sigma * sigma / 2.0) * _phi(a - sigma) + cap * (1.0 - _phi(a))


def expected_shares(
    shape: Shape, *, small_below: int = 8, large_from: int = 256
) -> tuple[float, float, float]:
    """The shape's exact expectations of the three calibration figures.

    Returns the share of jobs under ``small_below`` GPUs, the share of GPU time in jobs of
    ``large_from`` GPUs or more, and the mean GPU-hours per job.
    """
    small = sum(p for s, p in zip(shape.sizes, shape.probs, strict=True) if s < small_below)
    gpu_s = [
        p * s * _capped_lognormal_mean(m, shape.sigma, shape.work_max_s)
        for s, p, m in zip(shape.sizes, shape.probs, shape.medians_s, strict=True)
    ]
    large = sum(g for s, g in zip(shape.sizes, gpu_s, strict=True) if s >= large_from)
    return small, large / sum(gpu_s), sum(gpu_s) / HOUR_S


def job_shares(
    gpus: Sequence[int] | np.ndarray,
    work_s: Sequence[float] | np.ndarray,
    *,
    small_below: int = 8,
    large_from: int = 256,
) -> tuple[float, float, float]:
    """The same three figures measured on a list of jobs (sizes and work times)."""
    g = np.asarray(gpus, dtype=float)
    w = np.asarray(work_s, dtype=float)
    gpu_s = g * w
    return (
        float((g < small_below).mean()),
        float(gpu_s[g >= large_from].sum() / gpu_s.sum()),
        float(gpu_s.mean() / HOUR_S),
    )


def generate(
    cfg: GeneratorConfig, streams: Streams, bytes_per_param: float, offset: int = 0
) -> list[tuple[float, int, str, int, float, int, float]]:
    """Draw ``cfg.jobs`` jobs from ``cfg.shape`` as workload rows.

    Rows are ``(submit_s, order, name, gpus, work_s, priority, checkpoint_bytes)`` as
    :func:`clustersim.workload.build_workload` sorts them; ``order`` starts at ``offset``.
    Arrivals are sorted uniforms on the window (a Poisson process given its count), then
    sizes, then standard normals for the work, all from the stream :data:`STREAM`. Sizes above
    ``max_gpus`` are clipped to it; work is ``work_scale`` x the capped lognormal.
    """
    if cfg.shape is None:
        raise ValueError("generate() needs a generator with a shape")
    shape = SHAPES[cfg.shape]
    rng = streams.get(STREAM)
    n = cfg.jobs
    submit = np.sort(rng.random(n)) * cfg.window
    probs = np.asarray(shape.probs, dtype=float)
    idx = rng.choice(len(shape.sizes), size=n, p=probs / probs.sum())
    z = rng.standard_normal(n)
    sizes = np.asarray(shape.sizes, dtype=np.int64)[idx]
    if cfg.max_gpus is not None:
        sizes = np.minimum(sizes, cfg.max_gpus)
    medians = np.asarray(shape.medians_s, dtype=float)[idx]
    work = np.minimum(medians * np.exp(shape.sigma * z), shape.work_max_s) * cfg.work_scale
    per_param = cfg.model_params_per_gpu * bytes_per_param
    return [
        (
            float(submit[i]),
            offset + i,
            f"{shape.name}-{i}",
            int(sizes[i]),
            float(work[i]),
            0,
            float(sizes[i]) * per_param,
        )
        for i in range(n)
    ]


class _SimulatorJob(Protocol):
    """What :func:`write_workload_swf` reads of a job (a :class:`clustersim.workload.JobRecord`).

    A protocol, so that this module need not import :mod:`clustersim.workload`, which
    imports it.
    """

    @property
    def id(self) -> int: ...
    @property
    def gpus(self) -> int: ...
    @property
    def submit_s(self) -> float: ...
    @property
    def work_s(self) -> float: ...


def write_workload_swf(jobs: Iterable[_SimulatorJob], out: IO[str]) -> int:
    """Write simulator jobs as SWF (one GPU per processor) with :mod:`clustersim.traces.swf`.

    Each job's run time is its failure-free work; start and end are unknown (``-1``).
    Returns the number of jobs written.
    """
    from clustersim.traces.record import TraceJob
    from clustersim.traces.swf import write_swf

    records = (
        TraceJob(
            id=str(job.id + 1),
            user="",
            gpus=job.gpus,
            submit_s=job.submit_s,
            start_s=None,
            end_s=None,
            run_s=job.work_s,
            state="",
        )
        for job in jobs
    )
    return write_swf(records, out, source="synthetic")
