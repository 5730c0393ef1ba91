"""The fleet's cohorts as the engine sees them: which node belongs to which cohort, and when.

:class:`Cohorts` is a plain value built once from a scenario's ``fleet`` section (or one
cohort of new nodes without it). It owns the mapping from node id to cohort (cohorts take
consecutive ids in the order listed), each cohort's install time in seconds from the run's
start (positive for an expansion), its retirement time (``inf`` when never retired) and its
per-source hazard overrides. Fault sources read it through
:class:`~clustersim.faults.base.World`; the fleet-size component schedules installs and
retirements from it; the period ledger reads it to split failures by cohort.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from clustersim.config import HazardConfig, Scenario

__all__ = ["FLEET_CAUSES", "REFRESH_CAUSE", "RETIRE_CAUSE", "Cohorts"]

RETIRE_CAUSE = "retirement"
"""The planned cause under which a job drains a node of a retiring cohort (docs/fleet.md)."""
REFRESH_CAUSE = "refresh"
"""The planned cause under which nodes are swapped for new ones by ``refresh.cohort_rate``."""
FLEET_CAUSES = (RETIRE_CAUSE, REFRESH_CAUSE)
"""The planned causes of fleet changes (only with expansions, retirements or refresh)."""


@dataclass(frozen=True, slots=True)
class Cohorts:
    """Node ranges, install times and hazard overrides of the fleet's cohorts."""

    names: tuple[str, ...]
    first: tuple[int, ...]
    """The first node id of each cohort (ascending; cohort ``i`` ends where ``i + 1`` starts)."""
    counts: tuple[int, ...]
    install_s: tuple[float, ...]
    """Install time of each cohort, seconds from the run's start (positive: an expansion)."""
    hazards: tuple[dict[str, HazardConfig], ...]
    retire_s: tuple[float, ...] = ()
    """Retirement time of each cohort (install + retirement age), ``inf`` if never; empty
    when no cohort retires."""

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
        retire: tuple[float, ...] = ()
        if any(c.retire is not None for c in fleet.cohorts):
            retire = tuple(
                math.inf if c.retire is None else install[i] + c.retire
                for i, c in enumerate(fleet.cohorts)
            )
        return cls(names, first, counts, install, hazards, retire)

    def retire_at(self, cohort: int) -> float:
        """When cohort ``cohort`` retires (``inf``: never)."""
        return self.retire_s[cohort] if self.retire_s else math.inf

    def in_service_s(self, cohort: int, start: float, end: float) -> float:
        """Seconds of ``[start, end)`` in which cohort ``cohort`` is installed and not retired."""
        lo = max(start, self.install_s[cohort])
        hi = min(end, self.retire_at(cohort))
        return max(0.0, hi - lo)

    def cohort_of(self, node: int) -> int:
        """The index of the cohort holding ``node``."""
        return bisect.bisect_right(self.first, node) - 1

    def hazard(self, cohort: int, source: str, default: HazardConfig | None) -> HazardConfig | None:
        """Source ``source``'s hazard on cohort ``cohort``: its override, else ``default``."""
        return self.hazards[cohort].get(source, default)
