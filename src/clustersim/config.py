"""Scenario configuration: frozen pydantic v2 models, one per concern, composed into a Scenario.

Human units are parsed once here (see :mod:`clustersim.units`); every model below holds base
units (seconds, bytes, bytes/s, failures per node-second). Field names say the human concept;
``docs/config.md`` documents each field with its unit and default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clustersim.units import Bandwidth, Bytes, Duration, NodeRate

__all__ = [
    "CheckpointConfig",
    "ClusterConfig",
    "CostConfig",
    "FaultConfig",
    "FaultSpec",
    "GeneratorConfig",
    "JobClass",
    "JobSpec",
    "RepairConfig",
    "RestartConfig",
    "RunConfig",
    "Scenario",
    "SchedulerConfig",
    "StorageConfig",
    "WorkloadConfig",
]


class Frozen(BaseModel):
    """Base of every config model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


MAX_INT = 2**62  # keeps every integer exact in JSON and inside numpy int64
PositiveInt = Annotated[int, Field(ge=1, le=MAX_INT)]
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_INT)]
Priority = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]


class ClusterConfig(Frozen):
    """Hardware and topology: nodes -> racks (ToR) -> pods -> spine; the hot-spare pool."""

    gpus_per_node: PositiveInt = 8
    nodes_per_rack: PositiveInt = 2
    racks_per_pod: PositiveInt = 192
    pods: PositiveInt = 8
    oversubscription: Annotated[float, Field(ge=1.0)] = 7.0
    spare_nodes: NonNegativeInt = 0

    @property
    def n_nodes(self) -> int:
        """Total number of nodes (spares included)."""
        return self.nodes_per_rack * self.racks_per_pod * self.pods

    @property
    def n_gpus(self) -> int:
        """Total number of GPUs (spares included)."""
        return self.n_nodes * self.gpus_per_node

    @model_validator(mode="after")
    def _spares_fit(self) -> ClusterConfig:
        if self.spare_nodes >= self.n_nodes:
            raise ValueError(
                f"spare_nodes ({self.spare_nodes}) must be less than the {self.n_nodes} nodes"
            )
        return self


class StorageConfig(Frozen):
    """The shared checkpoint store: aggregate write and read bandwidth."""

    write_bandwidth: Bandwidth = Field(default=2e12, gt=0)
    read_bandwidth: Bandwidth = Field(default=2e12, gt=0)


class CostConfig(Frozen):
    """Prices used to turn GPU-seconds into energy and money."""

    mwh_per_gpu_year: Annotated[float, Field(ge=0)] = 3.7
    usd_per_gpu_hour: Annotated[float, Field(ge=0)] = 2.0


class JobSpec(Frozen):
    """One training job (or ``count`` identical ones) submitted at a fixed time."""

    name: str = "job"
    gpus: PositiveInt
    work: Duration = Field(gt=0)
    submit: Duration = 0.0
    priority: Priority = 0
    count: PositiveInt = 1
    model_params: Annotated[float, Field(ge=0)] | None = None
    checkpoint_bytes: Bytes | None = None


class JobClass(Frozen):
    """A class of synthetic jobs: size, lognormal work duration, model size and weight."""

    name: str
    weight: Annotated[float, Field(gt=0)]
    gpus: list[PositiveInt] = Field(min_length=1)
    work_median: Duration = Field(gt=0)
    work_sigma: Annotated[float, Field(ge=0)] = 1.0
    work_max: Duration | None = None
    model_params: Annotated[float, Field(ge=0)] = 0.0
    priority: Priority = 0


class GeneratorConfig(Frozen):
    """Poisson job arrivals over a window, each job drawn from weighted classes."""

    jobs: PositiveInt
    window: Duration = Field(gt=0)
    classes: list[JobClass] = Field(min_length=1)


class WorkloadConfig(Frozen):
    """The jobs to run: explicit specs, a synthetic generator, or both."""

    jobs: list[JobSpec] = Field(default_factory=list)
    generator: GeneratorConfig | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> WorkloadConfig:
        if not self.jobs and self.generator is None:
            raise ValueError("workload needs at least one job or a generator")
        return self


class CheckpointConfig(Frozen):
    """How often jobs checkpoint and what a checkpoint costs them.

    ``interval`` is compute time between checkpoints (used by the ``fixed`` policy). The stall
    is ``stall`` if given, else checkpoint bytes / storage write bandwidth (``sync``), or
    bytes / (GPUs x ``copy_bandwidth_per_gpu``) for ``async``, whose checkpoint completes only
    after the persist time bytes / write bandwidth.
    """

    policy: Literal["fixed", "young", "daly", "exact", "none"] = "daly"
    interval: Duration = Field(default=3600.0, gt=0)
    bytes_per_param: Annotated[float, Field(gt=0)] = 14.0
    stall: Duration | None = None
    mode: Literal["sync", "async"] = "sync"
    copy_bandwidth_per_gpu: Bandwidth = Field(default=25e9, gt=0)


class RestartConfig(Frozen):
    """What a restart costs: detection + requeue + init (grows with GPUs) + checkpoint load."""

    detection: Duration = 600.0
    requeue: Duration = 0.0
    init: Duration = 60.0
    init_per_gpu: Duration = 0.0086
    load: Duration | None = None
    failure_during_recovery: Literal["restart", "ignore"] = "restart"


class RepairConfig(Frozen):
    """Time to repair a failed component (from failure until it is back in service)."""

    distribution: Literal["exponential", "lognormal", "fixed"] = "lognormal"
    mean: Duration = Field(default=8 * 3600.0, gt=0)
    cv: Annotated[float, Field(ge=0)] = 1.0


class FaultConfig(Frozen):
    """A Poisson fault source: each node fails at ``rate``, with a blast radius.

    The blast radius is ``node`` (the node goes to repair), ``rack`` (every node of its
    rack goes to repair) or ``job`` (the job on the node is killed; no hardware is lost,
    so no repair).
    """

    kind: Literal["poisson"] = "poisson"
    rate: NodeRate
    blast_radius: Literal["node", "rack", "job"] = "node"
    repair: RepairConfig = Field(default_factory=RepairConfig)
    planned: bool = False


FaultSpec = FaultConfig


class SchedulerConfig(Frozen):
    """Which scheduling policy orders the queue, and how preemption behaves."""

    policy: str = "fifo"
    preempt_checkpoint: bool = True

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        from clustersim.scheduler import REGISTRY

        if value not in REGISTRY:
            raise ValueError(f"unknown policy {value!r} (known: {', '.join(sorted(REGISTRY))})")
        return value


class RunConfig(Frozen):
    """Run control: seed, horizon, replications, and whether to stop once the work is done."""

    seed: NonNegativeInt = 0
    horizon: Duration = Field(default=365 * 86400.0, gt=0)
    replications: PositiveInt = 1
    stop_when_done: bool = True
    check_invariants: bool = False
    max_events: Annotated[float, Field(gt=0)] = 1e9
    max_memory: Bytes = Field(default=8e9, gt=0)


class Scenario(Frozen):
    """A whole scenario: everything needed to reproduce a run, with its provenance."""

    name: str = "scenario"
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    cost: CostConfig = Field(default_factory=CostConfig)
    workload: WorkloadConfig
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    restart: RestartConfig = Field(default_factory=RestartConfig)
    faults: dict[str, FaultSpec] = Field(default_factory=dict)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    run: RunConfig = Field(default_factory=RunConfig)
