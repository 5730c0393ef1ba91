"""The cases of ``clustersim validate``, registered by name in :data:`CASES` (run in this order).

A case is a function ``(quick: bool) -> CaseResult`` whose docstring's first line is its
``validate --list`` description. Closed-form cases are in
:mod:`~clustersim.analysis.cases.formulas` (the facility power cap's in
:mod:`~clustersim.analysis.cases.power`, ageing fleets in
:mod:`~clustersim.analysis.cases.fleet`), preset-scale cases in
:mod:`~clustersim.analysis.cases.scale`, the network model's in
:mod:`~clustersim.analysis.cases.network`, the row types in
:mod:`~clustersim.analysis.cases.base`; running and rendering them is
:mod:`clustersim.analysis.validate`.
"""

from __future__ import annotations

from collections.abc import Callable

from clustersim.analysis.cases.base import CaseResult
from clustersim.analysis.cases.fleet import case_fleet_changes
from clustersim.analysis.cases.formulas import (
    case_checkpoint_size,
    case_exact_grid,
    case_kokolis_mttf,
    case_llama3_restart,
    case_young_daly_exact,
)
from clustersim.analysis.cases.network import case_network_beyond, case_network_closed_form
from clustersim.analysis.cases.power import case_power_cap, case_power_closed_form
from clustersim.analysis.cases.scale import case_beyond, case_llama3_interruptions

__all__ = ["CASES"]

CASES: dict[str, Callable[[bool], CaseResult]] = {
    "young-daly-exact": case_young_daly_exact,
    "exact-grid": case_exact_grid,
    "llama3-interruptions": case_llama3_interruptions,
    "llama3-restart": case_llama3_restart,
    "kokolis-mttf": case_kokolis_mttf,
    "checkpoint-size": case_checkpoint_size,
    "power-closed-form": case_power_closed_form,
    "power-cap": case_power_cap,
    "beyond-formulas": case_beyond,
    "fleet-changes": case_fleet_changes,
    "network-closed-form": case_network_closed_form,
    "network-beyond": case_network_beyond,
}
