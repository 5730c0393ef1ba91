"""The ``network`` section of a scenario: the flow-level model of shared links.

Owns :class:`NetworkConfig` and the documented defaults of a job's communication profile
(:data:`EXPOSED_COMM_BY_GPUS`). With ``model: none`` (the default) nothing here is used and a
job's speed does not depend on where it is placed (docs/network.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from clustersim.config.units import Bandwidth

__all__ = ["EXPOSED_COMM_BY_GPUS", "NetworkConfig", "default_exposed_comm"]

EXPOSED_COMM_BY_GPUS: tuple[tuple[int, float], ...] = (
    (8, 0.0),
    (512, 0.05),
    (4096, 0.10),
    (2**62, 0.15),
)
"""Default exposed-communication fraction ``f`` by job size: ``(up to GPUs, f)``.

An assumption, stated in docs/network.md: a job inside one node talks over NVLink only
(f = 0); data-parallel gradient reduction is mostly overlapped with the backward pass, and
what stays exposed grows with the data-parallel degree. The issue's worked example uses
f = 0.1 for a large job; no public source gives f per size."""


def default_exposed_comm(gpus: int) -> float:
    """The default exposed-communication fraction of a job of ``gpus`` GPUs."""
    for limit, f in EXPOSED_COMM_BY_GPUS:
        if gpus <= limit:
            return f
    return EXPOSED_COMM_BY_GPUS[-1][1]


class NetworkConfig(BaseModel):
    """How shared network links slow jobs down (docs/network.md).

    ``model: none`` keeps every job at full network speed (the network only fails, through
    the ``switch`` and ``flap`` fault kinds). ``fair-share`` gives each pod an uplink into the
    aggregation layer of ``GPUs in the pod x nic_bandwidth / cluster.oversubscription`` (and
    each rack one of ``GPUs in the rack x nic_bandwidth / cluster.rack_oversubscription`` when
    that is above 1), shares each link max-min fairly among the running jobs that cross it,
    and slows a job to ``1 / ((1 - f) + f / s)`` at its bottleneck share ``s``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    model: Literal["none", "fair-share"] = "none"
    nic_bandwidth: Bandwidth = Field(default=50e9, gt=0)
    """Per-GPU NIC bandwidth (400 Gb/s RoCE/IB per H100, Llama 3 paper)."""
    exposed_comm: Annotated[float, Field(ge=0, le=1)] | None = None
    """Fraction of a failure-free step that is exposed communication at full bandwidth for
    every job (a job spec's ``exposed_comm`` overrides it); None: by job size
    (:data:`EXPOSED_COMM_BY_GPUS`)."""
    traffic: Literal["uniform", "all", "shape"] = "uniform"
    """Share of a job's traffic that leaves a pod (or rack): ``uniform`` (each GPU talks to
    the job's other GPUs evenly, so a pod holding g of the job's G GPUs sends ``1 - g/G`` of
    its traffic out), ``all`` (every byte of exposed communication crosses the pod uplink),
    ``shape`` (by parallelism shape: data-parallel traffic as ``uniform``, pipeline sends
    only where a model replica's consecutive nodes straddle the boundary; docs/network.md).
    A job spec's ``traffic`` overrides it."""
    replica_gpus: Annotated[int, Field(ge=1, le=2**62)] = 128
    """``shape``: GPUs of one model replica (tensor parallel inside a node x pipeline stages on
    consecutive nodes); the job's other GPUs hold data-parallel replicas. Default 128: Llama 3
    405B's TP 8 x PP 16 (Llama 3 paper, Table 4). A job spec's ``replica_gpus`` overrides it."""
    pipeline_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    """``shape``: fraction of a multi-replica job's exposed NIC traffic that is pipeline
    sends (the rest is data-parallel all-reduce). An assumption: no public source splits
    exposed communication by parallelism. A single-replica job's traffic is all pipeline."""
    planes: Annotated[int, Field(ge=1, le=1024)] = 4
    """Parallel aggregation planes per pod uplink: a failed aggregation (``switch`` fault
    with ``level: pod``) switch removes ``1 / planes`` of its pod's uplink capacity."""
