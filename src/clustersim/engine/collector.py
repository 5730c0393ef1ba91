"""Python's cyclic garbage collector around the engine's two heavy phases.

Owns nothing but the collector's state for the length of a ``with`` block, and restores it
after; neither changes a result (tests/unit/test_collector.py):

* :func:`paused` while a scenario's jobs are built. Hundreds of thousands of long-lived
  objects are made there, and the collector would scan the growing heap again and again
  (``year-131k``'s 240,002 jobs: 0.9 s with it, 0.5 s without).
* :func:`frozen` while the simulation runs. What exists when the run starts (the jobs, the
  cluster, the imported modules) lives until it ends; moved to the permanent generation
  (``gc.freeze``), it is no longer traversed by every full collection (``fleet-350k-year``'s
  first 30 days: 1.7 s of full collections without, 0.1 s with). And full collections are
  ten times rarer inside the block (the oldest generation's threshold 10 -> 100; the young
  generations as usual). What a run makes and keeps is above all its event log, hundreds of
  thousands to millions of records, and each full collection walked all of it again: the
  whole ``year-131k`` with its log kept spent 15.1 s of 83.5 s CPU in 19 full collections
  (``bench/gc_share.py``). Not none: a run's cyclic garbage is none on CPython 3.11 but
  not on 3.12 (up to 0.6 unreachable objects per record in the presets), and it must still
  be collected during a long run. At the end the thresholds are restored and everything
  frozen goes back to the oldest generation (``gc.unfreeze``). A process that has frozen
  objects itself (a forking server) keeps its own arrangement: the block then does
  nothing. "Itself" means more objects frozen than when this module was imported: CPython
  3.12 starts with a few hundred objects in the permanent generation (3.11 and 3.13 with
  none), which are not a caller's.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["frozen", "paused"]

_FROZEN_AT_IMPORT = gc.get_freeze_count()
"""Objects the interpreter had frozen before any caller could (375 on CPython 3.12.1)."""

RARE_FULL_COLLECTIONS = 100
"""The oldest generation's threshold inside :func:`frozen` (CPython's default is 10)."""


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
    """Objects alive at entry frozen, and rarer full collections, in the block (none frozen yet).

    The collector's thresholds and the frozen objects are restored after the block.
    """
    if not gc.isenabled() or gc.get_freeze_count() > _FROZEN_AT_IMPORT:
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], RARE_FULL_COLLECTIONS))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
