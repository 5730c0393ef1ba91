"""The replacement pick of ``Cluster.take_replacements`` as it was before issue 22's session 6.

Kept verbatim (as functions over a :class:`~clustersim.cluster.Cluster`) so that the faster
version, which reads the job's racks from its span counts and looks only at racks with FREE
nodes, can be checked against it on random cluster states
(``tests/unit/test_replacements_differential.py``). Whole-node jobs only.
"""

from __future__ import annotations

import numpy as np

from clustersim.cluster import _EMPTY, _SPAN_MIN, Cluster, IntArray


def take_replacements(cluster: Cluster, job_id: int, n: int) -> tuple[int, ...]:
    """The old ``Cluster.take_replacements`` for a job of whole nodes."""
    held_set = cluster._jobs[job_id]
    if n == 0:
        return ()
    topo = cluster.topology
    if len(held_set) <= _SPAN_MIN and job_id not in cluster._span:
        rack_of, pod_of = cluster._rack_list, cluster._pod_list
        rack_set = {rack_of[node] for node in held_set}
        pod_set = {pod_of[node] for node in held_set}
    else:
        span = cluster._span.get(job_id)
        if span is None:
            held = np.fromiter(held_set, dtype=np.int64, count=len(held_set))
            span = cluster._span[job_id] = (
                np.bincount(cluster._node_rack[held], minlength=topo.n_racks),
                np.bincount(cluster._node_pod[held], minlength=topo.pods),
            )
        rack_set = set(np.flatnonzero(span[0]).tolist())
        pod_set = set(np.flatnonzero(span[1]).tolist())
    spares = _pick_spares(cluster, rack_set, pod_set, n)
    need = n - spares.size
    if need == 0:
        cluster._assign(job_id, spares)
        return cluster.node_tuple(spares)
    picked: list[tuple[IntArray, IntArray]] = []
    if need > 0 and cluster.n_free > 0:
        rack_mask = np.zeros(topo.n_racks, dtype=bool)
        rack_mask[list(rack_set)] = True
        pod_mask = np.zeros(topo.pods, dtype=bool)
        pod_mask[list(pod_set)] = True
        job_racks = np.flatnonzero(rack_mask)
        stages = (job_racks, np.flatnonzero(pod_mask[cluster._rack_pod] & ~rack_mask))
        for candidates in stages:
            racks, takes = _pick_racks(cluster, candidates, need)
            picked.append((racks, takes))
            need -= int(takes.sum())
        other_pods = np.flatnonzero(~pod_mask)
        if need > 0 and other_pods.size:
            picked.append(cluster._choose_racks(other_pods, need))
    free_nodes = [cluster._take_free(racks, takes) for racks, takes in picked]
    new = np.sort(np.concatenate([spares, *free_nodes]))
    cluster._assign(job_id, new)
    return cluster.node_tuple(new)


def _pick_racks(cluster: Cluster, candidates: IntArray, n: int) -> tuple[IntArray, IntArray]:
    free = cluster.free_per_rack[candidates]
    racks, free = candidates[free > 0], free[free > 0]
    if n <= 0 or racks.size == 0:
        return _EMPTY, _EMPTY
    order = np.lexsort((racks, -free))
    racks, free = racks[order], free[order]
    cum = np.cumsum(free)
    if cum[-1] <= n:
        return racks, free
    k = int(np.searchsorted(cum, n))
    remainder = n - (int(cum[k - 1]) if k else 0)
    tail_racks, tail_free = racks[k:], free[k:]
    fits = tail_free >= remainder
    best = np.lexsort((tail_racks[fits], tail_free[fits]))[0]
    last = tail_racks[fits][best]
    return np.append(racks[:k], last), np.append(free[:k], remainder)


def _pick_spares(cluster: Cluster, job_racks: set[int], job_pods: set[int], n: int) -> IntArray:
    if n <= 0 or cluster.n_spare == 0:
        return _EMPTY
    rack_of = cluster._rack_list
    spares_in_pod = cluster._spares_in_pod
    near = [node for pod in job_pods for node in spares_in_pod[pod]]
    near.sort(key=lambda node: (rack_of[node] not in job_racks, node))
    chosen = near[:n]
    if len(chosen) < n:
        for pod, pod_spares in enumerate(spares_in_pod):
            if pod_spares and pod not in job_pods:
                chosen.extend(sorted(pod_spares)[: n - len(chosen)])
                if len(chosen) == n:
                    break
    return np.array(sorted(chosen), dtype=np.int64)
