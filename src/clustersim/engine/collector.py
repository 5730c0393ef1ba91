"""Python's cyclic garbage collector around the engine's two heavy phases.

Owns nothing but the collector's state for the length of a ``with`` block, and restores it
after; neither changes a result (tests/unit/test_collector.py):

* :func:`paused` while a scenario's jobs are built. Hundreds of thousands of long-lived
  objects are made there, and the collector would scan the growing heap again and again
  (``year-131k``'s 240,002 jobs: 0.9 s with it, 0.5 s without).
* :func:`frozen` while the simulation runs. What exists when the run starts (the jobs, the
  cluster, the imported modules) lives until it ends; moved to the permanent generation
  (``gc.freeze``), it is no longer traversed by every full collection (``fleet-350k-year``'s
  first 30 days: 1.7 s of full collections without, 0.1 s with). And no *full* collection
  runs inside the block (the oldest generation's threshold is raised out of reach; the two
  young generations are collected as usual). What a run makes and keeps is its event log,
  hundreds of thousands to millions of records, and each full collection traversed all of
  it again: in ``year-131k``'s first 120 days, 11 full collections took 4.2 s of 31 s CPU,
  and the run's cyclic garbage they found was none (a run with the collector off leaves
  no unreachable object, in every bench configuration and in the fault taxonomy's
  scenarios: ``tests/unit/test_collector.py``). A cycle made during the run that outlives
  two young collections is therefore collected after the run, not during it. At the end
  the thresholds are restored and everything frozen goes back to the oldest generation
  (``gc.unfreeze``). A process that has frozen objects itself (a forking server) keeps its
  own arrangement: the block then does nothing. "Itself" means more objects frozen than
  when this module was imported: CPython 3.12 starts with a few hundred objects in the
  permanent generation (3.11 and 3.13 with none), which are not a caller's.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["frozen", "paused"]

_FROZEN_AT_IMPORT = gc.get_freeze_count()
"""Objects the interpreter had frozen before any caller could (375 on CPython 3.12.1)."""

NO_FULL_COLLECTION = 2**31 - 1
"""The oldest generation's threshold inside :func:`frozen`: young collections before a full one."""


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block; the collector's previous state after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """Objects alive at entry frozen, and no full collection, inside the block (none frozen yet).

    The collector's thresholds and the frozen objects are restored after the block.
    """
    if not gc.isenabled() or gc.get_freeze_count() > _FROZEN_AT_IMPORT:
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_COLLECTION)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
