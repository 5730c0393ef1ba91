"""Does ``unittest.mock.patch.object`` on an engine class still take effect? (issue 22, mypyc)

Run once per package tree; on the mypyc-compiled tree both patches are silently ignored by
the compiled callers (native method calls and class attributes do not go through the class
``__dict__``), so tests built on them pass without testing anything::

    PYTHONPATH=/tmp/mx/pure uv run python bench/mypyc_patchcheck.py
    PYTHONPATH=/tmp/mx/b uv run python bench/mypyc_patchcheck.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import configurations as C

import clustersim.engine.dispatcher as dispatcher_module
from clustersim.engine.dispatcher import Dispatcher
from clustersim.engine.fleet import Fleet
from clustersim.engine.simulation import Simulation


def short(name: str, hours: float) -> Any:
    """The configuration ``name`` cut to ``hours`` of simulated time."""
    s = C.CONFIGS[name].build()
    return s.model_copy(update={"run": s.run.model_copy(update={"horizon": hours * 3600})})


def main() -> int:
    calls = 0
    original = Dispatcher._queue_view

    def counting(self: Dispatcher, view: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, view)

    with patch.object(Dispatcher, "_queue_view", counting):
        Simulation(short("hpcsim-day", 3), replication=0, seed=0, keep_log=False).run()
    name = Path(dispatcher_module.__file__ or "").name
    print(f"{name}: patched Dispatcher._queue_view called {calls} times")
    events = {}
    for flag in (True, False):
        with patch.object(Fleet, "batch_repairs", flag):
            sim = Simulation(short("year-131k", 48), replication=0, seed=0, keep_log=False)
            sim.run()
        events[flag] = next(sim.env._eid)
    print(f"SimPy events, Fleet.batch_repairs patched True/False: {events[True]}/{events[False]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
