"""Node state and the gang allocator: which node is free, spare, allocated or down, and to whom.

The :class:`Cluster` owns every node's state and owner, the hot-spare pool, and per-rack and
per-pod free counters so that placement decisions look at racks and pods, never at individual
nodes in Python loops. It is time-free: the engine calls it when something happens and
integrates levels (GPUs allocated, free, down) itself.

Placement rule (documented in ``docs/``): a job of ``n`` nodes goes into a single pod whenever
some pod has ``n`` free nodes, because cross-pod traffic crosses the oversubscribed aggregation
layer; among such pods the one needing the fewest racks wins, ties to the pod with the least
free capacity (best fit), then the lowest id. Otherwise it spans the fewest pods (largest pods
first) and the last pod is chosen by the same rule for the remainder. Inside a pod, racks with
the most free nodes are taken first and the last rack is the best fit for what remains; inside
a rack the lowest node ids go first. Everything is sorted, so placement is deterministic.

GPU sharing (``share_gpus``): a job smaller than a node takes a *slot* of its GPUs on a
shared node instead of a whole node, packed best-fit as Slurm's GPU GRES selection does: the
shared node with the fewest free GPUs that still hold the job, ties to the node that became
shared first (so that a policy, which sees shared nodes in that order, can tell where each
job will go); when none has room, a FREE node chosen by the placement rule above becomes
shared. A shared
node is ALLOCATED with owner :data:`SHARED`; its tenants and free GPUs are kept here, and it
returns to FREE (or the spare pool) when its last tenant leaves. Jobs of a node or more
always take whole nodes. Spares are never shared: a sub-node job whose node failed gets a
new slot the same way, from shared nodes or FREE nodes.

Size: one module (over 500 lines) because :class:`Cluster` is the single writer of the node
state arrays and of the per-rack and per-pod free counters derived from them; every change
goes through ``_set_state`` so that the counters and the state can never disagree (checked
by :meth:`Cluster.check` and the allocator's stateful property test). Splitting placement
from state would give two objects write access to the same arrays, and the placement hot
paths are written against the arrays directly for speed (``bench/NOTES.md``).
"""

from __future__ import annotations

import array
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from clustersim.config.models import PLACEMENTS
from clustersim.frozen import quick_init
from clustersim.topology import Topology

__all__ = ["PLACEMENTS", "SHARED", "Cluster", "NodeState", "Placement"]

# PLACEMENTS, the rules for new jobs (``cluster.placement``): the topology-aware rule of the
# module docstring (default); ``first-fit``, the lowest-id FREE nodes whatever their racks;
# ``spread``, one node per rack in turn, racks with the most FREE nodes first (ties to the
# lowest id), so a job spans as many racks as it can. Replacements for failed nodes follow
# :meth:`Cluster.take_replacements`'s near-first rule (spares, then the job's racks and pods)
# under every placement.

IntArray = npt.NDArray[np.int64]

SHARED = -2
"""The owner of a shared node (its tenants are in :meth:`Cluster.jobs_on`)."""


class NodeState(IntEnum):
    """The service state of one node.

    ``OUT`` is out of service: a node of a cohort not yet installed (an expansion) or
    retired (docs/fleet.md). It is neither free nor down; no job, failure or repair touches
    it, and the GPU-seconds identity's total counts only nodes in service.
    """

    FREE = 0
    SPARE = 1
    ALLOCATED = 2
    DOWN = 3
    OUT = 4


_FREE = int(NodeState.FREE)
_SPARE = int(NodeState.SPARE)
_ALLOCATED = int(NodeState.ALLOCATED)
_DOWN = int(NodeState.DOWN)
_OUT = int(NodeState.OUT)
_N_STATES = len(NodeState)
_EMPTY: IntArray = np.zeros(0, dtype=np.int64)
_BIG = np.iinfo(np.int64).max
# Node sets up to this size change state through a scalar loop (cheaper than numpy set-up).
_SCALAR_MAX = 24
_FEW_RACKS = 4  # node picks of up to this many racks walk the state buffer in Python
_SPAN_MIN = 64  # jobs above this many nodes keep their span counts (Cluster._span)


@quick_init
@dataclass(frozen=True, slots=True)
class Placement:
    """Where a job's nodes are: the sorted node ids and how many racks and pods they span."""

    nodes: tuple[int, ...]
    racks: int
    pods: int


