"""Fleet changes: expansions, retirements and refresh (replacement by new nodes).

:class:`FleetChanges` (only with a ``fleet`` section that has an expansion, a retirement or a
``refresh`` policy; docs/fleet.md) owns the fleet's timeline of size changes and each node's
replacement history: when every node was last made new (its install time, or its last
replacement), its unplanned failures since then, and each cohort's unplanned failures in the
current refresh period. It is the one writer of OUT node states through the allocator
(:meth:`~clustersim.cluster.Cluster.install` and :meth:`~clustersim.cluster.Cluster.retire`);
the fleet keeps node health and hands retiring nodes back here when they come out of repair.

Fleet-size changes are timed events from the config (no polling): one SimPy timeout per
install and per retirement, and one per refresh period when ``refresh.cohort_rate`` is set.

* **Expansion**: at the cohort's install time its OUT nodes enter service (spares first, to
  refill the hot-spare pool, then free) and the dispatcher is woken.
* **Retirement**: at install + ``retire`` the cohort leaves service. Idle and spare nodes
  go at once; so do nodes in repair or maintenance (their repair is abandoned) and
  quarantined nodes (they count as quarantined and as retired); a node held by a job is
  *drained* like planned
  maintenance (cause ``retirement``: the job writes a checkpoint, hands the node over and
  recovers on other nodes). A job that is starting or recovering loses it at once.
* **Refresh**: a replaced node's age restarts at 0 for every age-dependent source (they are
  told through ``World.watch_renewals``); its failure count restarts too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import simpy

from clustersim.cluster import Cluster, NodeState
from clustersim.cohorts import REFRESH_CAUSE, RETIRE_CAUSE, Cohorts
from clustersim.config import FleetConfig
from clustersim.events import NodesInstalled, NodesReplaced, NodesRetired

from .dispatcher import Dispatcher
from .fleet import Fleet
from .recorder import Recorder

__all__ = ["REFRESH_CAUSE", "RETIRE_CAUSE", "FleetChanges", "out_at_start"]

DAY_S = 86400.0

Renewal = Callable[[Sequence[int], float], None]


def out_at_start(cohorts: Cohorts) -> npt.NDArray[np.int64]:
    """The nodes out of service at time 0: cohorts installed later or retired already."""
    out = [
        np.arange(first, first + count, dtype=np.int64)
        for c, (first, count) in enumerate(zip(cohorts.first, cohorts.counts, strict=True))
        if cohorts.install_s[c] > 0 or cohorts.retire_at(c) <= 0
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


class FleetChanges:
    """Installs, retirements and replacements of nodes, and each node's time of renewal."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        cohorts: Cohorts,
        fleet_cfg: FleetConfig,
        *,
        fleet: Fleet,
        recorder: Recorder,
        dispatcher: Dispatcher,
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.cohorts = cohorts
        self.refresh = fleet_cfg.refresh
        self.fleet = fleet
        self.recorder = recorder
        self.dispatcher = dispatcher
        n = cluster.topology.n_nodes
        self.renewed_s = np.empty(n, dtype=np.float64)
        """When each node was last made new: its cohort's install time or its replacement."""
        for c, (first, count) in enumerate(zip(cohorts.first, cohorts.counts, strict=True)):
            self.renewed_s[first : first + count] = cohorts.install_s[c]
        self.failures = np.zeros(n, dtype=np.int64)
        """Unplanned failures of each node since it was last made new."""
        self._cohort_failures = [0] * len(cohorts.names)
        self._watchers: list[Renewal] = []
        self.retired: set[int] = set()
        """Retired nodes (OUT for good)."""
        self.replaced = 0
        """Node replacements so far."""
        fleet.retiring = set()
        fleet.on_unplanned = self._failed
        fleet.on_retired = self._retired_after_repair

    # ----------------------------------------------------------------- wiring
    def watch(self, callback: Renewal) -> bool:
        """World: register an age-dependent source to be told of replacements."""
        self._watchers.append(callback)
        return self.refresh is not None

    def start(self) -> None:
        """Schedule every install, retirement and refresh period of the run."""
        env = self.env
        for c in range(len(self.cohorts.names)):
            install, retire = self.cohorts.install_s[c], self.cohorts.retire_at(c)
            if install > 0:
                self._at(install, functools.partial(self._install, c))
            if 0 < retire < float("inf"):
                self._at(retire, functools.partial(self._retire, c))
        if self.refresh is not None and self.refresh.cohort_rate is not None:
            self._at(env.now + self.refresh.every, self._refresh_period)

    def _at(self, t: float, action: Callable[[], None]) -> None:
        timer = self.env.timeout(t - self.env.now)
        timer.callbacks.append(lambda _: None if self.fleet.closing else action())

    def _nodes(self, cohort: int) -> npt.NDArray[np.int64]:
        first = self.cohorts.first[cohort]
        return np.arange(first, first + self.cohorts.counts[cohort], dtype=np.int64)

    # ----------------------------------------------------------------- size changes
    def _install(self, cohort: int) -> None:
        """An expansion: the cohort's nodes enter service."""
        nodes = self._nodes(cohort)
        self.recorder.tick()
        spare = self.cluster.install(nodes)
        self.recorder.record(
            NodesInstalled(
                self.env.now,
                self.cluster.node_tuple(nodes),
                self.cohorts.names[cohort],
                int(spare.sum()),
            )
        )
        self.dispatcher.wake()

    def _retire(self, cohort: int) -> None:
        """The cohort reaches its retirement age: out of service now, or after a drain/repair."""
        nodes = self._nodes(cohort)
        fleet, cluster = self.fleet, self.cluster
        state = cluster.state[nodes]
        now = nodes[(state != int(NodeState.ALLOCATED)) & (state != int(NodeState.OUT))]
        held = nodes[state == int(NodeState.ALLOCATED)]
        fleet.retiring.update(held.tolist())
        if now.size:
            self.recorder.tick()
            listed = now.tolist()
            fleet.quarantined_out.update(n for n in listed if n in fleet.quarantined)
            fleet.quarantined.difference_update(listed)
            fleet.down_planned.difference_update(listed)
            cluster.retire(now)
            self._mark_retired(listed, cohort)
        if held.size:
            fleet.maintain(held.tolist(), RETIRE_CAUSE, 0.0)

    def _retired_after_repair(self, nodes: list[int]) -> None:
        """Fleet hook: retiring ``nodes`` came out of repair (or a drain); they go OUT."""
        self.cluster.retire(np.asarray(nodes, dtype=np.int64))
        by_cohort: dict[int, list[int]] = {}
        for node in nodes:
            by_cohort.setdefault(self.cohorts.cohort_of(node), []).append(node)
        for cohort, members in sorted(by_cohort.items()):
            self._mark_retired(members, cohort)

    def check(self) -> None:
        """Assert the OUT state's bookkeeping: OUT nodes are not yet installed or retired."""
        now = self.env.now
        out = set(np.flatnonzero(self.cluster.state == int(NodeState.OUT)).tolist())
        assert self.retired <= out, "a retired node is back in service"
        for node in out - self.retired:
            c = self.cohorts.cohort_of(node)
            assert self.cohorts.install_s[c] >= now, f"node {node} is OUT but installed"
        state = self.cluster.state
        for node in self.fleet.retiring:
            assert int(state[node]) in (int(NodeState.DOWN), int(NodeState.ALLOCATED)), (
                f"retiring node {node} is neither down nor held"
            )

    def _mark_retired(self, nodes: list[int], cohort: int) -> None:
        self.retired.update(nodes)
        self.recorder.record(
            NodesRetired(self.env.now, self.cluster.node_tuple(nodes), self.cohorts.names[cohort])
        )

    # ----------------------------------------------------------------- refresh
    def _failed(self, node: int) -> None:
        """Fleet hook: an unplanned failure of ``node`` (it is down now)."""
        self._cohort_failures[self.cohorts.cohort_of(node)] += 1
        self.failures[node] += 1
        refresh = self.refresh
        if (
            refresh is not None
            and refresh.node_failures is not None
            and self.failures[node] >= refresh.node_failures
            and node not in self.fleet.quarantined
        ):
            # The failed node is swapped for a new one during this repair.
            self._renew([node], "node-failures")

    def _renew(self, nodes: list[int], reason: str) -> None:
        now = self.env.now
        self.renewed_s[nodes] = now
        self.failures[nodes] = 0
        self.replaced += len(nodes)
        self.recorder.record(NodesReplaced(now, self.cluster.node_tuple(nodes), reason))
        for callback in self._watchers:
            callback(nodes, now)

    def _refresh_period(self) -> None:
        """End of a refresh period: replace a fraction of every cohort over the rate threshold."""
        refresh = self.refresh
        assert refresh is not None and refresh.cohort_rate is not None
        now, start = self.env.now, self.env.now - refresh.every
        state = self.cluster.state
        for c, failures in enumerate(self._cohort_failures):
            node_days = self.cohorts.counts[c] * self.cohorts.in_service_s(c, start, now) / DAY_S
            if node_days <= 0 or failures * 1000.0 / node_days < refresh.cohort_rate:
                continue
            nodes = self._nodes(c)
            up = nodes[(state[nodes] < int(NodeState.DOWN))]
            up = np.asarray(
                [n for n in up.tolist() if n not in self.fleet.retiring], dtype=np.int64
            )
            k = min(up.size, round(refresh.fraction * self.cohorts.counts[c]))
            if k == 0:
                continue
            # Oldest first (earliest renewal), ties to the lowest id.
            chosen = up[np.lexsort((up, self.renewed_s[up]))[:k]]
            listed = sorted(chosen.tolist())
            self.fleet.maintain(listed, REFRESH_CAUSE, refresh.swap)
            self._at(now + refresh.swap, functools.partial(self._renew, listed, "cohort-rate"))
        self._cohort_failures = [0] * len(self._cohort_failures)
        self._at(now + refresh.every, self._refresh_period)
