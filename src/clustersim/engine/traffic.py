"""Traffic: how much a job asks of each link, and max-min fair shares of the links.

Pure functions of the flow-level model of docs/network.md, used by
:class:`~clustersim.engine.network.Network` (which owns the links and the jobs' flows):
a job's demand on the link of each group (pod, rack, node) its nodes are in, by traffic
model (``all``, ``uniform``, ``shape``: pipeline hops and data-parallel rings in rank
order); progressive filling to max-min fair shares; and the speed at a share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Demands",
    "Profile",
    "comm_speed",
    "group_demands",
    "max_min_shares",
    "node_demand",
    "shape_hops",
]

Demands = Mapping[int, Mapping[int, float]]


@dataclass(frozen=True, slots=True)
class Profile:
    """What a job's traffic looks like: its model, replica size and pipeline share."""

    traffic: str
    """``all``, ``uniform`` or ``shape``."""
    replica_gpus: int
    """``shape``: GPUs of one model replica (capped at the job's size when used)."""
    pipeline_share: float
    """``shape``: share of a multi-replica job's exposed traffic that is pipeline sends."""
    gpus_per_node: int
    nic_bandwidth: float
    """Per-GPU NIC bandwidth (bytes/s)."""


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

    Each link keeps the summed weight of its unfrozen jobs, updated as jobs freeze, so a
    round costs one pass over the links plus the links of the jobs that froze in it.
    """
    peak = {j: max(d.values()) for j, d in demands.items() if d and max(d.values()) > 0}
    # A link whose jobs together ask no more than its capacity never fills before they all
    # reach their demands: leave it out (the shares are the same, the rounds cheaper).
    load: dict[int, float] = defaultdict(float)
    for j in peak:
        for link, v in demands[j].items():
            load[link] += v
    tight = {link for link, v in load.items() if v > capacity[link]}
    weight = {
        j: {link: v / peak[j] for link, v in demands[j].items() if link in tight} for j in peak
    }
    on_link: dict[int, list[int]] = defaultdict(list)
    for j in sorted(weight):
        for link in weight[j]:
            on_link[link].append(j)
    links = sorted(on_link)
    left = {link: max(0.0, capacity[link]) for link in links}
    wsum = {link: sum(weight[j][link] for j in on_link[link]) for link in links}
    count = {link: len(on_link[link]) for link in links}  # unfrozen jobs on each link
    rate: dict[int, float] = {}
    active = set(weight)
    by_peak = sorted(active, key=lambda j: (peak[j], j))
    next_peak = 0
    level = 0.0
    while active:
        while by_peak[next_peak] not in active:
            next_peak += 1
        # The next level at which a job meets its demand or a link fills.
        nxt = peak[by_peak[next_peak]]
        full: list[int] = []
        for link in links:
            w = wsum[link]
            if w <= 0:
                continue
            at = level + left[link] / w
            if at < nxt:
                nxt, full = at, [link]
            elif at == nxt:
                full.append(link)
        step = nxt - level
        for link in links:
            w = wsum[link]
            if w > 0:
                left[link] -= step * w
        level = nxt
        frozen: set[int] = set()
        k = next_peak
        while k < len(by_peak) and peak[by_peak[k]] <= level:
            if by_peak[k] in active:
                frozen.add(by_peak[k])
            k += 1
        for link in full:
            frozen.update(j for j in on_link[link] if j in active)
            left[link] = 0.0
        for j in frozen:
            rate[j] = min(level, peak[j])
            for link, w in weight[j].items():
                count[link] -= 1
                # Exactly 0 once empty: a rounding residue must not look like a live link.
                wsum[link] = wsum[link] - w if count[link] else 0.0
        active -= frozen
    return {j: min(1.0, rate[j] / peak[j]) for j in sorted(rate)}


def node_demand(profile: Profile, p: int, m: int) -> float:
    """Demand on the NIC link of the ``p``-th of a job's ``m`` nodes (closed form).

    The same number as :func:`group_demands` for a one-node group, without touching the
    other nodes (a flap hits one node of a job that may hold thousands).
    """
    gpn, bw = profile.gpus_per_node, profile.nic_bandwidth
    total = m * gpn
    if profile.traffic == "all":
        return gpn * bw
    if profile.traffic == "uniform":
        return gpn * bw * (1.0 - gpn / total)
    replica = min(total, profile.replica_gpus)
    pipe = 1.0 if replica >= total else profile.pipeline_share
    pp = int(p > 0 and (p * gpn) % replica != 0)
    pp += int(p + 1 < m and ((p + 1) * gpn) % replica != 0)
    dp = 0
    replicas = total // replica
    if replicas >= 2:
        span = replicas * replica
        dp = sum(
            1
            for r in range(p * gpn, min((p + 1) * gpn, span))
            if ((r + replica) % span) // gpn != p
        )
    return bw * min(gpn, pipe * gpn * pp + (1.0 - pipe) * dp)


def group_demands(
    profile: Profile, owners: np.ndarray, offset: int, out: dict[int, float], only: int = -1
) -> None:
    """Demands on the links of the groups (pods, racks) a job's nodes are in, into ``out``.

    ``owners`` is each held node's group in node-id order (non-decreasing for pods and
    racks); group ``g`` is link ``offset + g``. With ``only`` set, just that group.
    """
    if owners[0] == owners[-1] and (owners == owners[0]).all():
        return  # one group: nothing leaves it
    gpn, bw, traffic = profile.gpus_per_node, profile.nic_bandwidth, profile.traffic
    total = owners.size * gpn
    ids, counts = np.unique(owners, return_counts=True)
    if traffic == "shape":
        replica = min(total, profile.replica_gpus)
        pipe = 1.0 if replica >= total else profile.pipeline_share
        pp_hops, dp_hops = shape_hops(owners, gpn, replica)
    for link, n in zip(ids.tolist(), counts.tolist(), strict=True):
        if only >= 0 and link != only:
            continue
        gpus = n * gpn
        if traffic == "all":
            d = gpus * bw
        elif traffic == "uniform":
            d = gpus * bw * (1.0 - gpus / total)
        else:
            pp = pipe * gpn * pp_hops.get(link, 0)
            d = bw * min(gpus, pp + (1.0 - pipe) * dp_hops.get(link, 0))
        if d > 0.0:
            out[offset + link] = d


def shape_hops(owners: np.ndarray, gpn: int, replica: int) -> tuple[dict[int, int], dict[int, int]]:
    """Pipeline and data-parallel ring hops that leave each group (pod, rack or node).

    ``owners`` is the group of each of the job's nodes in node-id order; GPUs are ranked in
    that order and cut into model replicas of ``replica`` consecutive GPUs (tensor parallel
    inside a node, pipeline stages on consecutive nodes). Pipeline: between two consecutive
    nodes of one replica runs a stage-to-stage hop in both directions (activations forward,
    gradients back); it loads both groups when they differ. Data parallel: GPU ``q`` of every
    replica is in one all-reduce ring, visiting the replicas in order and closing back to the
    first; a ring step whose next GPU is in another group leaves this one (rings run one
    way, so only the sending group is charged).
    """
    pp: dict[int, int] = defaultdict(int)
    dp: dict[int, int] = defaultdict(int)
    if owners.size < 2:
        return pp, dp
    boundary = owners[1:] != owners[:-1]
    # The last GPU of node i and the first of node i+1 are in one replica unless a replica
    # starts exactly at node i+1.
    starts = ((np.arange(1, owners.size) * gpn) % replica) == 0
    idx = np.flatnonzero(boundary & ~starts)
    for a, b in zip(owners[idx].tolist(), owners[idx + 1].tolist(), strict=True):
        pp[a] += 1
        pp[b] += 1
    replicas = owners.size * gpn // replica
    if replicas >= 2 and replica % gpn == 0:
        # Whole nodes per replica: node p's GPUs all send to node p + replica/gpn.
        step = replica // gpn
        grp = owners[: replicas * step]
        out = grp[grp != np.concatenate((grp[step:], grp[:step]))]
        ids, counts = np.unique(out, return_counts=True)
        for g, c in zip(ids.tolist(), counts.tolist(), strict=True):
            dp[g] += c * gpn
    elif replicas >= 2:
        ranks = np.arange(replicas * replica).reshape(replicas, replica)
        grp = owners[ranks // gpn]
        nxt = np.roll(grp, -1, axis=0)
        out = grp[grp != nxt]
        ids, counts = np.unique(out, return_counts=True)
        for g, c in zip(ids.tolist(), counts.tolist(), strict=True):
            dp[g] += c
    return pp, dp
