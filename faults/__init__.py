"""Fault sources, one per module, registered by kind.

A fault source owns its own named random stream (``faults.<name>``) and one SimPy process
that decides *when* and *where* something breaks; it then asks the world
(:class:`clustersim.faults.base.World`, implemented by the engine) to carry out the effect:
take nodes down for repair, or kill the job on a node. Adding a source means adding a module
and a registry entry; the engine does not change.
"""

from __future__ import annotations

from typing import Any

from clustersim.faults.base import FaultSource, World
from clustersim.faults.flap import LinkFlaps
from clustersim.faults.maintenance import MaintenanceWindows
from clustersim.faults.poisson import PoissonFaults
from clustersim.faults.sdc import SilentCorruption
from clustersim.faults.storage import StorageWindows
from clustersim.faults.straggler import Stragglers
from clustersim.faults.switch import SwitchFaults
from clustersim.faults.trace import TraceFaults

__all__ = ["REGISTRY", "FaultSource", "World"]

REGISTRY: dict[str, Any] = {
    "poisson": PoissonFaults,
    "maintenance": MaintenanceWindows,
    "flap": LinkFlaps,
    "switch": SwitchFaults,
    "straggler": Stragglers,
    "sdc": SilentCorruption,
    "storage": StorageWindows,
    "trace": TraceFaults,
}
