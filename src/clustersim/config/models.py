"""Scenario configuration: frozen pydantic v2 models, one per concern, composed into a Scenario.

Human units are parsed once here (see :mod:`clustersim.config.units`); every model below holds base
units (seconds, bytes, bytes/s, failures per node-second). Field names say the human concept;
``docs/config.md`` documents each field with its unit and default.

Size: this is the scenario file's schema, one small model per section in the order the file
and ``docs/config.md`` read; the models refer to each other (``Scenario`` composes them all),
so splitting them by size would scatter one schema over modules without a seam between them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from clustersim.config.fleet import (
    CohortConfig,
    FleetConfig,
    HazardConfig,
    RefreshConfig,
    WeibullTerm,
)
from clustersim.config.network import NetworkConfig
from clustersim.config.overrides import apply_overrides, overrides_from, validate_document
from clustersim.config.parse import PositionMap
from clustersim.config.power import PROFILES, FacilityConfig, PowerConfig, idle_floor_w
from clustersim.config.units import (
    Bandwidth,
    Bytes,
    Duration,
    GpuSeconds,
    format_rate,
    parse_rate,
)

__all__ = [
    "CheckpointConfig",
    "ClusterConfig",
    "CohortConfig",
    "CorrelatedConfig",
    "CostConfig",
    "EstimateConfig",
    "FairShareConfig",
    "FaultConfig",
    "FaultSpec",
    "FleetConfig",
    "GeneratorConfig",
    "HazardConfig",
    "JobClass",
    "JobSpec",
    "LemonConfig",
    "PowerConfig",
    "QuarantineConfig",
    "RefreshConfig",
    "RepairConfig",
    "RepairShopConfig",
    "RestartConfig",
    "RunConfig",
    "Scenario",
    "SchedulerConfig",
    "StorageConfig",
    "TiresiasConfig",
    "TraceWorkloadConfig",
    "UsersConfig",
    "WeibullTerm",
    "WorkloadConfig",
]


class Frozen(BaseModel):
    """Base of every config model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _without_defaults(
    model: BaseModel, data: dict[str, Any], names: tuple[str, ...]
) -> dict[str, Any]:
    """``data`` without the fields ``names`` that hold their default value.

    Fields added after the golden outputs were recorded are left out of a dump while they
    are at their default, so a scenario that does not use them dumps byte for byte as
    before (and re-loads equal: the default comes back).
    """
    fields = type(model).model_fields
    for name in names:
        field = fields[name]
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if getattr(model, name) == default:
            data.pop(name, None)
    return data


MAX_INT = 2**62  # keeps every integer exact in JSON and inside numpy int64
PositiveInt = Annotated[int, Field(ge=1, le=MAX_INT)]
Placement = Literal["topology", "first-fit", "spread"]
PLACEMENTS: tuple[str, ...] = get_args(Placement)
"""The placement rules for new jobs (what each does: :mod:`clustersim.cluster`)."""
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_INT)]
Priority = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]


