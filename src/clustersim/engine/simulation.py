"""The simulation: wires the engine's components together and runs the clock.

:class:`Simulation` owns the SimPy environment, the allocator, the jobs and the run loop
(submission, the horizon, stopping when every runnable job is done, closing every open
account at the end). Everything else belongs to one component each::

    Recorder      the event log, its tally, node-state integrals, the time series
    Dispatcher    the queue, policy views and calls, placement, preemption, replacements
    Fleet         node failures, repairs, crews, quarantine, maintenance drains, SDC
    Degradations  slowdowns (job speeds) and the shared store's bandwidth windows
    lifecycle     each job's own process (start-up, training, recovery, draining)
    PowerMeter    the facility power series (only with a ``power`` section)
    Facility      a power cap's gate and throttle, the ramp clock (only with ``facility``)
    Network       link capacities and job shares (only with ``network.model: fair-share``)

The simulation exposes the :class:`~clustersim.faults.base.World` interface to fault sources
and the :class:`~clustersim.engine.lifecycle.JobHost` interface to job processes, both by
handing out the components' own methods.

Size: one module (over 500 lines) because it is the one place the components are built and
wired to each other (fleet, dispatcher, degradations, network, power meter, facility, fleet
changes, period ledger) and the one place the interfaces of fault sources (``World``) and job
processes (``JobHost``) are served; every component's own logic lives in its own module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import simpy

from clustersim.checkpoint import interval_for
from clustersim.cohorts import Cohorts
from clustersim.config import RestartConfig, Scenario
from clustersim.config.power import effective_power
from clustersim.events import Event, JobSubmitted, RunEnded, RunStarted
from clustersim.faults import REGISTRY as FAULT_REGISTRY
from clustersim.faults.base import FaultSource
from clustersim.job import Horizon, Job, JobPhase
from clustersim.metrics import SECONDS_PER_YEAR, LogTally
from clustersim.power.cohorts import CohortEnergy
from clustersim.power.steps import StepFunction
from clustersim.rng import Streams
from clustersim.scheduler import BACKFILL, FULL_QUEUE, PREEMPTIVE, PREFIX
from clustersim.storage import SharedStore
from clustersim.topology import Topology
from clustersim.workload import build_workload

from . import collector
from .build import Causes, make_jobs, unplaceable
from .changes import FleetChanges, out_at_start
from .cohort_power import CohortPowerMeter, allocator, node_sets, power_meter
from .degradation import Degradations
from .dispatcher import Dispatcher
from .facility import Facility
from .fleet import Fleet
from .lifecycle import run_job
from .network import Network
from .passes import PolicyRunner
from .periods import PeriodLedger
from .power import PowerMeter
from .recorder import Recorder

__all__ = ["ProgressCallback", "Simulation"]

ProgressCallback = Callable[[float, float], None]


class Simulation:
    """One replication of a scenario: the components, the clock and the run loop."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        replication: int = 0,
        seed: int | None = None,
        keep_log: bool = True,
    ):
        self.scenario = scenario
        self.seed = scenario.run.seed if seed is None else seed
        self.replication = replication
        self.streams = Streams(self.seed, replication)
        self.env = env = simpy.Environment(initial_time=0.0)
        cfg = scenario.cluster
        self.topology = Topology(
            cfg.gpus_per_node,
            cfg.nodes_per_rack,
            cfg.racks_per_pod,
            cfg.pods,
            cfg.oversubscription,
        )
        self.gpus_per_node = cfg.gpus_per_node
        self.cohorts = Cohorts.of(scenario)
        changes_fleet = scenario.fleet is not None and scenario.fleet.has_events
        self.cluster = allocator(
            scenario,
            self.cohorts,
            self.topology,
            spare_nodes=cfg.spare_nodes,
            placement=cfg.placement,
            share_gpus=cfg.sharing == "gpu",
            out_nodes=out_at_start(self.cohorts) if changes_fleet else (),
        )
        self.restart: RestartConfig = scenario.restart
        self.closing = False
        self.horizon_s = scenario.run.horizon
        self.adaptive = scenario.checkpoint.policy == "adaptive"
        self.causes = Causes(scenario)
        down_planned, quarantined = node_sets(scenario, self.cohorts)
        self.recorder = Recorder(
            env,
            self.cluster,
            horizon_s=self.horizon_s,
            gpus_per_node=self.gpus_per_node,
            down_planned=down_planned,
            quarantined=quarantined,
            keep_log=keep_log,
        )
        self.record = self.recorder.record
        storage_faults = any(f.kind == "storage" for f in scenario.faults.values())
        self.store: SharedStore | None = None
        if scenario.storage.contention or storage_faults:
            self.store = SharedStore(env, scenario.storage.write_bandwidth)
        # The order of the stream draws below is part of the golden outputs.
        self.jobs: list[Job] = []
        policy = scenario.scheduler.policy
        self.policy_runner = PolicyRunner(env, scenario.scheduler)
        dispatcher = self.dispatcher = Dispatcher(
            env,
            self.cluster,
            self.recorder,
            self.jobs,
            policy=self.policy_runner.policy,
            preemptive=policy in PREEMPTIVE,
            full_queue=policy in FULL_QUEUE,
            queue_cut="prefix"
            if policy in PREFIX
            else "backfill"
            if policy in BACKFILL
            else "fitting",
            preempt_checkpoint=scenario.scheduler.preempt_checkpoint,
            gpus_per_node=self.gpus_per_node,
            launch=lambda job: env.process(run_job(env, self, job)),
            on_finished=self._check_done,
            placement_wait_s=scenario.scheduler.placement_wait or 0.0,
            nodes_per_pod=cfg.nodes_per_rack * cfg.racks_per_pod,
        )
        fleet = self.fleet = Fleet(
            env,
            self.cluster,
            self.recorder,
            dispatcher,
            self.jobs,
            scenario,
            self.streams,
            planned_causes=self.causes.planned,
            down_planned=down_planned,
            quarantined=quarantined,
        )
        self.degradations = Degradations(
            env, self.cluster, self.topology, self.recorder, self.jobs, self.store
        )
        if scenario.fleet is not None and any(c.speed != 1.0 for c in scenario.fleet.cohorts):
            self.degradations.node_speed = np.repeat(
                [c.speed for c in scenario.fleet.cohorts], self.cohorts.counts
            ).astype(np.float64)
        self.fault_sources: list[FaultSource] = [
            FAULT_REGISTRY[f.kind](name, f, self.streams, self.topology)
            for name, f in scenario.faults.items()
        ]
        with collector.paused():
            self.jobs.extend(
                make_jobs(
                    scenario, build_workload(scenario, self.streams), self.causes.job_rate_per_node
                )
            )
        on_phase = self.policy_runner.attach(self.jobs, dispatcher.track_phase, dispatcher.wake)
        self.network: Network | None = None
        if scenario.network.model == "fair-share":
            net = self.network = Network(
                env,
                self.cluster,
                self.topology,
                scenario.network,
                rack_oversubscription=cfg.rack_oversubscription,
                respeed=self.degradations.respeed_job,
                record=self.recorder.record,
            )
            self.degradations.network_factor = net.job_factor
            policy_phase = on_phase

            def on_phase(job: Job) -> None:
                policy_phase(job)
                net.track_phase(job)

        for job in self.jobs:
            job.on_phase = on_phase
        self.power_meter: PowerMeter | None = None
        self.facility: Facility | None = None
        if scenario.power is not None:
            power = effective_power(scenario.power, scenario.facility)
            meter = self.power_meter = power_meter(
                env,
                self.cluster,
                power,
                scenario,
                gpus_per_node=self.gpus_per_node,
                down_planned=down_planned,
                quarantined=quarantined,
                jobs=self.jobs,
            )
            self.recorder.on_tick = meter.tick
            self.recorder.on_run_record = meter.run_record
            if scenario.facility is not None:
                self._wire_facility(
                    Facility(
                        env,
                        scenario.facility,
                        power,
                        meter,
                        gpus_per_node=self.gpus_per_node,
                        respeed=self.degradations.respeed_job,
                    )
                )
        self.ramp_limited = self.facility is not None and self.facility.ramps_on
        self.changes: FleetChanges | None = None
        if changes_fleet:
            assert scenario.fleet is not None
            self.changes = FleetChanges(
                env,
                self.cluster,
                self.cohorts,
                scenario.fleet,
                fleet=fleet,
                recorder=self.recorder,
                dispatcher=dispatcher,
            )
        self.period_ledger: PeriodLedger | None = None
        if scenario.run.period is not None:
            ledger = self.period_ledger = PeriodLedger(
                env,
                self.cluster,
                self.cohorts,
                period_s=scenario.run.period,
                gpus_per_node=self.gpus_per_node,
                planned_causes=self.causes.planned,
                down_planned=down_planned,
                quarantined=quarantined,
                energy_mwh_per_gpu_s=scenario.cost.mwh_per_gpu_year / SECONDS_PER_YEAR
                if changes_fleet
                else None,
            )
            self.recorder.on_record = ledger.record
            meter_tick = self.recorder.on_tick
            if meter_tick is None:
                self.recorder.on_tick = ledger.tick
            else:

                def both_ticks() -> None:
                    meter_tick()
                    ledger.tick()

                self.recorder.on_tick = both_ticks
        self.unplaceable = unplaceable(self.jobs, self.topology.n_nodes, cfg.spare_nodes)
        if self.facility is not None and self.facility.cap_it_w != math.inf:
            over = [job.name for job in self.jobs if not self.facility.ever_admits(job)]
            if over:
                cap_mw = self.facility.cap_it_w * self.facility.pue / 1e6
                self.unplaceable[f"needs more power than facility.power_cap ({cap_mw:g} MW)"] = over
        """Names of the jobs that can never be placed, by reason (they are never started)."""
        self.unrunnable = sum(len(names) for names in self.unplaceable.values())
        self.end_event = env.event()
        self.end_s = 0.0
        # The World interface of fault sources (faults.base.World), served by the components.
        self.is_up = fleet.is_up
        self.owner_of = fleet.owner_of
        self.node_picker = fleet.node_picker
        self.fail_nodes = fleet.fail_nodes
        self.fail_job_on = fleet.fail_job_on
        self.maintain = fleet.maintain
        self.corrupt = fleet.corrupt
        self.slow = self.degradations.slow
        self.unslow = self.degradations.unslow
        self.is_slowed = self.degradations.is_slowed
        self.storage_window = self.degradations.storage_window
        # The JobHost interface of job processes (engine.lifecycle.JobHost).
        self.detection_s = self.causes.detection_s
        self.is_planned = self.causes.is_planned
        self.request_replacements = dispatcher.request_replacements
        self.requeue = dispatcher.requeue
        self.finish = dispatcher.finish
        self.job_speed = self.degradations.job_speed
        self.hand_over_for_maintenance = fleet.hand_over_for_maintenance

    def _wire_facility(self, facility: Facility) -> None:
        """The facility's gate in the dispatcher; its throttle follows the meter's inputs."""
        self.facility = facility
        meter = facility.meter
        if facility.cap_it_w != math.inf:
            self.dispatcher.admit = facility.admit
            self.dispatcher.begin_pass = facility.begin_pass
            self.dispatcher.refuse = facility.refuse
            self.dispatcher.ever_admits = facility.ever_admits
        if facility.throttle:
            self.degradations.power_factor = facility.power_factor
            meter.saving = facility.saved_w

            def tick() -> None:
                meter.tick()
                facility.changed()

            def run_record(ev: RunStarted | RunEnded) -> None:
                if isinstance(ev, RunEnded):
                    facility.epoch_ended(ev)
                meter.run_record(ev)
                facility.changed()

            self.recorder.on_tick = tick
            self.recorder.on_run_record = run_record

    def ramp_delay(self, job: Job) -> float:
        """JobHost: reserve ``job``'s power ramp (0 without a ramp limit)."""
        return 0.0 if self.facility is None else self.facility.ramp_delay(job)

    def ramp_ended(self, job: Job) -> None:
        """JobHost: ``job``'s ramp is done or was interrupted."""
        if self.facility is not None:
            self.facility.ramp_ended(job)

    # ----------------------------------------------------------------- what metrics read
    @property
    def log(self) -> list[Event]:
        """Every record written (empty unless the log is kept)."""
        return self.recorder.log

    @property
    def tally(self) -> LogTally:
        """The running fold of every record written."""
        return self.recorder.tally

    @property
    def node_s(self) -> dict[str, float]:
        """Node-second integrals: idle, down, allocated."""
        return self.recorder.node_s

    @property
    def series(self) -> dict[str, list[float]]:
        """The binned time series of GPUs by state."""
        return self.recorder.series

    @property
    def down_node_s(self) -> dict[str, float]:
        """Node-seconds in maintenance and quarantined (parts of the ``down`` integral)."""
        return self.recorder.down_node_s

    @property
    def power_cohorts(self) -> CohortEnergy | None:
        """Per-cohort GPU-seconds by power state and profiles (only with per-cohort power)."""
        meter = self.power_meter
        if not isinstance(meter, CohortPowerMeter):
            return None
        lost = {c: tuple(v.tolist()) for c, v in meter.lost_by_cause.items()}
        return CohortEnergy(
            self.cohorts.names,
            tuple(meter.profiles),
            tuple(meter.gpu_seconds(self.end_s)),
            lost,
            self.gpus_per_node,
        )

    @property
    def power_steps(self) -> StepFunction | None:
        """Facility power over the run (None without a ``power`` section)."""
        if self.power_meter is None:
            return None
        return self.power_meter.steps(self.end_s)

    @property
    def facility_stats(self) -> Facility | None:
        """The facility's integrals (None without a ``facility`` section)."""
        return self.facility

    def periods(self) -> list[dict[str, Any]]:
        """The per-period rows of ``run.period`` (empty without it)."""
        ledger = self.period_ledger
        if ledger is None:
            return []
        return ledger.rows(self.end_s, self.power_steps if ledger.changes else None)

    @property
    def network_stats(self) -> Network | None:
        """The network's integrals (None without a network model)."""
        return self.network

    @property
    def quarantined(self) -> set[int]:
        """Nodes retired by quarantine (with those whose cohort has retired since)."""
        if not self.fleet.quarantined_out:
            return self.fleet.quarantined
        return self.fleet.quarantined | self.fleet.quarantined_out

    @property
    def lemon_nodes(self) -> Any:
        """The lemon nodes (a sorted numpy array)."""
        return self.fleet.lemon_nodes

    @property
    def categories(self) -> dict[str, str]:
        """Each cause's category (Table 5's)."""
        return self.causes.categories

    @property
    def planned_causes(self) -> set[str]:
        """The causes that are planned maintenance."""
        return self.causes.planned

    @property
    def queue(self) -> dict[int, Job]:
        """Queued jobs by id."""
        return self.dispatcher.queue

    @property
    def finished(self) -> int:
        """Jobs finished so far."""
        return self.dispatcher.finished

    @property
    def schedulable_nodes(self) -> int:
        """Nodes a new job may be placed on (all nodes but the hot-spare pool)."""
        return self.dispatcher.schedulable_nodes

    def watch_renewals(self, callback: Callable[[Sequence[int], float], None]) -> bool:
        """World: tell an age-dependent source of node replacements (False: never any)."""
        return self.changes is not None and self.changes.watch(callback)

    def cut_uplink(self, pod: int, cause: str, duration_s: float) -> bool:
        """World: a failed aggregation switch cuts ``pod``'s uplink (False: no network model)."""
        return self.network is not None and self.network.cut_uplink(pod, cause, duration_s)

    def cut_rack(self, rack: int, fraction: float, cause: str, duration_s: float) -> bool:
        """World: remove ``fraction`` of ``rack``'s uplink for a while (False: no network model)."""
        return self.network is not None and self.network.cut_rack(rack, fraction, cause, duration_s)

    def cut_node(self, node: int, fraction: float, cause: str, duration_s: float) -> bool:
        """World: remove ``fraction`` of ``node``'s NIC capacity (False: no network model)."""
        return self.network is not None and self.network.cut_node(node, fraction, cause, duration_s)

    # ----------------------------------------------------------------- per-job facts
    def segmented(self, job: Job) -> bool:
        """Whether ``job``'s checkpoints are simulated one by one on the shared store."""
        ck = self.scenario.checkpoint
        return (
            self.store is not None
            and ck.mode == "sync"
            and ck.stall is None
            and job.checkpoint_bytes > 0
            and math.isfinite(job.interval_s)
        )

    def adaptive_interval(self, job: Job) -> float:
        """Daly's interval on the job's own MTBF estimate (one pseudo-failure of prior)."""
        if math.isfinite(job.mtbf_s):
            mtbf = (job.mtbf_s + job.exposure_s) / (1 + job.failures_seen)
        elif job.failures_seen and job.exposure_s > 0:
            mtbf = job.exposure_s / job.failures_seen
        else:
            mtbf = math.inf
        return interval_for("daly", self.scenario.checkpoint.interval, job.stall_s, mtbf)

    # ----------------------------------------------------------------- running
    def run(self, progress: ProgressCallback | None = None) -> None:
        """Run to the horizon (or until every runnable job has finished)."""
        env = self.env
        env.process(self.submit_jobs(env))
        if self.changes is not None:
            self.changes.start()
        for source in self.fault_sources:
            source.start(env, self)
        horizon = env.timeout(self.horizon_s)
        horizon.callbacks.append(lambda _: self._end())
        self._check_done()
        if progress is not None:
            env.process(self.report_progress(env, progress))
        with collector.frozen():
            if self.scenario.run.check_invariants:
                while not self.end_event.processed:
                    env.step()
                    self.check()
            else:
                env.run(until=self.end_event)
            self._close()
        if progress is not None:
            progress(self.end_s, self.end_s)

    def submit_jobs(self, env: simpy.Environment) -> Any:
        """Process: submit each job at its submission time."""
        dispatcher = self.dispatcher
        for job in self.jobs:
            if job.submit_s > env.now:
                yield env.timeout(job.submit_s - env.now)
            dispatcher.submit(job)
            self.record(JobSubmitted(env.now, job.id, job.name, job.gpus, job.work_s, job.priority))
            dispatcher.wake()

    def report_progress(self, env: simpy.Environment, progress: ProgressCallback) -> Any:
        """Process: call ``progress(now, horizon)`` a hundred times over the horizon."""
        step = self.horizon_s / 100
        while True:
            yield env.timeout(step)
            progress(env.now, self.horizon_s)

    def _check_done(self) -> None:
        if (
            self.scenario.run.stop_when_done
            and self.dispatcher.finished + self.unrunnable >= len(self.jobs)
            and not self.end_event.triggered
        ):
            self._end()

    def _end(self) -> None:
        if not self.end_event.triggered:
            self.end_event.succeed()

    def _close(self) -> None:
        """Stop everything at the current instant and close every open account."""
        env = self.env
        self.closing = True
        for component in (self.dispatcher, self.fleet, self.degradations):
            component.closing = True
        if self.facility is not None:
            self.facility.closing = True  # no throttle changes while the jobs stop
        self.end_s = env.now
        for job in self.jobs:
            if job.proc is not None and job.proc.is_alive:
                job.proc.interrupt(Horizon())
        while env.peek() <= env.now:
            env.step()
        if self.network is not None:
            self.network.close()
        self.recorder.tick()
        if self.facility is not None:
            self.facility.close()
        self.recorder.close_bins(env.now, final=True)

    def check(self) -> None:
        """Assert INV-1 (GPU conservation), per-job held-node bookkeeping, and the views' order."""
        self.cluster.check()
        if self.changes is not None:
            self.changes.check()
        for job in self.jobs:
            if job.phase in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.FINISHED):
                assert job.held_nodes == 0, f"job {job.id} holds nodes while {job.phase}"
            held = len(self.cluster.nodes_of(job.id)) if self.cluster.has_job(job.id) else 0
            assert held == job.held_nodes, f"job {job.id}: {held} nodes != {job.held_nodes}"
            if job.slot_gpus:
                assert held <= 1, f"sub-node job {job.id} holds {held} nodes"
                node = self.cluster.nodes_of(job.id)[0] if held else -1
                assert node == job.slot_node, f"job {job.id}: slot on {node}, not {job.slot_node}"
            assert job.committed_s <= job.work_s * (1 + 1e-12), f"job {job.id} over-progressed"
        self.dispatcher.check()
