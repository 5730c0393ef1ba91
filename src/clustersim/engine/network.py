"""Network: shared link capacities and each running job's bottleneck share of them.

:class:`Network` owns the uplinks of the flow-level model of docs/network.md: one per pod into
the aggregation layer (``GPUs in the pod x NIC bandwidth / oversubscription``), and one per
rack into its pod when ``cluster.rack_oversubscription`` is above 1. It owns the flows of the
running jobs that cross them (demands from :mod:`clustersim.engine.traffic`), the capacity
cuts of failed aggregation switches, dual-homed ToRs and flapping NIC rails (a cut rack or
node is a link while cut), every
job's bottleneck share ``s`` (max-min fair, by progressive filling) and its network speed
factor ``1 / ((1 - f) + f / s)``, and the integrals measured from them: GPU-seconds lost to
the network by cause, per-job time-weighted share, aggregation-layer utilisation.

Shares are recomputed only when a crossing job starts or stops running (its placement is
fixed for an epoch) or a link's capacity changes, never per step. A change of a job's factor
reaches its process through ``respeed`` (the degradations component, which owns job speeds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import numpy as np
import simpy

from clustersim.cluster import Cluster
from clustersim.config import NetworkConfig
from clustersim.events import CapacityCut, CapacityRestored, Event
from clustersim.job import Job, JobPhase
from clustersim.topology import Topology

from .traffic import Profile, comm_speed, group_demands, max_min_shares, node_demand

__all__ = ["CONTENTION", "Network", "comm_speed", "max_min_shares"]

CONTENTION = "network-contention"
"""The cause GPU-seconds lost to sharing links at nominal capacity are charged to."""


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
        record: Callable[[Event], None],
    ) -> None:
        self.env = env
        self.record = record
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
        self._node0 = topo.pods + topo.n_racks  # the first node link
        self._node_pod = topo.node_pod()
        self._pod_list: list[int] = self._node_pod.tolist()
        self._node_rack = topo.node_rack()
        self.flows: dict[int, dict[int, float]] = {}
        """Running jobs that cross a link: job id -> link -> demand (bytes/s)."""
        self._on_link: dict[int, set[int]] = defaultdict(set)
        """Link -> the crossing jobs with a demand on it."""
        self.running: dict[int, Job] = {}
        self.share: dict[int, float] = {}
        self.factor: dict[int, float] = {}
        self._cuts: dict[int, dict[int, tuple[str, float]]] = {}  # link -> token -> cause, cut
        self._token = 0
        self.lost_gpu_s: dict[str, float] = defaultdict(float)
        """GPU-seconds lost to the network, by cause (contention, or a fault's)."""
        self.deficit_s: dict[int, float] = defaultdict(float)
        """Per job: integral of ``1 - share`` over the time it crossed a shared link."""
        self.running_s: dict[int, float] = defaultdict(float)
        """Per job: seconds spent running (closed epochs)."""
        self._entered: dict[int, float] = {}
        self._gpus: dict[int, int] = {}  # GPUs of each crossing job (its epoch's placement)
        self._held: dict[int, np.ndarray] = {}  # a running job's nodes, once looked up
        self._freed: list[int] = []  # running jobs that stopped crossing: back to factor 1
        self._stamp: dict[int, float] = {}  # crossing job -> when its integrals were last taken
        self._loss: dict[int, list[tuple[str, float]]] = {}  # crossing job -> (cause, GPU/s)
        self._used = [0.0] * topo.pods  # carried traffic on each pod uplink now
        self._util = 0.0  # mean utilisation of the pod uplinks now
        self._since = 0.0
        self.utilisation_s = 0.0
        """Integral over time of the mean utilisation of the pods' uplinks."""
        self.utilisation_series: tuple[list[float], list[float]] = ([0.0], [0.0])
        """The mean pod-uplink utilisation as an exact step function: (change times, value
        from that time on)."""

    # ----------------------------------------------------------------- links
    def nominal_capacity(self, link: int) -> float:
        """A link's capacity with nothing failed.

        Pods are links ``0 .. pods-1``, racks follow (``pods + rack``), then nodes
        (``pods + racks + node``: a node's NICs, a link only while one of its rails is cut).
        """
        if link < self.topology.pods:
            return self.pod_capacity
        if link < self._node0:
            return self.rack_capacity
        return self.topology.gpus_per_node * self.cfg.nic_bandwidth

    def link_capacity(self, link: int) -> float:
        """A link's capacity now: nominal less what its active cuts remove."""
        nominal = self.nominal_capacity(link)
        cuts = self._cuts.get(link)
        if not cuts:
            return nominal
        return nominal * max(0.0, 1.0 - sum(cut for _, cut in cuts.values()))

    def cut_uplink(self, pod: int, cause: str, duration_s: float) -> bool:
        """A failed aggregation switch removes ``1 / planes`` of ``pod``'s uplink for a while."""
        self._cut(pod, cause, 1.0 / self.cfg.planes, duration_s)
        return True

    def cut_rack(self, rack: int, fraction: float, cause: str, duration_s: float) -> bool:
        """Remove ``fraction`` of ``rack``'s uplink (ToR) capacity for ``duration_s``.

        A failed ToR of a dual-homed rack removes half (the other ToR carries on); a flapping
        uplink removes one plane. Racks whose uplinks are otherwise not modelled (non-blocking
        ToRs) become a link while cut: jobs spanning the rack and others then cross it.
        """
        self._cut(self.topology.pods + rack, cause, fraction, duration_s)
        return True

    def cut_node(self, node: int, fraction: float, cause: str, duration_s: float) -> bool:
        """Remove ``fraction`` of ``node``'s NIC capacity (a flapping rail) for ``duration_s``.

        The node becomes a link while cut: a multi-node job on it sends all its NIC traffic
        through it, so its share drops to what is left.
        """
        self._cut(self._node0 + node, cause, fraction, duration_s)
        return True

    def _scope(self, link: int) -> tuple[Literal["pod", "rack", "node"], int]:
        """What ``link`` is (pod uplink, rack uplink or node NICs) and which one."""
        pods = self.topology.pods
        if link < pods:
            return "pod", link
        if link < self._node0:
            return "rack", link - pods
        return "node", link - self._node0

    def _dynamic(self, link: int) -> bool:
        """Whether ``link`` is a link only while cut (a non-blocking rack, or a node)."""
        return link >= self._node0 or (link >= self.topology.pods and not self.racks_limited)

    def _cut(self, link: int, cause: str, fraction: float, duration_s: float) -> None:
        self._token += 1
        token = self._token
        first = link not in self._cuts
        self._cuts.setdefault(link, {})[token] = (cause, fraction)
        scope, ident = self._scope(link)
        self.record(CapacityCut(self.env.now, token, scope, ident, fraction, cause))
        links = self._refresh(link) if first and self._dynamic(link) else set()
        if link in self._on_link or links:
            self._recompute(links | {link})
        end = self.env.timeout(duration_s)
        end.callbacks.append(lambda _: self._restore(link, token))

    def _restore(self, link: int, token: int) -> None:
        if self.closing:
            return
        cuts = self._cuts[link]
        del cuts[token]
        self.record(CapacityRestored(self.env.now, token))
        links: set[int] = set()
        carried = link in self._on_link
        if not cuts:
            del self._cuts[link]
            if self._dynamic(link):
                links = self._refresh(link)
        if carried or links:
            self._recompute(links | {link})

    def _refresh(self, link: int) -> set[int]:
        """The running jobs' demands on a rack or node whose link appears or goes.

        Returns the links of the jobs whose flows changed (their shares must be refilled).
        """
        topo = self.topology
        if link >= self._node0:
            nodes: range | tuple[int, ...] = (link - self._node0,)
        else:
            nodes = topo.nodes_of_rack(link - topo.pods)
        jobs_on = self.cluster.jobs_on
        ids = sorted({j for n in nodes for j in jobs_on(n)})
        exists = link in self._cuts
        touched: set[int] = set()
        for j in ids:
            job = self.running.get(j)
            if job is None or job.exposed_comm <= 0.0 or job.slot_gpus or job.held_nodes <= 1:
                continue
            demands = dict(self.flows.get(j, {}))
            demands.pop(link, None)
            if exists:
                self._cut_link_demand(job, self._nodes_array(j), link, demands)
            if demands != self.flows.get(j, {}):
                self._integrate_job(j)
                touched |= self._set_flows(j, demands)
        return touched

    def _set_flows(self, j: int, demands: dict[int, float]) -> set[int]:
        """Replace job ``j``'s flows; returns the links it left or joined (or both)."""
        old = self.flows.pop(j, {})
        for link in old:
            members = self._on_link[link]
            members.discard(j)
            if not members:
                del self._on_link[link]
        if demands:
            self.flows[j] = demands
            for link in demands:
                self._on_link[link].add(j)
            self._stamp.setdefault(j, self.env.now)
            self._gpus[j] = self.running[j].held_nodes * self.topology.gpus_per_node
        else:
            for table in (self._stamp, self._loss, self._gpus, self.share):
                table.pop(j, None)
            if self.factor.pop(j, 1.0) != 1.0 and j in self.running:
                self._freed.append(j)
        return set(old) | set(demands)

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
                self._recompute(self._set_flows(j, demands), starting=j)
            return
        if j in self.flows:
            self._integrate_job(j)
            del self.running[j]
            self._recompute(self._set_flows(j, {}))
        else:
            del self.running[j]
        self._held.pop(j, None)
        self.running_s[j] += now - self._entered.pop(j)

    def job_factor(self, job: Job) -> float:
        """The job's network speed factor (1 unless it crosses a shared link)."""
        return self.factor.get(job.id, 1.0)

    def _demands(self, job: Job) -> dict[int, float]:
        """The job's demand on each link it crosses (empty: it crosses none that is shared)."""
        if job.exposed_comm <= 0.0 or job.slot_gpus or job.held_nodes <= 1:
            return {}
        held = self.cluster.nodes_of(job.id)
        pods = self.topology.pods
        if not self.racks_limited and not self._cuts and len(held) <= 64:
            pod_of = self._pod_list
            first = pod_of[held[0]]
            if all(pod_of[n] == first for n in held):
                return {}  # inside one pod, and no rack or node link exists
        nodes = self._held[job.id] = np.asarray(held, dtype=np.int64)
        out: dict[int, float] = {}
        profile = self._profile(job)
        group_demands(profile, self._node_pod[nodes], 0, out)
        if self.racks_limited:
            group_demands(profile, self._node_rack[nodes], pods, out)
        for link in self._cuts:
            if link >= pods and self._dynamic(link):
                self._cut_link_demand(job, nodes, link, out)
        return out

    def _nodes_array(self, j: int) -> np.ndarray:
        """The running job's nodes (sorted; fixed for its epoch, so kept while it runs)."""
        nodes = self._held.get(j)
        if nodes is None:
            nodes = self._held[j] = np.asarray(self.cluster.nodes_of(j), dtype=np.int64)
        return nodes

    def _cut_link_demand(
        self, job: Job, nodes: np.ndarray, link: int, out: dict[int, float]
    ) -> None:
        """The job's demand on a rack or node that is a link only while cut (into ``out``)."""
        if link >= self._node0:
            node = link - self._node0
            p = int(np.searchsorted(nodes, node))
            if p < nodes.size and nodes[p] == node:
                d = node_demand(self._profile(job), p, nodes.size)
                if d > 0.0:
                    out[link] = d
            return
        else:
            inside = self._node_rack[nodes] == link - self.topology.pods
        if inside.any():
            group_demands(self._profile(job), inside.astype(np.int64), link - 1, out, only=1)

    def _profile(self, job: Job) -> Profile:
        """The job's traffic profile: its own overrides, else the network section's."""
        cfg = self.cfg
        return Profile(
            job.traffic or cfg.traffic,
            job.replica_gpus or cfg.replica_gpus,
            cfg.pipeline_share,
            self.topology.gpus_per_node,
            cfg.nic_bandwidth,
        )

    # ----------------------------------------------------------------- shares
    def _component(self, links: set[int]) -> tuple[list[int], list[int]]:
        """The links and crossing jobs connected to ``links`` through shared jobs (sorted)."""
        on_link = self._on_link
        flows = self.flows
        seen_links = {link for link in links if link in on_link}
        seen_jobs: set[int] = set()
        todo = list(seen_links)
        while todo:
            link = todo.pop()
            for j in on_link[link]:
                if j in seen_jobs:
                    continue
                seen_jobs.add(j)
                for other in flows[j]:
                    if other not in seen_links:
                        seen_links.add(other)
                        todo.append(other)
        return sorted(seen_links), sorted(seen_jobs)

    def _recompute(self, links: set[int], starting: int = -1) -> None:
        """New shares for the crossing jobs connected to ``links``; tell the changed ones.

        Max-min shares of jobs that share no link (directly or through other jobs) are
        independent, so only the connected component of the links whose job set or capacity
        changed is refilled; every other job keeps its share.
        """
        comp_links, comp_jobs = self._component(links)
        self._accrue()
        for j in comp_jobs:
            self._integrate_job(j)
        flows = {j: self.flows[j] for j in comp_jobs}
        capacity = {link: self.link_capacity(link) for link in comp_links}
        shares = max_min_shares(flows, capacity)
        cut = [link for link in comp_links if link in self._cuts]
        if cut:
            nominal_cap = {link: self.nominal_capacity(link) for link in comp_links}
            nominal = max_min_shares(flows, nominal_cap)
        else:
            nominal = shares
        jobs = self.running
        changed: list[int] = []
        for j in comp_jobs:
            s = shares.get(j, 1.0)
            f = jobs[j].exposed_comm
            factor = comm_speed(f, s)
            n0 = comm_speed(f, nominal.get(j, 1.0))
            gpus = self._gpus[j]
            loss = [(CONTENTION, gpus * (1.0 - n0))]
            if n0 != factor:
                # The cuts on its own links; else (a cut elsewhere moved its competitors) the
                # cuts anywhere in its component.
                causes = _causes(self._cuts, flows[j]) or _causes(self._cuts, comp_links)
                extra = gpus * (n0 - factor)
                loss.extend((c, extra / len(causes)) for c in causes)
            self._loss[j] = loss
            self.share[j] = s
            if factor != self.factor.get(j, 1.0):
                changed.append(j)
            self.factor[j] = factor
        self._update_utilisation(set(comp_links) | {link for link in links})
        freed, self._freed = self._freed, []
        for j in sorted(changed + freed):
            if j != starting:
                self.respeed(jobs[j])

    def _update_utilisation(self, links: set[int]) -> None:
        """Carried traffic of the changed pod uplinks, and the mean utilisation's next step."""
        pods = self.topology.pods
        flows, share = self.flows, self.share
        for link in links:
            if link < pods:
                self._used[link] = sum(
                    share[j] * flows[j][link] for j in sorted(self._on_link.get(link, ()))
                )
        cap = self.pod_capacity
        util = sum(min(1.0, u / cap) for u in self._used) / pods
        if util != self._util:
            self._util = util
            times, values = self.utilisation_series
            now = self.env.now
            if times[-1] == now:  # several changes at one instant: the last one holds
                values[-1] = util
                if len(values) > 1 and values[-2] == util:
                    times.pop()
                    values.pop()
            else:
                times.append(now)
                values.append(util)

    def _integrate_job(self, j: int) -> None:
        """Integrate job ``j``'s losses and share deficit from its last stamp to now."""
        now = self.env.now
        since = self._stamp.get(j)
        self._stamp[j] = now
        if since is None or now <= since or j not in self.share:
            return
        dt = now - since
        self.deficit_s[j] += dt * (1.0 - self.share[j])
        lost = self.lost_gpu_s
        for cause, rate in self._loss[j]:
            lost[cause] += rate * dt

    def _accrue(self) -> None:
        """Integrate the aggregation layer's utilisation from the last change to now."""
        now = self.env.now
        dt = now - self._since
        self._since = now
        if dt > 0.0:
            self.utilisation_s += dt * self._util

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
        for j in sorted(self.flows):
            self._integrate_job(j)
        self.closing = True


def _causes(cuts: Mapping[int, Mapping[int, tuple[str, float]]], links: Iterable[int]) -> list[str]:
    """The causes of the active cuts on ``links`` (sorted, each once)."""
    return sorted({c for link in links for c, _ in cuts.get(link, {}).values()})