class ClusterConfig(Frozen):
    """Hardware and topology: nodes -> racks (ToR) -> pods -> spine; the hot-spare pool."""

    gpus_per_node: PositiveInt = 8
    nodes_per_rack: PositiveInt = 2
    racks_per_pod: PositiveInt = 192
    pods: PositiveInt = 8
    oversubscription: Annotated[float, Field(ge=1.0)] = 7.0
    rack_oversubscription: Annotated[float, Field(ge=1.0)] = 1.0
    """ToR uplink oversubscription (1 = non-blocking); used by ``network.model: fair-share``."""
    spare_nodes: NonNegativeInt = 0
    placement: Placement = "topology"
    """How new jobs are placed (``clustersim.cluster.PLACEMENTS``; docs/scheduling.md)."""
    sharing: Literal["node", "gpu"] = "node"
    """``node``: every job holds whole nodes. ``gpu``: a job smaller than a node holds only
    its GPUs, packed best-fit onto shared nodes (docs/scheduling.md)."""

    @property
    def n_nodes(self) -> int:
        """Total number of nodes (spares included)."""
        return self.nodes_per_rack * self.racks_per_pod * self.pods

    @property
    def n_gpus(self) -> int:
        """Total number of GPUs (spares included)."""
        return self.n_nodes * self.gpus_per_node

    @model_serializer(mode="wrap")
    def _omit_default_rack_ratio(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave a non-blocking ``rack_oversubscription`` out, so old scenarios dump as before."""
        data: dict[str, Any] = handler(self)
        if data.get("rack_oversubscription") == 1.0:
            del data["rack_oversubscription"]
        return data

    @model_validator(mode="after")
    def _spares_fit(self) -> ClusterConfig:
        if self.spare_nodes >= self.n_nodes:
            raise ValueError(
                f"spare_nodes ({self.spare_nodes}) must be less than the {self.n_nodes} nodes"
            )
        return self


class StorageConfig(Frozen):
    """The shared checkpoint store: aggregate write and read bandwidth.

    With ``contention`` on (implied by any ``storage`` fault source), synchronous checkpoint
    writes are simulated one by one and share the write bandwidth fairly (processor sharing),
    so a job's stall depends on who else is writing.
    """

    write_bandwidth: Bandwidth = Field(default=2e12, gt=0)
    read_bandwidth: Bandwidth = Field(default=2e12, gt=0)
    contention: bool = False


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
    estimate: Duration | None = Field(default=None, gt=0)
    """The user's runtime estimate (requested time limit), used by ``estimates.model:
    requested``; None means the job's own failure-free work."""
    user: str | None = None
    """Who submitted the job (fair share charges its GPU time to the user or group)."""
    group: str | None = None
    exposed_comm: Annotated[float, Field(ge=0, le=1)] | None = None
    """This job's exposed-communication fraction (``network.exposed_comm`` otherwise)."""
    traffic: Literal["uniform", "all", "shape"] | None = None
    """This job's traffic model (``network.traffic`` otherwise; docs/network.md)."""
    replica_gpus: PositiveInt | None = None
    """GPUs of one model replica, tensor x pipeline parallel (``network.replica_gpus``
    otherwise); the rest of the job is data parallel."""

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave unset ``user``, ``group`` and the network overrides out (old dumps unchanged)."""
        return _without_defaults(
            self,
            handler(self),
            ("user", "group", "exposed_comm", "traffic", "replica_gpus"),
        )


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


class UsersConfig(Frozen):
    """Who submits generated jobs: ``count`` users, drawn per job by a Zipf-like law.

    User k (0-based) is named ``u<k>`` and submits a job with probability proportional to
    ``(k + 1) ** -skew`` (``skew`` 0: uniform); with ``groups`` set, user k belongs to group
    ``g<k mod groups>``. One draw per generated job, in arrival order, from the stream
    ``workload.users`` only.
    """

    count: PositiveInt
    skew: Annotated[float, Field(ge=0, le=100)] = 0.0
    groups: PositiveInt | None = None


_SHAPE_DEFAULTS = (("work_scale", 1.0), ("max_gpus", None), ("model_params_per_gpu", 0.0))


class GeneratorConfig(Frozen):
    """Poisson job arrivals over a window, each job drawn from weighted classes or a shape.

    ``shape`` names a size/duration mix calibrated to a published cluster
    (:mod:`clustersim.traces.synthetic`, e.g. ``rsc1``) instead of ``classes``; ``work_scale``
    stretches its durations, ``max_gpus`` clips its sizes, and ``model_params_per_gpu`` sizes
    its checkpoints (params = GPUs x this).
    """

    jobs: PositiveInt
    window: Duration = Field(gt=0)
    classes: list[JobClass] = Field(default_factory=list)
    shape: Literal["rsc1"] | None = None
    work_scale: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    max_gpus: PositiveInt | None = None
    model_params_per_gpu: Annotated[float, Field(ge=0)] = 0.0
    users: UsersConfig | None = None
    """Who submits the generated jobs (null: nobody in particular, one account ``""``)."""

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_defaults(self, handler(self), ("users",))

    @model_validator(mode="after")
    def _classes_or_shape(self) -> GeneratorConfig:
        if (self.shape is None) == (not self.classes):
            raise ValueError("a generator needs either classes or a shape (not both)")
        # By value, not by fields set: a resolved dump (defaults written out) must re-load.
        shape_only = [name for name, unset in _SHAPE_DEFAULTS if getattr(self, name) != unset]
        if self.shape is None and shape_only:
            raise ValueError(f"{', '.join(sorted(shape_only))} apply only with a shape")
        return self


class TraceWorkloadConfig(Frozen):
    """Jobs replayed from a workload trace file (``docs/traces.md``).

    Each job with a known run time and at least one GPU becomes a job with ``work = run time
    × time_scale``, submitted at ``(submit − first submit − start) × time_scale``, asking for
    ``ceil(gpus × gpu_scale)`` GPUs. ``start`` skips the jobs submitted earlier (trace time
    after the first submission); ``max_jobs`` keeps at most that many jobs.
    """

    path: str
    format: Literal["swf", "helios", "philly", "alibaba"] | None = None
    time_scale: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    gpu_scale: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    gpus_per_processor: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    start: Duration = 0.0
    max_jobs: PositiveInt | None = None
    checkpoint_bytes_per_gpu: Bytes = 0.0
    priority: Priority = 0
    on_bad_line: Literal["error", "skip"] = "error"
    origin: Literal["first-job", "trace"] = "first-job"
    """Time zero: the first replayed job's submission, or the trace's own clock (SWF and
    Alibaba count from the trace's start; Helios and Philly from the Unix epoch)."""
    faithful: bool = False
    """Replay the trace as a scheduler simulation: zero start-up, recovery and checkpoint
    costs and no faults, so that every job runs for exactly its recorded run time."""

    @model_validator(mode="before")
    @classmethod
    def _path_only(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class WorkloadConfig(Frozen):
    """The jobs to run: explicit specs, a synthetic generator, a trace, or any mix."""

    jobs: list[JobSpec] = Field(default_factory=list)
    generator: GeneratorConfig | None = None
    trace: TraceWorkloadConfig | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> WorkloadConfig:
        if not self.jobs and self.generator is None and self.trace is None:
            raise ValueError("workload needs at least one job, a generator or a trace")
        return self


class CheckpointConfig(Frozen):
    """How often jobs checkpoint and what a checkpoint costs them.

    ``interval`` is compute time between checkpoints (used by the ``fixed`` policy). The stall
    is ``stall`` if given, else checkpoint bytes / storage write bandwidth (``sync``), or
    bytes / (GPUs x ``copy_bandwidth_per_gpu``) for ``async``, whose checkpoint completes only
    after the persist time bytes / write bandwidth. With ``in_memory`` each checkpoint is also
    kept in a peer node's host memory: a restart loads it at the copy bandwidth instead of from
    storage, unless one failure took two or more of the job's nodes (the copy's peer may be
    among them), which falls back to storage.
    """

    policy: Literal["fixed", "young", "daly", "exact", "adaptive", "none"] = "daly"
    interval: Duration = Field(default=3600.0, gt=0)
    bytes_per_param: Annotated[float, Field(gt=0)] = 14.0
    stall: Duration | None = None
    mode: Literal["sync", "async"] = "sync"
    copy_bandwidth_per_gpu: Bandwidth = Field(default=25e9, gt=0)
    in_memory: bool = False


class RestartConfig(Frozen):
    """What a restart costs: detection + requeue + init (grows with GPUs) + checkpoint load."""

    detection: Duration = 600.0
    requeue: Duration = 0.0
    init: Duration = 60.0
    init_per_gpu: Duration = 0.0086
    load: Duration | None = None
    failure_during_recovery: Literal["restart", "ignore"] = "restart"


class RepairConfig(Frozen):
    """A duration distribution: a repair time, a flap's length, a maintenance or outage window.

    ``lognormal`` and ``exponential`` have mean ``mean``; ``lognormal`` has coefficient of
    variation ``cv``; ``fixed`` is always ``mean``.
    """

    distribution: Literal["exponential", "lognormal", "fixed"] = "lognormal"
    mean: Duration = Field(default=8 * 3600.0, gt=0)
    cv: Annotated[float, Field(ge=0)] = 1.0


DurationConfig = RepairConfig


class CorrelatedConfig(Frozen):
    """A share of a source's failures that take several nodes of one rack/PSU domain at once."""

    share: Annotated[float, Field(ge=0, le=1)]
    nodes: Annotated[int, Field(ge=2, le=MAX_INT)] = 2


FaultKind = Literal[
    "poisson", "maintenance", "flap", "switch", "straggler", "sdc", "storage", "trace"
]
Component = Literal["node", "gpu", "switch", "pod"]

# Fields a kind may set besides kind/category/planned/detection (validated in FaultConfig).
_KIND_FIELDS: dict[str, frozenset[str]] = {
    "poisson": frozenset(
        {
            "per",
            "rate",
            "distribution",
            "shape",
            "hazard",
            "blast_radius",
            "correlated",
            "repair",
            "lemons",
        }
    ),
    "maintenance": frozenset({"every", "arrivals", "duration", "batch_nodes"}),
    "flap": frozenset({"per", "rate", "duration", "timeout", "speed"}),
    "switch": frozenset({"per", "rate", "level", "homing", "repair", "speed", "evict_after"}),
    "straggler": frozenset({"per", "rate", "duration", "speed", "evict_after", "repair", "lemons"}),
    "sdc": frozenset({"per", "rate", "detection_delay", "repair", "lemons"}),
    "storage": frozenset({"every", "arrivals", "duration", "bandwidth_factor"}),
    "trace": frozenset({"path", "blast_radius", "repair"}),
}
_COMMON_FIELDS = frozenset({"kind", "category", "planned", "detection"})
_RATED = frozenset({"poisson", "flap", "switch", "straggler", "sdc"})


class FaultConfig(Frozen):
    """One fault source (one cause): what fails, how often, and what it costs.

    ``kind`` picks the source (``docs/config.md`` §faults has a table of which fields each kind
    takes); rates are per component (``per``): ``"148/110592 node-days"``,
    ``"0.5/1000 gpu-days"``, ``"0.051/100 switch-months"``. Windows (maintenance, storage) are
    given by their mean gap ``every``. ``detection`` overrides ``restart.detection`` for this
    cause; planned causes are detected at once (they drain gracefully).
    """

    kind: FaultKind = "poisson"
    category: str = ""
    planned: bool = False
    detection: Duration | None = None
    per: Component | None = None
    rate: float | None = None
    distribution: Literal["exponential", "weibull"] = "exponential"
    shape: Annotated[float, Field(gt=0, le=100)] = 1.0
    hazard: HazardConfig | None = None
    """Age-dependent hazard on top of ``rate`` (docs/ageing.md); null: constant in age."""
    blast_radius: Literal["gpu", "node", "rack", "pod", "job"] = "node"
    correlated: CorrelatedConfig | None = None
    lemons: bool = True
    repair: RepairConfig = Field(default_factory=RepairConfig)
    every: Duration | None = Field(default=None, gt=0)
    arrivals: Literal["poisson", "periodic"] = "poisson"
    duration: DurationConfig | None = None
    batch_nodes: PositiveInt | None = None
    timeout: Duration = 30.0
    speed: Annotated[float, Field(ge=0, le=1)] | None = None
    level: Literal["rack", "pod"] = "rack"
    homing: Literal["single", "dual"] = "single"
    evict_after: Duration | None = None
    detection_delay: Duration = 3600.0
    bandwidth_factor: Annotated[float, Field(ge=0, lt=1)] = 0.0
    path: str | None = None

    @field_validator("rate", mode="before")
    @classmethod
    def _parse_rate(cls, value: Any, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        component = info.data.get("per") or (
            "switch" if info.data.get("kind") == "switch" else "node"
        )
        rate = float(parse_rate(value, component))
        if rate < 0:
            raise ValueError(f"must not be negative, got {value!r}")
        return rate

    @field_serializer("rate")
    def _format_rate(self, rate: float | None) -> str | float | None:
        return None if rate is None else format_rate(rate, self.component)

    @model_serializer(mode="wrap")
    def _only_own_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Serialise only the fields this kind takes, so a dump re-loads equal."""
        allowed = _KIND_FIELDS[self.kind] | _COMMON_FIELDS
        data: dict[str, Any] = handler(self)
        if data.get("hazard", 0) is None:  # opt-in: scenarios without it dump as before
            allowed = allowed - {"hazard"}
        if self.kind == "switch" and self.evict_after is None:  # likewise (a cordon)
            allowed = allowed - {"evict_after"}
        return {k: v for k, v in data.items() if k in allowed}

    @property
    def component(self) -> str:
        """What ``rate`` counts failures per: node, gpu, switch or pod."""
        return self.per or ("switch" if self.kind == "switch" else "node")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> FaultConfig:
        allowed = _KIND_FIELDS[self.kind] | _COMMON_FIELDS
        stray = sorted(f for f in self.model_fields_set if f not in allowed)
        if stray:
            raise ValueError(
                f"{', '.join(stray)} do{'es' if len(stray) == 1 else ''} not apply to kind "
                f"{self.kind!r} (it takes: {', '.join(sorted(_KIND_FIELDS[self.kind]))})"
            )
        if self.kind in _RATED and self.rate is None:
            raise ValueError(f"kind {self.kind!r} needs a rate")
        if self.kind in ("maintenance", "storage") and self.every is None:
            raise ValueError(f"kind {self.kind!r} needs 'every' (the mean gap between windows)")
        if self.hazard is not None and self.distribution != "exponential":
            raise ValueError("hazard replaces distribution: weibull (set one of them)")
        if self.kind == "trace" and not self.path:
            raise ValueError("kind 'trace' needs a path")
        if self.kind == "switch" and self.per not in (None, "switch", "pod"):
            raise ValueError("a switch rate is per switch (or per pod for level: pod)")
        if (
            self.kind == "switch"
            and self.evict_after is not None
            and (self.level != "rack" or self.homing != "dual")
        ):
            raise ValueError(
                "evict_after applies to dual-homed ToRs (level: rack, homing: dual): a"
                " single-homed rack is off the network at once, a pod switch is not drained"
            )
        if self.kind in ("poisson", "sdc", "straggler", "flap") and self.per in ("switch", "pod"):
            raise ValueError(f"a {self.kind} rate is per node or per gpu")
        if self.kind == "maintenance":
            if "planned" in self.model_fields_set and not self.planned:
                raise ValueError("kind 'maintenance' is always planned (planned: false)")
            # The effective value, so that `show` and every result's scenario say so.
            object.__setattr__(self, "planned", True)
        return self

    def node_rate(self, gpus_per_node: int) -> float:
        """The rate per node-second (``rate`` converted from its component), or 0."""
        if self.rate is None:
            return 0.0
        return self.rate * gpus_per_node if self.component == "gpu" else self.rate

    @property
    def is_planned(self) -> bool:
        """Whether this cause drains gracefully (maintenance is always planned)."""
        return self.planned or self.kind == "maintenance"

    @property
    def kills_jobs(self) -> bool:
        """Whether this source's events interrupt jobs in the way a job-MTBF estimate counts."""
        return self.kind in ("poisson", "sdc", "trace") and not self.is_planned


FaultSpec = FaultConfig


class LemonConfig(Frozen):
    """Lemon nodes: a fraction of nodes that fail ``multiplier`` times as often as the rest.

    The cluster-average rate of each lemon-prone source is preserved (the other nodes fail a
    little less often), so a calibrated preset keeps its total. ``quarantine`` takes a node out
    of service for good after ``failures`` failures within ``window``.
    """

    fraction: Annotated[float, Field(ge=0, le=1)] = 0.012
    multiplier: Annotated[float, Field(ge=1, le=1e6)] = 10.0
    quarantine: QuarantineConfig | None = None


class QuarantineConfig(Frozen):
    """Quarantine a node after ``failures`` hardware failures within ``window``."""

    failures: Annotated[int, Field(ge=1, le=MAX_INT)] = 3
    window: Duration = Field(default=7 * 86400.0, gt=0)


LemonConfig.model_rebuild()


class RepairShopConfig(Frozen):
    """Who repairs failed nodes: ``crews`` in parallel (unlimited if null), then a burn-in test.

    A node that fails its test (probability ``test_failure``) is repaired again.
    """

    crews: PositiveInt | None = None
    test: Duration = 0.0
    test_failure: Annotated[float, Field(ge=0, lt=1)] = 0.0


class EstimateConfig(Frozen):
    """Users' runtime estimates, which backfilling and shortest-first policies read.

    ``exact``: the job's failure-free run time. ``requested``: the job's own estimate (a
    job spec's ``estimate``, a trace's requested time such as SWF field 9), else exact.
    ``factor``: run time × ``factor``. ``f-model``: run time × U[1, ``f``], drawn per job
    from the ``workload.estimates`` stream (Mu'alem & Feitelson 2001, section 5).
    """

    model: Literal["exact", "requested", "factor", "f-model"] = "exact"
    factor: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    f: Annotated[float, Field(ge=1, le=1e6)] = 1.0


class FairShareConfig(Frozen):
    """Fair share (``policy: fair-share``): priority from decayed usage (docs/scheduling.md).

    Each account's usage is the GPU-seconds its jobs held, decayed with ``half_life`` (null:
    never decayed). An account's share is ``shares[account]`` (1 for an account not listed)
    over the sum of the shares of every account in the workload. ``backfill``: EASY
    backfilling in fair-share order (as Slurm's backfill scheduler), else strict priority.
    """

    by: Literal["user", "group"] = "user"
    half_life: Duration | None = Field(default=7 * 86400.0, gt=0)
    shares: dict[str, Annotated[float, Field(gt=0, le=1e12)]] = Field(default_factory=dict)
    backfill: bool = True


class TiresiasConfig(Frozen):
    """Tiresias 2D-LAS (``policy: tiresias``): queues by attained GPU time (docs/scheduling.md).

    ``thresholds`` (strictly increasing, > 0) split attained service into ``len + 1`` queues:
    a job is in queue k once it has attained ``thresholds[k - 1]``. ``promote_knob``: a queued
    job below the top queue that has waited ``promote_knob`` times its executed time goes back
    to the top queue (null: never).
    """

    thresholds: list[GpuSeconds] = Field(default_factory=lambda: [3600.0], min_length=1)
    promote_knob: Annotated[float, Field(gt=0, le=1e6)] | None = None

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if value[0] <= 0:
            raise ValueError(f"thresholds must be above 0 GPU-s, got {value[0]!r}")
        for low, high in itertools.pairwise(value):
            if not high > low:
                raise ValueError(f"thresholds must increase strictly, got {low!r} then {high!r}")
        return value


class SchedulerConfig(Frozen):
    """Which scheduling policy orders the queue, and how preemption behaves."""

    policy: str = "fifo"
    preempt_checkpoint: bool = True
    estimates: EstimateConfig = Field(default_factory=EstimateConfig)
    fair_share: FairShareConfig = Field(default_factory=FairShareConfig)
    tiresias: TiresiasConfig = Field(default_factory=TiresiasConfig)
    placement_wait: Duration | None = Field(default=None, ge=0)
    """Hold a multi-node job that fits in one pod up to this long for a placement inside
    one pod (docs/network.md); null: start it wherever it fits."""

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_defaults(self, handler(self), ("fair_share", "tiresias", "placement_wait"))

    def single_account_warning(self, accounts: int) -> str | None:
        """Why fair share over ``accounts`` <= 1 is another policy under another name.

        None unless the policy is fair share and the jobs have at most one account.
        """
        if self.policy != "fair-share" or accounts > 1:
            return None
        like = "easy-backfill" if self.fair_share.backfill else "fifo"
        return (
            f"scheduler.policy 'fair-share' orders jobs as {like!r} here: every job is charged"
            f" to one account (scheduler.fair_share.by: {self.fair_share.by}); give jobs"
            " users or groups (e.g. workload.generator.users)"
        )

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
    period: Duration | None = Field(default=None, gt=0)
    """Length of the per-period metrics' periods (``30d``, ``91d``); null: none."""

    @model_serializer(mode="wrap")
    def _omit_no_period(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave ``period`` out when it is not set, so scenarios without it dump as before."""
        data: dict[str, Any] = handler(self)
        if data.get("period", 0) is None:
            del data["period"]
        return data


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
    lemons: LemonConfig | None = None
    repairs: RepairShopConfig = Field(default_factory=RepairShopConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    power: PowerConfig | None = None
    """Facility power (docs/power.md); ``null``: energy is the flat ``cost.mwh_per_gpu_year``."""
    fleet: FleetConfig | None = None
    """The nodes' cohorts and install times (docs/ageing.md); ``null``: one new cohort."""
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    """Shared network links (docs/network.md); the default ``model: none`` has no effect."""
    facility: FacilityConfig | None = None
    """A facility power cap, ramp limit and stall floor (docs/power.md); ``null``: none. A
    ``facility`` section turns power tracking on (``power: {}``, the default profile)."""

    @model_serializer(mode="wrap")
    def _omit_no_power(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out unset ``power`` and ``fleet`` and an all-default ``network`` (old dumps)."""
        data: dict[str, Any] = handler(self)
        for key in ("power", "fleet", "facility"):
            if data.get(key, 0) is None:
                del data[key]
        if self.network == NetworkConfig():
            data.pop("network", None)
        return data

    @model_validator(mode="before")
    @classmethod
    def _scheduler_placement(cls, data: Any) -> Any:
        """``scheduler.placement`` in a file is ``cluster.placement`` (``ALIASES``)."""
        scheduler = data.get("scheduler") if isinstance(data, Mapping) else None
        if not isinstance(scheduler, Mapping) or "placement" not in scheduler:
            return data
        value = scheduler["placement"]
        cluster = data.get("cluster") or {}
        if not isinstance(cluster, Mapping):
            return data  # the cluster section's own error says what is wrong
        if value not in PLACEMENTS:
            raise ValueError(
                f"scheduler.placement: unknown placement {value!r} (known: {', '.join(PLACEMENTS)})"
            )
        if "placement" in cluster and cluster["placement"] != value:
            raise ValueError(
                f"scheduler.placement: {value!r} contradicts cluster.placement:"
                f" {cluster['placement']!r} (the same setting; give it once)"
            )
        rest = {k: v for k, v in scheduler.items() if k != "placement"}
        return {**data, "scheduler": rest, "cluster": {**cluster, "placement": value}}

    @property
    def fleet_changes_size(self) -> bool:
        """Whether the fleet grows or shrinks mid-run (an expansion or a retirement)."""
        return self.fleet is not None and self.fleet.changes_size

    @model_validator(mode="after")
    def _facility_power(self) -> Scenario:
        """A facility needs power: default profile; lowest GPU cap; a cap above the idle floor."""
        facility = self.facility
        if facility is None:
            return self
        if self.power is None:
            object.__setattr__(self, "power", PowerConfig())
        power = self.power
        assert power is not None
        computing = power.gpu.watts()["computing"]
        if facility.min_gpu_power is None:
            lowest = min(PROFILES[power.profile].min_limit_w, computing)
            facility = facility.model_copy(update={"min_gpu_power": lowest})
            object.__setattr__(self, "facility", facility)
        if float(facility.min_gpu_power or 0.0) > computing:
            raise ValueError(
                f"facility.min_gpu_power: {facility.min_gpu_power:g} W is above the GPUs'"
                f" computing watts ({computing:g} W)"
            )
        recovery = power.gpu.watts()["recovery"]
        if facility.power_cap is not None and float(facility.min_gpu_power or 0.0) < recovery:
            # The gate and the throttle count a held GPU at no less than its recovery draw: a
            # lower limit would let starting and recovering GPUs (never throttled) pass the cap.
            raise ValueError(
                f"facility.min_gpu_power: {float(facility.min_gpu_power or 0.0):g} W is below"
                f" the GPUs' recovery watts ({recovery:g} W, power.gpu.recovery), which the"
                " throttle does not cap"
            )
        if facility.power_cap is not None:
            floor = idle_floor_w(power, self.cluster.n_nodes, self.cluster.gpus_per_node)
            if facility.power_cap < floor:
                raise ValueError(
                    f"facility.power_cap: {facility.power_cap / 1e6:.6g} MW is below the idle"
                    f" floor of {floor / 1e6:.6g} MW ({self.cluster.n_nodes} nodes idle"
                    f" x {floor / self.cluster.n_nodes / power.pue:.6g} W x PUE {power.pue:g})"
                )
        return self

    @model_validator(mode="after")
    def _cohorts_fill_the_cluster(self) -> Scenario:
        """The cohorts' node counts sum to the cluster's nodes; overrides name hazard sources."""
        if self.fleet is None:
            return self
        total = sum(c.count for c in self.fleet.cohorts)
        if total != self.cluster.n_nodes:
            raise ValueError(
                f"fleet.cohorts: counts sum to {total} nodes but the cluster has"
                f" {self.cluster.n_nodes}"
            )
        per_pod = self.cluster.nodes_per_rack * self.cluster.racks_per_pod
        first = 0
        for i, cohort in enumerate(self.fleet.cohorts):
            if self.fleet.install_s(i) > 0 and first % per_pod:
                raise ValueError(
                    f"fleet.cohorts.{i}: an expansion goes into new pods, but it starts at node"
                    f" {first}, not at a pod boundary (pods of {per_pod} nodes)"
                )
            first += cohort.count
            for name in cohort.hazards:
                fault = self.faults.get(name)
                if fault is None or fault.kind != "poisson":
                    raise ValueError(
                        f"fleet.cohorts.{i}.hazards.{name}: no poisson fault source {name!r}"
                    )
        return self

    @model_validator(mode="after")
    def _cohort_power(self) -> Scenario:
        """``fleet.cohorts[].power`` needs a ``power`` section, whole nodes and no facility."""
        if self.fleet is None or not self.fleet.per_cohort_power:
            return self
        i = next(i for i, c in enumerate(self.fleet.cohorts) if c.power is not None)
        where = f"fleet.cohorts.{i}.power"
        if self.power is None:
            raise ValueError(
                f"{where}: a cohort's power profile needs a power section (its PUE and swing"
                " definition apply to every cohort; power: {} for the defaults)"
            )
        if self.facility is not None:
            raise ValueError(
                f"{where}: per-cohort power profiles are not supported with a facility"
                " section (power cap, ramp limit, stall floor: they price every GPU with"
                " the power section's profile)"
            )
        if self.cluster.sharing == "gpu":
            raise ValueError(
                f"{where}: per-cohort power profiles are not supported with cluster.sharing: gpu"
            )
        return self

    @model_validator(mode="after")
    def _sharing_policy(self) -> Scenario:
        """Conservative backfill's profile counts whole nodes; GPU sharing needs more."""
        if self.cluster.sharing == "gpu" and self.scheduler.policy == "conservative-backfill":
            raise ValueError(
                "scheduler.policy conservative-backfill reserves whole nodes and does not"
                " support cluster.sharing: gpu (use easy-backfill, fifo, sjf or"
                " priority-preempt)"
            )
        return self

    @model_validator(mode="after")
    def _faithful_replay(self) -> Scenario:
        """``workload.trace.faithful``: no start-up, recovery or checkpoint cost, no faults."""
        trace = self.workload.trace
        if trace is None or not trace.faithful:
            return self
        free = {"detection": 0.0, "requeue": 0.0, "init": 0.0, "init_per_gpu": 0.0, "load": 0.0}
        return self.model_copy(
            update={
                "restart": self.restart.model_copy(update=free),
                "checkpoint": self.checkpoint.model_copy(update={"policy": "none"}),
                "faults": {},
                "lemons": None,
            }
        )

    def replace(
        self, set: Mapping[str, Any] | Iterable[str] | None = None, **overrides: Any
    ) -> Scenario:
        """A new scenario: this one with overrides applied, validated again (it stays frozen).

        The keys are the dotted paths of ``--set`` and the values keep the files' human units:
        ``sc.replace({"checkpoint.interval": "10m", "run.seed": 7})``, or as keyword arguments
        ``sc.replace(**{"checkpoint.interval": "10m"})``; a mapping given for a section changes
        only the fields it names (``{"cluster": {"pods": 2}}``). ``set`` may also be
        ``--set``-style ``"path=value"`` strings. The mapping is applied first, then the
        keywords, in order.

        Raises:
            UsageError: a path that names no field, or a value the model rejects (the message
                names the override).
        """
        given = overrides_from(set, overrides)
        if not given:
            return self
        document = self.model_dump(mode="json")
        applied = apply_overrides(document, given, type(self))
        return validate_document(type(self), document, PositionMap(), self.name, applied)
