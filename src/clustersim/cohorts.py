"""The fleet's cohorts as the engine sees them: which node belongs to which cohort, and when.

:class:`Cohorts` is a plain value built once from a scenario's ``fleet`` section (or one
cohort of new nodes without it). It owns the mapping from node id to cohort (cohorts take
consecutive ids in the order listed), each cohort's install time in seconds from the run's
start (never positive) and its per-source hazard overrides. Fault sources read it through
:class:`~clustersim.faults.base.World`; the period ledger reads it to split failures by cohort.
Phase 2 hook: a cluster that grows or shrinks mid-run would append or retire cohorts here.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from clustersim.config import HazardConfig, Scenario

__all__ = ["Cohorts"]


@dataclass(frozen=True, slots=True)
class Cohorts:
    """Node ranges, install times and hazard overrides of the fleet's cohorts."""

    names: tuple[str, ...]
    first: tuple[int, ...]
    """The first node id of each cohort (ascending; cohort ``i`` ends where ``i + 1`` starts)."""
    counts: tuple[int, ...]
    install_s: tuple[float, ...]
    """Install time of each cohort, seconds from the run's start (0 or negative)."""
    hazards: tuple[dict[str, HazardConfig], ...]

    @classmethod
    def of(cls, scenario: Scenario) -> Cohorts:
        """The scenario's cohorts; without ``fleet``, one cohort ``all`` installed at 0."""
        fleet = scenario.fleet
        if fleet is None:
            return cls(("all",), (0,), (scenario.cluster.n_nodes,), (0.0,), ({},))
        names = tuple(c.name or f"cohort-{i}" for i, c in enumerate(fleet.cohorts))
        counts = tuple(c.count for c in fleet.cohorts)
        first = tuple(sum(counts[:i]) for i in range(len(counts)))
        install = tuple(fleet.install_s(i) for i in range(len(counts)))
        hazards = tuple(dict(c.hazards) for c in fleet.cohorts)
        return cls(names, first, counts, install, hazards)

    def cohort_of(self, node: int) -> int:
        """The index of the cohort holding ``node``."""
        return bisect.bisect_right(self.first, node) - 1

    def hazard(self, cohort: int, source: str, default: HazardConfig | None) -> HazardConfig | None:
        """Source ``source``'s hazard on cohort ``cohort``: its override, else ``default``."""
        return self.hazards[cohort].get(source, default)