class Cluster:
    """Owns every node's state and owner, the hot-spare pool and the free-capacity counters.

    Attributes:
        topology: The machine's shape.
        state: ``NodeState`` of every node (int8, length ``n_nodes``).
        owner: Job id holding every node, ``-1`` when none (int32).
        free_per_rack: FREE nodes in each rack (int64, length ``n_racks``).
        free_per_pod: FREE nodes in each pod (int64, length ``pods``).
        spare_per_pod: SPARE nodes in each pod (int64, length ``pods``).

    The arrays are exposed for cheap read access; only the methods below mutate them. Each is
    a numpy view of a Python buffer (``bytearray``, ``array.array``) that the scalar hot paths
    index directly: one memory, two ways in (copies rebuild the views, ``__setstate__``).
    """

    def __init__(
        self,
        topology: Topology,
        *,
        spare_nodes: int = 0,
        placement: str = "topology",
        share_gpus: bool = False,
        out_nodes: Iterable[int] = (),
    ) -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {placement!r} (known: {', '.join(PLACEMENTS)})")
        self.placement = placement
        n = topology.n_nodes
        if not 0 <= spare_nodes <= n:
            raise ValueError(f"spare_nodes must be in [0, {n}], got {spare_nodes}")
        self.topology = topology
        self._spare_target = spare_nodes
        self._node_rack = topology.node_rack()
        self._node_pod = topology.node_pod()
        self._npr = topology.nodes_per_rack
        # The node-state arrays and counters are numpy views of Python buffers (_bind_views):
        # the scalar hot paths index the buffer (a bytearray or array.array element costs
        # 15-40 ns, a numpy scalar access 55-170 ns), the vector paths the view, and both see
        # the same memory.
        self._state_buf = bytearray(n)  # every node FREE (0)
        self._owner_buf = array.array("i", [-1]) * n
        self._free_rack_buf = _zeros(topology.n_racks)
        self._free_pod_buf = _zeros(topology.pods)
        self._spare_pod_buf = _zeros(topology.pods)
        self._hist_buf = _zeros(topology.pods * (self._npr + 1))
        self._bind_views()
        # Spares come from the end of the id range so that jobs pack from the start (the
        # end of the nodes in service when some start out of service).
        out = np.fromiter(out_nodes, dtype=np.int64)
        if out.size:
            self.state[out] = _OUT
            in_service = np.flatnonzero(self.state == _FREE)
            if spare_nodes > in_service.size:
                raise ValueError(
                    f"spare_nodes {spare_nodes} exceeds the {in_service.size} nodes in service"
                )
            self.state[in_service[in_service.size - spare_nodes :]] = _SPARE
        else:
            self.state[n - spare_nodes :] = _SPARE
        free = self.state == _FREE
        np.add.at(self.free_per_rack, self._node_rack[free], 1)
        np.add.at(self.free_per_pod, self._node_pod[free], 1)
        np.add.at(self.spare_per_pod, self._node_pod[self.state == _SPARE], 1)
        # Nodes per state, as Python ints (read on every tick and dispatch: no numpy scalars).
        self._counts: list[int] = np.bincount(
            self.state.astype(np.int64), minlength=_N_STATES
        ).tolist()
        self._jobs: dict[int, set[int]] = {}
        # Jobs of more than _SPAN_MIN nodes that have asked for replacements: their nodes per
        # rack and per pod, kept up to date on every change of their node set, so that a
        # replacement does not rebuild them from the set (a 4,096-node job paid ~170 us).
        self._span: dict[int, tuple[IntArray, IntArray]] = {}
        # Cached shape and Python-list lookups for the scalar hot paths.
        self._n_nodes = topology.n_nodes
        self._rpp = topology.racks_per_pod
        self._all_pods: IntArray = np.arange(topology.pods, dtype=np.int64)
        self._rack_list: list[int] = self._node_rack.tolist()
        # One int object per node id, shared by every tuple of node ids the cluster hands out
        # (placements, replacements, maintenance batches): a tuple then costs 8 bytes per node
        # instead of 8 + 28 for a fresh int. The event log keeps millions of them.
        self._node_ids: list[int] = list(range(n))
        # The same int objects in an object array: an array of ids maps to them in C.
        self._node_objs: npt.NDArray[np.object_] = np.array(self._node_ids, dtype=object)
        self._pod_list: list[int] = self._node_pod.tolist()
        self._rack_pod: IntArray = topology.rack_pod().astype(np.int64)
        self._hist_key: IntArray = self._rack_pod * (self._npr + 1)
        # _rack_hist[p, f]: racks of pod p with exactly f FREE nodes (kept by _set_state); each
        # rack's row offset in it flat (for the scalar path, which indexes _hist_buf).
        self._rebuild_rack_hist()
        self._hist_row: list[int] = self._hist_key.tolist()
        # _spares_in_pod[p]: the SPARE nodes of pod p (kept by _set_state), so replacement
        # picks look at the few spares instead of scanning every node of every pod.
        self._spares_in_pod: list[set[int]] = [set() for _ in range(topology.pods)]
        for node in np.flatnonzero(self.state == _SPARE).tolist():
            self._spares_in_pod[self._pod_list[node]].add(node)
        # GPU sharing (module docstring): the tenants of each shared node (job -> GPUs), its
        # free GPUs, when it became shared (a sequence number), and per free count k the
        # shared nodes with k free GPUs, as a set and a lazy min-heap of (sequence, node)
        # (stale heap entries are skipped when read).
        self.share_gpus = share_gpus
        self._gpn = topology.gpus_per_node
        self._tenants: dict[int, dict[int, int]] = {}
        self._slot_free: dict[int, int] = {}
        self._shared_seq: dict[int, int] = {}
        self._next_seq = 0
        self._with_free: list[set[int]] = [set() for _ in range(self._gpn)]
        self._with_free_heap: list[list[tuple[int, int]]] = [[] for _ in range(self._gpn)]
        self._slot_jobs: dict[int, int] = {}  # sub-node job -> its GPUs
        self._closed: set[int] = set()  # shared nodes taking no new tenant (maintenance)
        self._slack = 0

    _VIEWS = (
        "state", "owner", "free_per_rack", "free_per_pod", "spare_per_pod", "_rack_hist",
        "_rack_hist_flat",
    )  # fmt: skip
    """The attributes :meth:`_bind_views` sets: numpy views of the buffers."""

    def _bind_views(self) -> None:
        """Make the numpy arrays views of the buffers (at start-up, and on a copy's own)."""
        self.state: npt.NDArray[np.int8] = np.frombuffer(self._state_buf, dtype=np.int8)
        self.owner: npt.NDArray[np.int32] = np.frombuffer(self._owner_buf, dtype=np.int32)
        self.free_per_rack: IntArray = np.frombuffer(self._free_rack_buf, dtype=np.int64)
        self.free_per_pod: IntArray = np.frombuffer(self._free_pod_buf, dtype=np.int64)
        self.spare_per_pod: IntArray = np.frombuffer(self._spare_pod_buf, dtype=np.int64)
        self._rack_hist_flat: IntArray = np.frombuffer(self._hist_buf, dtype=np.int64)
        self._rack_hist: IntArray = self._rack_hist_flat.reshape(-1, self._npr + 1)

    def __getstate__(self) -> dict[str, object]:
        """Pickle and deep-copy the buffers only: the numpy views are rebuilt on them."""
        kept = dict(self.__dict__)
        for name in self._VIEWS:
            del kept[name]
        return kept

    def __setstate__(self, kept: dict[str, object]) -> None:
        self.__dict__.update(kept)
        self._bind_views()

    # ----------------------------------------------------------------- read-only views
    @property
    def n_free(self) -> int:
        """Number of FREE nodes (available to new jobs)."""
        return self._counts[_FREE]

    @property
    def n_spare(self) -> int:
        """Number of SPARE nodes (reserved for replacing failed nodes of running jobs)."""
        return self._counts[_SPARE]

    @property
    def n_allocated(self) -> int:
        """Number of ALLOCATED nodes."""
        return self._counts[_ALLOCATED]

    @property
    def n_down(self) -> int:
        """Number of DOWN nodes (failed, awaiting repair)."""
        return self._counts[_DOWN]

    @property
    def n_out(self) -> int:
        """Number of OUT nodes (not yet installed, or retired)."""
        return self._counts[_OUT]

    @property
    def n_shared(self) -> int:
        """Number of shared nodes (ALLOCATED with owner :data:`SHARED`)."""
        return len(self._tenants)

    @property
    def slack_gpus(self) -> int:
        """Free GPUs on shared nodes: allocated nodes' GPUs that no job holds."""
        return self._slack

    def free_slots(self) -> tuple[int, ...]:
        """Shared nodes by free GPUs: element ``k`` counts those with ``k`` free (0 unused)."""
        return (0, *(len(nodes) for nodes in self._with_free[1:]))

    def shared_nodes(self) -> tuple[tuple[int, int], ...]:
        """``(node, free GPUs)`` of every shared node, in the order they became shared.

        A node closed for maintenance shows no free GPU (it takes no new tenant).
        """
        closed = self._closed
        if not closed:
            return tuple(self._slot_free.items())  # dicts keep insertion order
        return tuple((n, 0 if n in closed else f) for n, f in self._slot_free.items())

    def slot_fits(self, gpus: int) -> bool:
        """Whether a new ``gpus``-GPU slot fits now (a shared node or a FREE node has room)."""
        return self.n_free > 0 or self._best_slot(gpus) is not None

    def slot_gpus(self, job_id: int) -> int:
        """GPUs of ``job_id``'s slot when it is a sub-node job on a shared node, else 0."""
        return self._slot_jobs.get(job_id, 0)

    def owner_of(self, node: int) -> int:
        """The id of the job holding ``node``, :data:`SHARED` for a shared node, or -1."""
        return self._owner_buf[node]

    def jobs_on(self, node: int) -> tuple[int, ...]:
        """The jobs holding GPUs of ``node``: its owner, or a shared node's tenants (sorted)."""
        owner = self._owner_buf[node]
        if owner >= 0:
            return (owner,)
        if owner == SHARED:
            return tuple(sorted(self._tenants[node]))
        return ()

    @property
    def spare_target(self) -> int:
        """Size the hot-spare pool is refilled to by :meth:`release` and :meth:`repair`."""
        return self._spare_target

    @property
    def job_ids(self) -> tuple[int, ...]:
        """Ids of the jobs currently holding an allocation (sorted)."""
        return tuple(sorted(self._jobs))

    def has_job(self, job_id: int) -> bool:
        """Return whether ``job_id`` holds an allocation (possibly emptied by failures)."""
        return job_id in self._jobs

    def is_up(self, node: int) -> bool:
        """Return whether ``node`` is up: in service and not DOWN (not OUT either)."""
        if not 0 <= node < self._n_nodes:
            _check_node(node, self._n_nodes)  # raises
        return self._state_buf[node] < _DOWN

    def nodes_of(self, job_id: int) -> tuple[int, ...]:
        """Return the nodes ``job_id`` holds now (sorted); KeyError for an unknown job."""
        return tuple(sorted(self._jobs[job_id]))

    def placement_of(self, job_id: int) -> Placement:
        """Return the nodes ``job_id`` holds now and the racks and pods they span."""
        nodes = self.nodes_of(job_id)
        if len(nodes) <= 64:
            rack_of, pod_of = self._rack_list, self._pod_list
            racks = len({rack_of[node] for node in nodes})
            pods = len({pod_of[node] for node in nodes})
            return Placement(nodes=nodes, racks=racks, pods=pods)
        index = np.asarray(nodes, dtype=np.int64)
        racks = int(np.count_nonzero(np.bincount(self._node_rack[index])))
        pods = int(np.count_nonzero(np.bincount(self._node_pod[index])))
        return Placement(nodes=nodes, racks=racks, pods=pods)

    # ----------------------------------------------------------------- allocation
    def allocate(self, job_id: int, n_nodes: int) -> Placement | None:
        """Gang-allocate exactly ``n_nodes`` FREE nodes to a new job, or return None.

        Spares are never used for new jobs. Returns None (and changes nothing) when fewer than
        ``n_nodes`` nodes are FREE. See the module docstring for the placement rule.

        Raises:
            ValueError: ``n_nodes`` < 1 or ``job_id`` already holds an allocation.
        """
        if n_nodes < 1:
            raise ValueError(f"n_nodes must be >= 1, got {n_nodes}")
        if job_id in self._jobs:
            raise ValueError(f"job {job_id} already holds an allocation")
        if n_nodes > self.n_free:
            return None
        if self.placement != "topology":
            return self._allocate_by_rule(job_id, n_nodes)
        if n_nodes <= self._npr:
            placed = self._allocate_in_one_rack(job_id, n_nodes)
            if placed is not None:
                return placed
        racks, takes = self._choose_racks(self._all_pods, n_nodes)
        self._jobs[job_id] = set()
        nodes = self._take_and_assign(job_id, [], [(racks, takes)])
        # Racks are distinct (whole pods, then picked racks of another pod); drop empty takes.
        used = racks[takes > 0]
        pods = int(np.count_nonzero(np.bincount(used // self._rpp)))
        return Placement(nodes=nodes, racks=int(used.size), pods=int(pods))

    def allocate_slot(self, job_id: int, gpus: int) -> Placement | None:
        """Give a new sub-node job ``gpus`` GPUs on a shared node, or return None.

        Best fit among the shared nodes (fewest free GPUs that hold ``gpus``, then the node
        shared first); else a FREE node chosen by the placement rule becomes shared. Returns
        None (and changes nothing) when neither exists.

        Raises:
            ValueError: sharing is off, ``gpus`` is not in [1, gpus per node), or ``job_id``
                already holds an allocation.
        """
        if not self.share_gpus:
            raise ValueError("GPU sharing is off for this cluster")
        if not 1 <= gpus < self._gpn:
            raise ValueError(f"a slot must have 1 to {self._gpn - 1} GPUs, got {gpus}")
        if job_id in self._jobs:
            raise ValueError(f"job {job_id} already holds an allocation")
        node = self._best_slot(gpus)
        if node is None:
            if self.n_free == 0:
                return None
            placed = self.allocate(job_id, 1)
            assert placed is not None
            node = placed.nodes[0]
            self.owner[node] = SHARED
            self._tenants[node] = {}
            self._slot_free[node] = self._gpn
            self._shared_seq[node] = self._next_seq
            self._next_seq += 1
            self._slack += self._gpn
        else:
            self._jobs[job_id] = {node}
        self._slot_jobs[job_id] = gpus
        self._enter_slot(node, job_id, gpus)
        return Placement(nodes=(self._node_ids[node],), racks=1, pods=1)

    def _best_slot(self, gpus: int) -> int | None:
        """The shared node a ``gpus``-GPU slot goes to by best fit, or None."""
        seq_of = self._shared_seq
        for k in range(gpus, self._gpn):
            members, heap = self._with_free[k], self._with_free_heap[k]
            while heap and (heap[0][1] not in members or seq_of[heap[0][1]] != heap[0][0]):
                heapq.heappop(heap)  # a stale entry: the node left this bucket since
            if heap:
                return heap[0][1]
        return None

    def _set_slot_free(self, node: int, free: int) -> None:
        """Move shared ``node`` to the bucket of ``free`` free GPUs (full and empty: none)."""
        old = self._slot_free[node]
        if 0 < old < self._gpn:
            self._with_free[old].discard(node)
        if 0 < free < self._gpn and node not in self._closed:
            self._with_free[free].add(node)
            heapq.heappush(self._with_free_heap[free], (self._shared_seq[node], node))
        self._slot_free[node] = free

    def _enter_slot(self, node: int, job_id: int, gpus: int) -> None:
        self._tenants[node][job_id] = gpus
        self._set_slot_free(node, self._slot_free[node] - gpus)
        self._slack -= gpus

    def _unshare(self, node: int) -> None:
        """Forget shared ``node``'s tenants and slack; it keeps its state, owner none."""
        for tenant in self._tenants.pop(node):
            self._jobs[tenant].discard(node)
        self._set_slot_free(node, 0)
        del self._slot_free[node]
        del self._shared_seq[node]
        self._closed.discard(node)
        self.owner[node] = -1

    def close_shared(self, node: int) -> None:
        """Take no new tenant on shared ``node`` (it is due for maintenance)."""
        if node in self._tenants:
            free = self._slot_free[node]
            self._set_slot_free(node, 0)
            self._closed.add(node)
            self._slot_free[node] = free

    def vacate_slot(self, job_id: int) -> int:
        """A sub-node job leaves its slot while other tenants stay; returns the node.

        The job keeps its allocation record with no node (like a job whose node failed);
        the node keeps its other tenants. Raises KeyError unless ``job_id`` is a sub-node
        job on a node with another tenant.
        """
        (node,) = self._jobs[job_id]
        tenants = self._tenants[node]
        if len(tenants) < 2:
            raise KeyError(f"job {job_id} is the last tenant of node {node}")
        gpus = tenants.pop(job_id)
        self._jobs[job_id].discard(node)
        self._slack += gpus
        self._set_slot_free(node, self._slot_free[node] + gpus)
        return node

    def _allocate_by_rule(self, job_id: int, n: int) -> Placement:
        """``first-fit`` or ``spread`` placement of ``n`` <= FREE nodes (see PLACEMENTS)."""
        if self.placement == "first-fit":
            nodes = np.flatnonzero(self.state == _FREE)[:n].astype(np.int64)
        else:
            left = self.free_per_rack.copy()
            takes = np.zeros_like(left)
            need = n
            while need > 0:
                racks = (left > 0).nonzero()[0]
                order = np.lexsort((racks, -left[racks]))[:need]
                takes[racks[order]] += 1
                left[racks[order]] -= 1
                need -= order.size
            used = takes.nonzero()[0]
            nodes = self._take_free(used, takes[used])
        self._jobs[job_id] = set()
        self._assign(job_id, nodes)
        return self.placement_of(job_id)

    def _allocate_in_one_rack(self, job_id: int, n: int) -> Placement | None:
        """Fast path of the placement rule when some rack has ``n`` FREE nodes (``n`` <= rack).

        Returns None (changing nothing) when no rack has ``n`` FREE nodes, leaving the
        general rule to span racks.
        """
        rack = self._one_rack(n, None)
        if rack < 0:
            return None
        npr = self._npr
        base = rack * npr
        states = self._state_buf[base : base + npr]
        chosen = [base + i for i, state in enumerate(states) if state == _FREE][:n]
        self._jobs[job_id] = set()
        self._assign_few(job_id, chosen)  # at most a rack of nodes: the scalar path
        return Placement(nodes=self.node_tuple(chosen), racks=1, pods=1)

    def _one_rack(self, n: int, pods: npt.NDArray[np.bool_] | None) -> int:
        """The rack the placement rule fills ``n`` <= rack FREE nodes from, or -1 if none can.

        Among the pods (all, or those ``pods`` marks) only those with a rack of ``n`` FREE
        nodes need one rack, which beats any other pod; among them the least free pod wins,
        then the lowest id. Inside it the best-fit rack (fewest FREE >= ``n``, then lowest
        id) is the one: what :meth:`_choose_racks` picks when such a rack exists.
        """
        hist, npr = self._rack_hist, self._npr
        eligible: npt.NDArray[np.bool_]
        if n == 1 and pods is None:
            # A pod has a rack with a FREE node exactly when it has a FREE node. FREE - 1 as
            # unsigned ranks the pods without one last: the least free pod, then the lowest id.
            pod = int((self.free_per_pod - 1).view(np.uint64).argmin())
            if not self._free_pod_buf[pod]:
                return -1
        else:
            if n == 1:
                eligible = self.free_per_pod > 0
            elif npr - n < 3:  # a few columns: cheaper than a reduction along the rows
                eligible = hist[:, n] > 0
                for level in range(n + 1, npr + 1):
                    eligible |= hist[:, level] > 0
            else:
                eligible = hist[:, n:].any(axis=1)  # type: ignore[assignment]  # axis given
            if pods is not None:
                eligible &= pods
            pod = int(np.where(eligible, self.free_per_pod, _BIG).argmin())
            if not bool(eligible[pod]):
                return -1
        rpp = self._rpp
        # The best fit (fewest FREE >= n, then the lowest id): the pod histogram's first level
        # at or above n that holds a rack, then the pod's first rack at that level.
        width = npr + 1
        row = self._hist_buf[pod * width : (pod + 1) * width]
        level = n
        while not row[level]:
            level += 1
        first = pod * rpp
        return first + self._free_rack_buf[first : first + rpp].index(level)

    def release(self, job_id: int) -> tuple[int, ...]:
        """Return a job's nodes to service and forget the job; returns the released nodes.

        Released nodes refill the spare pool up to :attr:`spare_target` (the highest ids become
        spares, as at start-up); the rest become FREE. KeyError for an unknown job.
        """
        if job_id in self._slot_jobs:
            return self._release_slot(job_id)
        released = tuple(sorted(self._jobs.pop(job_id)))
        self._span.pop(job_id, None)
        if len(released) <= _SCALAR_MAX:  # the same updates, one scalar at a time
            owner = self._owner_buf
            for node in released:
                owner[node] = -1
            n_to_spare = min(max(0, self._spare_target - self.n_spare), len(released))
            if not n_to_spare:  # the common case: the spare pool is full
                self._set_state_few(released, _FREE)
                return released
            cut = len(released) - n_to_spare
            self._set_state_few(released[:cut], _FREE)
            self._set_state_few(released[cut:], _SPARE)
            return released
        nodes = np.asarray(released, dtype=np.int64)
        self.owner[nodes] = -1
        n_to_spare = min(max(0, self._spare_target - self.n_spare), nodes.size)
        cut = nodes.size - n_to_spare
        self._set_state(nodes[:cut], _FREE)
        self._set_state(nodes[cut:], _SPARE)
        return released

    def _release_slot(self, job_id: int) -> tuple[int, ...]:
        """Release a sub-node job's slot; a node left without tenants returns to service."""
        gpus = self._slot_jobs.pop(job_id)
        nodes = self._jobs.pop(job_id)
        for node in nodes:
            del self._tenants[node][job_id]
            self._slack += gpus
            if self._tenants[node]:
                self._set_slot_free(node, self._slot_free[node] + gpus)
                continue
            self._slack -= self._gpn
            self._unshare(node)
            self._set_state_few((node,), _SPARE if self.n_spare < self._spare_target else _FREE)
        return self.node_tuple(sorted(nodes))

    def take_replacements(self, job_id: int, n: int) -> tuple[int, ...]:
        """Give ``job_id`` up to ``n`` replacement nodes; returns the nodes added (sorted).

        Spares go first, preferring a pod and then a rack the job already uses. Then FREE nodes:
        in the job's racks, then elsewhere in its pods (best-fit rack), then in other pods by the
        allocation rule. Returns fewer than ``n`` (possibly none) when the cluster has no more.

        Raises:
            KeyError: ``job_id`` holds no allocation.
            ValueError: ``n`` < 0.
        """
        held_set = self._jobs[job_id]
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return ()
        if job_id in self._slot_jobs:  # a new slot, placed as a new sub-node job's
            gpus = self._slot_jobs.pop(job_id)
            del self._jobs[job_id]
            placed = self.allocate_slot(job_id, gpus)
            if placed is None:
                self._jobs[job_id] = held_set
                self._slot_jobs[job_id] = gpus
                return ()
            return placed.nodes
        span = self._span.get(job_id)
        if span is None and len(held_set) > _SPAN_MIN:  # counts per rack and pod, built once
            topo = self.topology
            held = np.fromiter(held_set, dtype=np.int64, count=len(held_set))
            span = self._span[job_id] = (
                np.bincount(self._node_rack[held], minlength=topo.n_racks),
                np.bincount(self._node_pod[held], minlength=topo.pods),
            )
        if span is None:
            rack_of, pod_of = self._rack_list, self._pod_list
            rack_set = {rack_of[node] for node in held_set}
            pod_list = sorted({pod_of[node] for node in held_set})
            in_racks: Callable[[int], bool] = rack_set.__contains__
        else:  # membership read from the counts, without building sets of racks
            rack_counts = span[0]
            pod_list = span[1].nonzero()[0].tolist()

            def in_racks(rack: int) -> bool:
                return bool(rack_counts[rack])

        spares = self._pick_spares(in_racks, pod_list, n)
        need = n - len(spares)
        if need == 0:  # the common case: the spare pool covers it
            self._assign_listed(job_id, spares)
            return self.node_tuple(spares)
        picked: list[tuple[IntArray, IntArray]] = []
        if need > 0 and self.n_free > 0:
            # The racks with FREE nodes (few when the spares have run out) in the job's pods:
            # the job's racks, then the other racks of its pods; then the other pods.
            # _pick_racks ignores racks without FREE nodes and the candidates' order.
            rpp, per_rack, free_pod = self._rpp, self.free_per_rack, self._free_pod_buf
            open_pods = [pod for pod in pod_list if free_pod[pod]]  # pod_list is ascending
            if open_pods:  # (none, the common case when spares ran out: nothing near to pick)
                if len(open_pods) > 2:  # their rows of the racks-by-pod grid, at once
                    rows, cols = per_rack.reshape(-1, rpp)[open_pods].nonzero()
                    near = np.asarray(open_pods, dtype=np.int64)[rows] * rpp + cols
                else:
                    near = np.concatenate(
                        [
                            per_rack[p * rpp : (p + 1) * rpp].nonzero()[0] + p * rpp
                            for p in open_pods
                        ]
                    )
                if span is None:
                    mine = np.fromiter(map(in_racks, near.tolist()), dtype=bool, count=near.size)
                else:
                    mine = span[0][near] > 0
                for candidates in (near[mine], near[~mine]):
                    racks, takes = self._pick_racks(candidates, need)
                    picked.append((racks, takes))
                    need -= int(takes.sum())
            if need > 0:
                pod_mask = np.zeros(self.topology.pods, dtype=bool)
                pod_mask[pod_list] = True
                rack = self._one_rack(need, ~pod_mask) if need <= self._npr else -1
                if rack >= 0:  # one rack of another pod holds the rest (_choose_racks' pick)
                    picked.append((np.array([rack]), np.array([need])))
                else:
                    other_pods = (~pod_mask).nonzero()[0]
                    if other_pods.size:
                        picked.append(self._choose_racks(other_pods, need))
        return self._take_and_assign(job_id, spares, picked)

    def _take_and_assign(
        self, job_id: int, listed: list[int], picked: list[tuple[IntArray, IntArray]]
    ) -> tuple[int, ...]:
        """Hand ``job_id`` the nodes ``listed`` and the FREE nodes ``picked`` (racks, takes).

        Returns them all, sorted (:meth:`node_tuple`). The nodes stay one Python list while
        every pick is a few racks (no array round trip); ``listed`` is extended in place.
        """
        arrays: list[IntArray] = []
        for racks, takes in picked:
            if racks.size <= _FEW_RACKS:
                listed.extend(self._take_free_few(racks.tolist(), takes.tolist()))
            else:
                arrays.append(self._take_free(racks, takes))
        if not arrays:
            listed.sort()
            self._assign_listed(job_id, listed)
            return self.node_tuple(listed)
        new = np.concatenate([np.array(listed, dtype=np.int64), *arrays])
        new.sort()
        self._assign(job_id, new)
        return self.node_tuple(new)

    def node_tuple(self, nodes: IntArray | list[int]) -> tuple[int, ...]:
        """``nodes`` as a tuple of the cluster's shared node-id ints (same values, less memory)."""
        if isinstance(nodes, np.ndarray):
            return tuple(self._node_objs[nodes].tolist())
        return tuple(map(self._node_ids.__getitem__, nodes))

    # ----------------------------------------------------------------- failures and repair
    def fail(self, node: int) -> int:
        """Take ``node`` DOWN; returns the job it was taken from, :data:`SHARED`, or -1.

        The node leaves its job's node set (the job keeps its allocation record); a shared
        node leaves every tenant's (ask :meth:`jobs_on` first for who they were).

        Raises:
            ValueError: the node is already DOWN.
        """
        if not 0 <= node < self._n_nodes or self._state_buf[node] >= _DOWN:
            _check_node(node, self._n_nodes)  # raises for an id out of range
            raise ValueError(f"node {node} is already down")
        previous_owner = self._owner_buf[node]
        if previous_owner >= 0:
            self._jobs[previous_owner].discard(node)
            self._owner_buf[node] = -1
            span = self._span.get(previous_owner)
            if span is not None:
                span[0][self._rack_list[node]] -= 1
                span[1][self._pod_list[node]] -= 1
        elif previous_owner == SHARED:
            self._slack -= self._slot_free[node]
            self._unshare(node)
        self._set_state_few((node,), _DOWN)
        return previous_owner

    def fail_many(self, nodes: IntArray) -> None:
        """Take many up ``nodes`` DOWN at once (vectorised :meth:`fail`).

        Raises:
            ValueError: one of them is already DOWN.
        """
        if nodes.size == 0:
            return
        if (self.state[nodes] >= _DOWN).any():
            raise ValueError("fail_many: a node is already down or out of service")
        owners = self.owner[nodes]
        held = owners >= 0
        if held.any():
            for job_id in sorted(set(owners[held].tolist())):  # np.unique imports numpy.ma
                lost = nodes[owners == job_id]
                self._jobs[job_id].difference_update(lost.tolist())
                span = self._span.get(job_id)
                if span is not None:
                    np.subtract.at(span[0], self._node_rack[lost], 1)
                    np.subtract.at(span[1], self._node_pod[lost], 1)
            self.owner[nodes[held]] = -1
        for node in nodes[owners == SHARED].tolist():
            self._slack -= self._slot_free[node]
            self._unshare(node)
        self._set_state(nodes, _DOWN)

    def repair_many(self, nodes: IntArray) -> IntArray:
        """Return many DOWN ``nodes`` to service; the first ones refill the spare pool.

        Returns a boolean array: which of ``nodes`` became SPARE.

        Raises:
            ValueError: one of them is not DOWN.
        """
        if (self.state[nodes] != _DOWN).any():
            raise ValueError("repair_many: a node is not down")
        return self._into_service(nodes)

    def _into_service(self, nodes: IntArray) -> IntArray:
        """Make ``nodes`` SPARE while the pool is below target, the rest FREE; which are SPARE."""
        k = max(0, min(nodes.size, self._spare_target - self.n_spare))
        if k:
            self._set_state(nodes[:k], _SPARE)
            self._set_state(nodes[k:], _FREE)
        else:  # the common case: the spare pool is full
            self._set_state(nodes, _FREE)
        spare = np.zeros(nodes.size, dtype=bool)
        spare[:k] = True
        return spare

    def fail_rack(self, rack: int) -> list[tuple[int, int]]:
        """Take every up node of ``rack`` DOWN; returns ``(node, previous owner)`` pairs."""
        return [
            (node, self.fail(node))
            for node in self.topology.nodes_of_rack(rack)
            if self.is_up(node)
        ]

    def repair(self, node: int) -> NodeState:
        """Return a DOWN node to service: SPARE while the pool is below target, else FREE.

        Raises:
            ValueError: the node is not DOWN.
        """
        if self._state_buf[node] != _DOWN:
            raise ValueError(f"node {node} is not down")
        new = _SPARE if self.n_spare < self._spare_target else _FREE
        self._set_state_few((node,), new)
        return NodeState(new)

    # ----------------------------------------------------------------- fleet size
    def install(self, nodes: IntArray) -> IntArray:
        """Bring OUT ``nodes`` into service; the first ones refill the spare pool.

        Returns a boolean array: which of ``nodes`` became SPARE.

        Raises:
            ValueError: one of them is not OUT.
        """
        if (self.state[nodes] != _OUT).any():
            raise ValueError("install: a node is not out of service")
        return self._into_service(nodes)

    def retire(self, nodes: IntArray) -> None:
        """Take idle, spare or DOWN ``nodes`` out of service for good (OUT).

        Raises:
            ValueError: one of them is ALLOCATED (drain it first) or already OUT.
        """
        states = self.state[nodes]
        if ((states == _ALLOCATED) | (states == _OUT)).any():
            raise ValueError("retire: a node is allocated or already out of service")
        self._set_state(nodes, _OUT)

    # ----------------------------------------------------------------- invariants
    def check(self) -> None:
        """Verify INV-1 (GPU conservation and bookkeeping); raise AssertionError if broken."""
        n = self.topology.n_nodes
        counts = np.bincount(self.state.astype(np.int64), minlength=_N_STATES)
        if counts.size != _N_STATES:  # the message's np.unique only when it fails (a hot check)
            _require(False, f"unknown node state values: {np.unique(self.state)}")
        for state in NodeState:
            _require(
                int(counts[state]) == int(self._counts[state]),
                f"{state.name}: counter {int(self._counts[state])} != array {int(counts[state])}",
            )
        total = sum(self._counts)
        _require(total == n, f"state counters sum to {total} != {n}")
        allocated = self.state == _ALLOCATED
        owned = (self.owner[allocated] >= 0) | (self.owner[allocated] == SHARED)
        _require(bool(np.all(owned)), "an ALLOCATED node has no owner")
        _require(bool(np.all(self.owner[~allocated] == -1)), "a non-ALLOCATED node has an owner")
        held = 0
        for job_id, nodes in self._jobs.items():
            index = np.asarray(sorted(nodes), dtype=np.int64)
            if job_id in self._slot_jobs:
                _require(len(nodes) <= 1, f"sub-node job {job_id} holds {len(nodes)} nodes")
                _require(
                    all(
                        self._tenants[node].get(job_id) == self._slot_jobs[job_id] for node in nodes
                    ),
                    f"sub-node job {job_id} is not a tenant of its node",
                )
                continue
            _require(
                bool(np.all(self.owner[index] == job_id)),
                f"job {job_id} lists nodes owned by another job or none",
            )
            span = self._span.get(job_id)
            if span is not None:
                topo = self.topology
                _require(
                    np.array_equal(
                        span[0], np.bincount(self._node_rack[index], minlength=topo.n_racks)
                    )
                    and np.array_equal(
                        span[1], np.bincount(self._node_pod[index], minlength=topo.pods)
                    ),
                    f"job {job_id}'s nodes per rack and pod disagree with its nodes",
                )
            held += index.size
        # Every ALLOCATED node has one owner or is shared, so equal totals mean no node is
        # both, or shared without being listed.
        shared = self.owner == SHARED
        _require(self._span.keys() <= self._jobs.keys(), "a released job keeps its span counts")
        _require(
            sorted(self._tenants) == np.flatnonzero(shared).tolist(),
            "shared nodes disagree with owners",
        )
        _require(
            held + len(self._tenants) == self.n_allocated,
            f"jobs hold {held} whole and {len(self._tenants)} shared nodes,"
            f" {self.n_allocated} allocated",
        )
        slack = 0
        for node, tenants in self._tenants.items():
            free = self._slot_free[node]
            _require(bool(tenants), f"shared node {node} has no tenant")
            _require(sum(tenants.values()) + free == self._gpn, f"node {node} GPUs do not add up")
            _require(
                all(
                    self._slot_jobs.get(t) == g and node in self._jobs[t]
                    for t, g in tenants.items()
                ),
                f"a tenant of node {node} does not list it",
            )
            slack += free
            for k in range(1, self._gpn):
                listed = k == free and node not in self._closed
                _require((node in self._with_free[k]) == listed, f"node {node} bucket")
        _require(slack == self._slack, f"slack counter {self._slack} != {slack}")
        _require(
            sum(len(b) for b in self._with_free)
            == sum(1 for n, f in self._slot_free.items() if f > 0 and n not in self._closed),
            "free-GPU buckets hold nodes that are not shared",
        )
        topo = self.topology
        free, spare = self.state == _FREE, self.state == _SPARE
        for name, counter, truth in (
            (
                "free_per_rack",
                self.free_per_rack,
                np.bincount(self._node_rack[free], minlength=topo.n_racks),
            ),
            (
                "free_per_pod",
                self.free_per_pod,
                np.bincount(self._node_pod[free], minlength=topo.pods),
            ),
            (
                "spare_per_pod",
                self.spare_per_pod,
                np.bincount(self._node_pod[spare], minlength=topo.pods),
            ),
        ):
            _require(bool(np.array_equal(counter, truth)), f"{name} disagrees with node states")
        spare_sets = sorted(node for pod in self._spares_in_pod for node in pod)
        _require(spare_sets == np.flatnonzero(spare).tolist(), "spare sets disagree with states")
        hist = np.bincount(
            self._hist_key + self.free_per_rack, minlength=topo.pods * (self._npr + 1)
        ).reshape(topo.pods, -1)
        _require(bool(np.array_equal(self._rack_hist, hist)), "rack histogram disagrees")
        _require(self.n_spare <= self._spare_target, "spare pool exceeds its target")

    # ----------------------------------------------------------------- internals
    def _choose_racks(self, pods: IntArray, n: int) -> tuple[IntArray, IntArray]:
        """Choose racks (and how many FREE nodes from each) in ``pods`` to hold up to ``n``."""
        pod_free = self.free_per_pod[pods]
        fits = pods[pod_free >= n]
        if fits.size:
            return self._pick_in_pod(self._best_pod(fits, n), n)
        order = np.lexsort((pods, -pod_free))
        ranked, cum = pods[order], pod_free[order].cumsum()
        k = int(cum.searchsorted(n))  # pods fully used; the next one (if any) tops up
        racks = [self._racks_of_pod(int(pod)) for pod in ranked[:k]]
        takes = [self.free_per_rack[r] for r in racks]
        if k < ranked.size:
            remainder = n - int(cum[k - 1])
            last = self._best_pod(ranked[k:][pod_free[order][k:] >= remainder], remainder)
            last_racks, last_takes = self._pick_in_pod(last, remainder)
            racks.append(last_racks)
            takes.append(last_takes)
        return np.concatenate(racks), np.concatenate(takes)

    def _best_pod(self, pods: IntArray, n: int) -> int:
        """Among ``pods`` (each with >= n FREE), the one needing fewest racks, then least free."""
        npr = self._npr
        cells = pods.size * (npr + 2)
        if cells <= 64:  # a few pods: the scalar walk is cheaper than any array operation
            return self._best_pod_few(pods, n)
        # No pod needs fewer than k = ceil(n / npr) racks. When the last of them is short of
        # at most one node (r >= npr - 1), a pod needs exactly k iff it has k full racks, or
        # k - 1 and a rack with >= r FREE: with fewer full racks, k racks hold at most
        # (k - 2) npr + 2 (npr - 1) < n. Those pods win, least free first, then the lowest
        # id; only when none qualifies is every pod's count walked.
        k = -(-n // npr)
        r = n - (k - 1) * npr
        if r >= npr - 1:
            hist = self._rack_hist
            full = hist[pods, npr]
            best_fit = full >= k
            if r < npr:
                best_fit |= (full == k - 1) & (hist[pods, r] > 0)  # r = npr - 1: one level
            if best_fit.any():
                fits = pods[best_fit]
                free = self.free_per_pod[fits]
                return int(fits[free == free.min()].min())
        if cells <= 256:  # about where the array walk starts to win
            return self._best_pod_few(pods, n)
        # Racks taken most-free first: walk each pod's histogram from full racks down. Level j
        # holds the racks with ``sizes[j]`` FREE; the first level where the running total of
        # nodes reaches n is topped up with ceil(rest / size) of its racks.
        counts = self._rack_hist[pods][:, :0:-1]
        sizes = np.arange(self._npr, 0, -1, dtype=np.int64)
        nodes_cum = (counts * sizes).cumsum(axis=1)
        racks_cum = counts.cumsum(axis=1)
        level = (nodes_cum < n).sum(axis=1)  # < npr: every pod here has >= n FREE
        rows = np.arange(pods.size)
        before = level > 0
        nodes_before = np.where(before, nodes_cum[rows, level - 1], 0)
        racks_before = np.where(before, racks_cum[rows, level - 1], 0)
        racks_needed = racks_before - (nodes_before - n) // sizes[level]
        return int(pods[np.lexsort((pods, self.free_per_pod[pods], racks_needed))[0]])

    def _best_pod_few(self, pods: IntArray, n: int) -> int:
        """:meth:`_best_pod` as a scalar walk over each pod's rack histogram (few pods/levels)."""
        npr = self._npr
        best: tuple[int, int, int] | None = None
        rows = self._rack_hist[pods].tolist()
        frees = self.free_per_pod[pods].tolist()
        for pod, row, free in zip(pods.tolist(), rows, frees, strict=True):
            need, racks = n, 0
            for size in range(npr, 0, -1):
                count = row[size]
                if count * size >= need:
                    racks += -(-need // size)
                    break
                need -= count * size
                racks += count
            key = (racks, free, pod)
            if best is None or key < best:
                best = key
        assert best is not None
        return best[2]

    def _pick_in_pod(self, pod: int, n: int) -> tuple[IntArray, IntArray]:
        """``_pick_racks(racks of pod, n)`` (same racks and takes, not ordered) for n <= pod FREE.

        In most-free-then-lowest-id order, every rack with more FREE than the level ``size``
        where the running total reaches ``n`` is taken whole, then the first ``whole`` racks of
        that level; the rest (``remainder``) goes to the tail rack with the fewest FREE >=
        ``remainder``, lowest id first: a lower level if one qualifies, else the next rack of
        this level.
        """
        npr, rpp = self._npr, self._rpp
        row = self._rack_hist[pod].tolist()
        need, size = n, npr
        while row[size] * size < need:
            need -= row[size] * size
            size -= 1
        first = pod * rpp
        per_rack = self.free_per_rack[first : first + rpp]
        above = (per_rack > size).nonzero()[0]
        whole = (need - 1) // size
        remainder = need - whole * size
        level = (per_rack == size).nonzero()[0]
        last = int(level[whole])
        for free in range(remainder, size):
            if row[free]:
                last = int((per_rack == free).argmax())
                break
        # Filled in place (a concatenation of lists converts each list to an array first).
        na = above.size
        k = na + whole
        racks = np.empty(k + 1, dtype=np.int64)
        racks[:na] = above
        racks[na:k] = level[:whole]
        racks[k] = last
        racks += first
        takes = np.empty(k + 1, dtype=np.int64)
        takes[:na] = per_rack[above]
        takes[na:k] = size
        takes[k] = remainder
        return racks, takes

    def _racks_of_pod(self, pod: int) -> IntArray:
        per_pod = self.topology.racks_per_pod
        return np.arange(pod * per_pod, (pod + 1) * per_pod, dtype=np.int64)

    def _pick_racks(self, candidates: IntArray, n: int) -> tuple[IntArray, IntArray]:
        """Take up to ``n`` FREE nodes from the fewest ``candidates``; the last rack is best fit."""
        free = self.free_per_rack[candidates]
        racks, free = candidates[free > 0], free[free > 0]
        if n <= 0 or racks.size == 0:
            return _EMPTY, _EMPTY
        order = np.lexsort((racks, -free))
        racks, free = racks[order], free[order]
        cum = free.cumsum()
        if cum[-1] <= n:
            return racks, free
        k = int(cum.searchsorted(n))  # racks taken whole before the last one
        remainder = n - (int(cum[k - 1]) if k else 0)
        tail_racks, tail_free = racks[k:], free[k:]
        fits = tail_free >= remainder
        best = np.lexsort((tail_racks[fits], tail_free[fits]))[0]
        last = tail_racks[fits][best]
        return np.append(racks[:k], last), np.append(free[:k], remainder)

    def _take_free(self, racks: IntArray, takes: IntArray) -> IntArray:
        """Return the lowest-id FREE nodes of each rack, ``takes[i]`` from ``racks[i]``."""
        per_rack = self._npr
        if racks.size <= _FEW_RACKS:  # the same nodes by a scalar walk over the few racks
            listed = self._take_free_few(racks.tolist(), takes.tolist())
            listed.sort()
            return np.array(listed, dtype=np.int64)
        index = racks[:, None] * per_rack + np.arange(per_rack, dtype=np.int64)
        free = self.state[index] == _FREE
        chosen = free & (free.cumsum(axis=1) <= takes[:, None])
        taken: IntArray = index[chosen]
        taken.sort()
        return taken

    def _take_free_few(self, racks: list[int], takes: list[int]) -> list[int]:
        """:meth:`_take_free` of a few racks by a scalar walk; the nodes unsorted."""
        per_rack, state = self._npr, self._state_buf
        chosen: list[int] = []
        for rack, take in zip(racks, takes, strict=True):
            base = rack * per_rack
            for i, node_state in enumerate(state[base : base + per_rack]):
                if take <= 0:
                    break
                if node_state == _FREE:
                    chosen.append(base + i)
                    take -= 1
        return chosen

    def _pick_spares(
        self, in_job_racks: Callable[[int], bool], job_pods: list[int], n: int
    ) -> list[int]:
        """Up to ``n`` SPARE nodes, those in the job's pods (then racks) first, then by id.

        ``job_pods`` are the job's pods in increasing order; ``in_job_racks`` tells whether a
        rack is one of the job's. Returned sorted by id. Spares in the job's pods are ordered
        (not in the job's racks, id); the rest by id, pod by pod (node ids are contiguous per
        pod).
        """
        if n <= 0 or self.n_spare == 0:
            return []
        rack_of = self._rack_list
        spares_in_pod = self._spares_in_pod
        mine: list[int] = []  # the job's pods' spares in its racks, then the others
        others: list[int] = []
        for pod in job_pods:
            for node in spares_in_pod[pod]:
                (mine if in_job_racks(rack_of[node]) else others).append(node)
        mine.sort()
        if len(mine) < n:
            others.sort()
            mine.extend(others[: n - len(mine)])
        chosen = mine[:n]
        if len(chosen) < n:
            pods = set(job_pods)
            for pod in self.spare_per_pod.nonzero()[0].tolist():  # the pods with spares
                if pod not in pods:
                    chosen.extend(sorted(spares_in_pod[pod])[: n - len(chosen)])
                    if len(chosen) == n:
                        break
        chosen.sort()
        return chosen

    def _assign(self, job_id: int, nodes: IntArray) -> None:
        """Hand FREE or SPARE ``nodes`` to ``job_id``."""
        if nodes.size <= _SCALAR_MAX:  # the same updates, one scalar at a time
            self._assign_few(job_id, nodes.tolist())
            return
        self._set_state(nodes, _ALLOCATED)
        self.owner[nodes] = job_id
        self._jobs[job_id].update(nodes.tolist())
        span = self._span.get(job_id)
        if span is not None:
            np.add.at(span[0], self._node_rack[nodes], 1)
            np.add.at(span[1], self._node_pod[nodes], 1)

    def _assign_listed(self, job_id: int, listed: list[int]) -> None:
        """:meth:`_assign` of distinct nodes given as a sorted list."""
        if len(listed) <= _SCALAR_MAX:
            self._assign_few(job_id, listed)
        else:
            self._assign(job_id, np.array(listed, dtype=np.int64))

    def _assign_few(self, job_id: int, listed: list[int]) -> None:
        """:meth:`_assign` of a few distinct nodes given as a list, one scalar at a time."""
        self._set_state_few(listed, _ALLOCATED)
        owner = self._owner_buf
        for node in listed:
            owner[node] = job_id
        self._jobs[job_id].update(listed)
        span = self._span.get(job_id)
        if span is not None:
            per_rack, per_pod = span
            rack_of, pod_of = self._rack_list, self._pod_list
            for node in listed:
                per_rack[rack_of[node]] += 1
                per_pod[pod_of[node]] += 1

    def _set_state(self, nodes: IntArray, new: int) -> None:
        """Move ``nodes`` to state ``new``, keeping every counter consistent (owners aside)."""
        if nodes.size == 0:
            return
        if nodes.size <= _SCALAR_MAX:
            self._set_state_few(nodes.tolist(), new)
            return
        if nodes.size <= self._npr and self._set_state_one_rack(nodes, new):
            return  # (distinct nodes, more than a rack holds, span racks)
        topo = self.topology
        old = self.state[nodes]
        moving = old != new  # nodes already in state ``new`` change nothing
        nodes, old = nodes[moving], old[moving]
        state_counts = self._counts
        for state, k in enumerate(np.bincount(old.astype(np.int64), minlength=_N_STATES).tolist()):
            state_counts[state] -= k
        state_counts[new] += int(nodes.size)
        was_free, was_spare = nodes[old == _FREE], nodes[old == _SPARE]
        pod_of, spares_in_pod = self._pod_list, self._spares_in_pod
        if was_spare.size:
            self.spare_per_pod -= np.bincount(self._node_pod[was_spare], minlength=topo.pods)
            for node in was_spare.tolist():
                spares_in_pod[pod_of[node]].discard(node)
        if new == _SPARE:
            self.spare_per_pod += np.bincount(self._node_pod[nodes], minlength=topo.pods)
            for node in nodes.tolist():
                spares_in_pod[pod_of[node]].add(node)
        # Either nodes become FREE or some FREE nodes leave, never both.
        changed, sign = (nodes, 1) if new == _FREE else (was_free, -1)
        if changed.size:
            self.free_per_pod += sign * np.bincount(self._node_pod[changed], minlength=topo.pods)
            # The touched racks and their counts from the sorted racks' runs (a bincount over
            # every rack id up to the highest, then its nonzero, cost ~4x this).
            racks = self._node_rack[changed]
            racks.sort()
            starts = np.empty(racks.size, dtype=bool)
            starts[0] = True
            np.not_equal(racks[1:], racks[:-1], out=starts[1:])
            firsts = starts.nonzero()[0]
            touched = racks[firsts]
            counts = np.empty(firsts.size, dtype=np.int64)
            counts[:-1] = firsts[1:] - firsts[:-1]
            counts[-1] = racks.size - firsts[-1]
            before = self.free_per_rack[touched]
            after = before + sign * counts
            self.free_per_rack[touched] = after
            keys, hist = self._hist_key[touched], self._rack_hist_flat
            hist -= np.bincount(keys + before, minlength=hist.size)
            hist += np.bincount(keys + after, minlength=hist.size)
        self.state[nodes] = new

    def _set_state_one_rack(self, nodes: IntArray, new: int) -> bool:
        """:meth:`_set_state` by scalar counter updates, for nodes of one rack in one state.

        The nodes are distinct; returns False (changing nothing) unless they all lie in one
        rack and share one old state different from ``new``.
        """
        lo, hi = int(nodes.min()), int(nodes.max())
        rack = self._rack_list[lo]
        if self._rack_list[hi] != rack:
            return False
        old_states = self.state[nodes]
        old = int(old_states[0])
        if old == new or not bool((old_states == old).all()):
            return False
        k = int(nodes.size)
        pod = self._pod_list[lo]
        self._counts[old] -= k
        self._counts[new] += k
        for state, sign in ((old, -1), (new, 1)):
            if state == _FREE:
                free = self._free_rack_buf[rack]
                self._free_rack_buf[rack] = free + sign * k
                self._free_pod_buf[pod] += sign * k
                at = self._hist_row[rack] + free  # _rack_hist[pod, free]
                self._hist_buf[at] -= 1
                self._hist_buf[at + sign * k] += 1
            elif state == _SPARE:
                self._spare_pod_buf[pod] += sign * k
                spares = self._spares_in_pod[pod]
                if sign < 0:
                    spares.difference_update(nodes.tolist())
                else:
                    spares.update(nodes.tolist())
        self.state[nodes] = new
        return True

    def _set_state_few(self, nodes: Iterable[int], new: int) -> None:
        """:meth:`_set_state` for a few distinct nodes, one scalar update at a time."""
        state, counts, hist = self._state_buf, self._counts, self._hist_buf
        free_rack, free_pod = self._free_rack_buf, self._free_pod_buf
        spare_pod = self._spare_pod_buf
        rack_of, pod_of, hist_row = self._rack_list, self._pod_list, self._hist_row
        spares_in_pod = self._spares_in_pod
        for node in nodes:
            old = state[node]
            if old == new:
                continue
            counts[old] -= 1
            counts[new] += 1
            if old == _FREE:
                rack, pod = rack_of[node], pod_of[node]
                free = free_rack[rack]
                free_rack[rack] = free - 1
                free_pod[pod] -= 1
                at = hist_row[rack] + free  # _rack_hist[pod, free]
                hist[at] -= 1
                hist[at - 1] += 1
            elif old == _SPARE:
                spare_pod[pod_of[node]] -= 1
                spares_in_pod[pod_of[node]].discard(node)
            if new == _FREE:
                rack, pod = rack_of[node], pod_of[node]
                free = free_rack[rack]
                free_rack[rack] = free + 1
                free_pod[pod] += 1
                at = hist_row[rack] + free
                hist[at] -= 1
                hist[at + 1] += 1
            elif new == _SPARE:
                spare_pod[pod_of[node]] += 1
                spares_in_pod[pod_of[node]].add(node)
            state[node] = new

    def _rebuild_rack_hist(self) -> None:
        """Recount :attr:`_rack_hist` from ``free_per_rack`` (after bulk updates)."""
        topo = self.topology
        flat = np.bincount(
            self._hist_key + self.free_per_rack, minlength=topo.pods * (self._npr + 1)
        )
        self._rack_hist[...] = flat.reshape(topo.pods, -1)


def _zeros(n: int) -> array.array[int]:
    """``n`` zeros as a buffer of int64 (``array.array``'s ``q``), for a numpy view."""
    return array.array("q", bytes(8 * n))


def _check_node(node: int, n_nodes: int) -> None:
    """Raise ValueError unless ``node`` is a valid node id (negative ids would wrap around)."""
    if not 0 <= node < n_nodes:
        raise ValueError(f"node {node} out of range [0, {n_nodes})")


def _require(condition: bool, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``condition`` (survives ``python -O``)."""
    if not condition:
        raise AssertionError(f"INV-1 violated: {message}")
