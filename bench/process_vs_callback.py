"""What a SimPy process costs over a plain callback chain, per event (issue 22, session 6).

Two loops of N bare ``env.timeout(1)`` events, alternately: one resumed by a generator
process (what each job placement is), one re-armed by a callback (what a callback-driven job
would be). Prints the best CPU microseconds per event of each; the difference is the most a
rewrite of the job lifecycle into callbacks could save per resume.

Usage::

    uv run python bench/process_vs_callback.py [N] [repeat]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator
from typing import Any

import simpy


def by_process(n: int) -> float:
    """CPU seconds of ``n`` timeouts waited for by one generator process."""
    env = simpy.Environment()

    def proc() -> Generator[Any, Any, None]:
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(proc())
    t0 = time.process_time()
    env.run()
    return time.process_time() - t0


def by_callback(n: int) -> float:
    """CPU seconds of ``n`` timeouts, each arming the next from its callback."""
    env = simpy.Environment()
    left = [n]

    def again(_: simpy.Event) -> None:
        left[0] -= 1
        if left[0] > 0:
            env.timeout(1.0).callbacks.append(again)

    env.timeout(1.0).callbacks.append(again)
    t0 = time.process_time()
    env.run()
    return time.process_time() - t0


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 200_000
    repeat = int(argv[1]) if len(argv) > 1 else 5
    best = {"process": float("inf"), "callback": float("inf")}
    for _ in range(repeat):
        best["process"] = min(best["process"], by_process(n))
        best["callback"] = min(best["callback"], by_callback(n))
    per = {k: v / n * 1e6 for k, v in best.items()}
    sys.stdout.write(
        f"process {per['process']:.3f} us/event, callback {per['callback']:.3f} us/event, "
        f"difference {per['process'] - per['callback']:.3f} us (best of {repeat}, N={n})\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
