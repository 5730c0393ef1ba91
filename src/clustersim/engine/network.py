"""Network: shared link capacities and each running job's bottleneck share of them.

:class:`Network` owns the uplinks of the flow-level model of docs/network.md: one per pod into
the aggregation layer (``GPUs in the pod x NIC bandwidth / oversubscription``), and one per
rack into its pod when ``cluster.rack_oversubscription`` is above 1. It owns the flows of the
running jobs that cross them, the capacity cuts of failed aggregation switches, every
job's bottleneck share ``s`` (max-min fair, by progressive filling) and its network speed
factor ``1 / ((1 - f) + f / s)``, and the integrals measured from them: GPU-seconds lost to
the network by cause, per-job time-weighted share, aggregation-layer utilisation.

Shares are recomputed only when a crossing job starts or stops running (its placement is
fixed for an epoch) or a link's capacity changes, never per step. A change of a job's factor
reaches its process through ``respeed`` (the degradations component, which owns job speeds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

import numpy as np
import simpy

from clustersim.cluster import Cluster
from clustersim.config import NetworkConfig
from clustersim.job import Job, JobPhase
from clustersim.topology import Topology

__all__ = ["CONTENTION", "Network", "comm_speed", "max_min_shares"]

CONTENTION = "network-contention"
"""The cause GPU-seconds lost to sharing links at nominal capacity are charged to."""

Demands = Mapping[int, Mapping[int, float]]


def comm_speed(f: float, s: float) -> float:
    """Speed of a job with exposed-communication fraction ``f`` at bottleneck share ``s``."""
    if f <= 0.0 or s >= 1.0:
        return 1.0
    if s <= 0.0:
        return 0.0
    return 1.0 / ((1.0 - f) + f / s)


def max_min_shares(demands: Demands, capacity: Mapping[int, float]) -> dict[int, float]:
    """Max-min fair shares by progressive filling; ``demands[job][link]`` in bytes/s.

    Each job sends at one rate ``x`` scaled to its largest link demand ``D``: on link ``l``
    it uses ``x * d_l / D``. All unfrozen rates rise together; a job freezes when it reaches
    its demand (share 1) or when a link it crosses fills (its bottleneck). Returns each job's
    share ``x / D`` in [0, 1]. Jobs and links are visited in sorted order (deterministic).
    """
    peak = {j: max(d.values()) for j, d in demands.items() if d and max(d.values()) > 0}
    weight = {j: {link: v / peak[j] for link, v in demands[j].items()} for j in peak}
    on_link: dict[int, list[int]] = defaultdict(list)
    for j in sorted(weight):
        for link in weight[j]:
            on_link[link].append(j)
    left = {link: max(0.0, capacity[link]) for link in on_link}
    rate: dict[int, float] = {}
    active = set(weight)
    level = 0.0
    while active:
        # The next level at which a job meets its demand or a link fills.
        nxt = min(peak[j] for j in active)
        full: list[int] = []
        for link in sorted(on_link):
            w = sum(weight[j][link] for j in on_link[link] if j in active)
            if w <= 0:
                continue
            at = level + left[link] / w
            if at < nxt:
                nxt, full = at, [link]
            elif at == nxt:
                full.append(link)
        step = nxt - level
        for link in on_link:
            left[link] -= step * sum(weight[j][link] for j in on_link[link] if j in active)
        level = nxt
        frozen = {j for j in active if peak[j] <= level}
        for link in full:
            frozen.update(j for j in on_link[link] if j in active)
            left[link] = 0.0
        for j in frozen:
            rate[j] = min(level, peak[j])
        active -= frozen
    return {j: min(1.0, rate[j] / peak[j]) for j in sorted(rate)}


class Network:
    """Link capacities, running jobs' flows and shares, and the network's integrals."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        topology: Topology,
        cfg: NetworkConfig,
        *,
        rack_oversubscription: float,
        respeed: Callable[[Job], None],
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.topology = topology
        self.cfg = cfg
        self.respeed = respeed
        self.closing = False
        bw = cfg.nic_bandwidth
        topo = topology
        gpus_per_pod = topo.gpus_per_node * topo.nodes_per_pod
        self.pod_capacity = gpus_per_pod * bw / topo.oversubscription
        """Nominal uplink capacity of one pod into the aggregation layer (bytes/s)."""
        self.racks_limited = rack_oversubscription > 1.0
        self.rack_capacity = topo.gpus_per_node * topo.nodes_per_rack * bw / rack_oversubscription
        """Nominal uplink capacity of one rack (ToR) into its pod (bytes/s)."""
        self._node_pod = topo.node_pod()
        self._node_rack = topo.node_rack()
        self.flows: dict[int, dict[int, float]] = {}
        """Running jobs that cross a link: job id -> link -> demand (bytes/s)."""
        self.running: dict[int, Job] = {}
        self.share: dict[int, float] = {}
        self.factor: dict[int, float] = {}
        self._nominal_factor: dict[int, float] = {}
        self._cuts: dict[int, dict[int, str]] = {}  # pod link -> token -> cause
        self._token = 0
        self._since = 0.0
        self.lost_gpu_s: dict[str, float] = defaultdict(float)
        """GPU-seconds lost to the network, by cause (contention, or a switch fault's)."""
        self.deficit_s: dict[int, float] = defaultdict(float)
        """Per job: integral of ``1 - share`` over the time it crossed a shared link."""
        self.running_s: dict[int, float] = defaultdict(float)
        """Per job: seconds spent running (closed epochs)."""
        self._entered: dict[int, float] = {}
        self._gpus: dict[int, int] = {}  # GPUs of each crossing job (its epoch's placement)
        self.utilisation_s = 0.0
        """Integral over time of the mean utilisation of the pods' uplinks."""

    # ----------------------------------------------------------------- links
    def link_capacity(self, link: int) -> float:
        """A link's capacity now: pods are links ``0 .. pods-1``, racks follow."""
        pods = self.topology.pods
        if link >= pods:
            return self.rack_capacity
        cuts = self._cuts.get(link)
        if not cuts:
            return self.pod_capacity
        return self.pod_capacity * max(0.0, 1.0 - len(cuts) / self.cfg.planes)

    def cut_uplink(self, pod: int, cause: str, duration_s: float) -> bool:
        """A failed aggregation switch removes ``1 / planes`` of ``pod``'s uplink for a while."""
        self._token += 1
        token = self._token
        self._cuts.setdefault(pod, {})[token] = cause
        self._recompute()
        end = self.env.timeout(duration_s)
        end.callbacks.append(lambda _: self._restore(pod, token))
        return True

    def _restore(self, pod: int, token: int) -> None:
        if self.closing:
            return
        cuts = self._cuts[pod]
        del cuts[token]
        if not cuts:
            del self._cuts[pod]
        self._recompute()

    # ----------------------------------------------------------------- jobs
    def track_phase(self, job: Job) -> None:
        """Follow a job's phase: its flows exist exactly while it is running."""
        running = job.phase is JobPhase.RUNNING
        j = job.id
        if running == (j in self.running):
            return
        now = self.env.now
        if running:
            self.running[j] = job
            self._entered[j] = now
            demands = self._demands(job)
            if demands:
                self._accrue()
                self.flows[j] = demands
                self._gpus[j] = job.held_nodes * self.topology.gpus_per_node
                self._recompute(starting=j)
            return
        if j in self.flows:
            self._accrue()
            del self.flows[j]
            del self._gpus[j]
        del self.running[j]
        self.running_s[j] += now - self._entered.pop(j)
        if j not in self.share:
            return
        self._recompute()

    def job_factor(self, job: Job) -> float:
        """The job's network speed factor (1 unless it crosses a shared link)."""
        return self.factor.get(job.id, 1.0)

    def _demands(self, job: Job) -> dict[int, float]:
        """The job's demand on each link it crosses (empty: it crosses none that is shared)."""
        f = job.exposed_comm
        if f <= 0.0 or job.slot_gpus or job.held_nodes <= 1:
            return {}
        nodes = np.asarray(self.cluster.nodes_of(job.id), dtype=np.int64)
        gpn = self.topology.gpus_per_node
        total = nodes.size * gpn
        bw = self.cfg.nic_bandwidth
        uniform = self.cfg.traffic == "uniform"
        out: dict[int, float] = {}
        groups = [(0, self._node_pod)]
        if self.racks_limited:
            groups.append((self.topology.pods, self._node_rack))
        for offset, owner in groups:
            ids, counts = np.unique(owner[nodes], return_counts=True)
            if ids.size < 2:
                continue
            for link, n in zip(ids.tolist(), counts.tolist(), strict=True):
                gpus = n * gpn
                out[offset + link] = gpus * bw * ((1.0 - gpus / total) if uniform else 1.0)
        return out

    # ----------------------------------------------------------------- shares
    def _recompute(self, starting: int = -1) -> None:
        """New shares for every crossing job; tell the changed ones (not ``starting``)."""
        self._accrue()
        links = sorted({link for d in self.flows.values() for link in d})
        capacity = {link: self.link_capacity(link) for link in links}
        shares = max_min_shares(self.flows, capacity)
        if self._cuts:
            nominal_cap = {
                link: self.pod_capacity if link < self.topology.pods else self.rack_capacity
                for link in links
            }
            nominal = max_min_shares(self.flows, nominal_cap)
        else:
            nominal = shares
        jobs = self.running
        self.share = shares
        old = self.factor
        self.factor = {j: comm_speed(jobs[j].exposed_comm, s) for j, s in shares.items()}
        self._nominal_factor = {j: comm_speed(jobs[j].exposed_comm, s) for j, s in nominal.items()}
        for j in sorted(self.factor):
            if j != starting and self.factor[j] != old.get(j, 1.0):
                self.respeed(jobs[j])

    def _accrue(self) -> None:
        """Integrate losses, share deficits and utilisation from the last change to now."""
        now = self.env.now
        dt = now - self._since
        self._since = now
        if dt <= 0.0 or not self.flows:
            return
        pods = self.topology.pods
        used = dict.fromkeys(range(pods), 0.0)
        for j, demands in self.flows.items():
            s = self.share[j]
            self.deficit_s[j] += dt * (1.0 - s)
            for link, d in demands.items():
                if link < pods:
                    used[link] += s * d
            n = self.factor[j]
            gpu_dt = self._gpus[j] * dt
            n0 = self._nominal_factor[j]
            self.lost_gpu_s[CONTENTION] += gpu_dt * (1.0 - n0)
            if n0 != n:
                causes = sorted({c for link in demands for c in self._cuts.get(link, {}).values()})
                for c in causes or [CONTENTION]:
                    self.lost_gpu_s[c] += gpu_dt * (n0 - n) / max(1, len(causes))
        cap = self.pod_capacity
        self.utilisation_s += dt * sum(min(1.0, u / cap) for u in used.values()) / pods

    def mean_share(self, job_id: int) -> float | None:
        """The job's time-weighted mean bottleneck share over its running time (None: never ran)."""
        run = self.running_s.get(job_id, 0.0)
        if job_id in self._entered:
            run += self.env.now - self._entered[job_id]
        if run <= 0.0:
            return None
        return 1.0 - self.deficit_s.get(job_id, 0.0) / run

    def close(self) -> None:
        """Integrate up to the end of the run; nothing changes afterwards."""
        self._accrue()
        self.closing = True
