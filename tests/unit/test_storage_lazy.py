"""The shared store's lazy writes, operation by operation (``clustersim.storage``).

A lazy write has no timer; only an operation that changes the store while it is in flight
may make it an ordinary one (its writer is told through ``demote``). Operations that change
nothing (a cancel of a key with no write, a write of nothing) must leave it alone: a lazy
write made ordinary without its timer would never complete. Which operations demote, and
that an ordinary write's end is the same instant a lazy one's would have been, is checked
here on the store alone; whole runs are compared in tests/property/test_lazy_writes.py.
"""

from __future__ import annotations

import simpy

from clustersim.storage import SharedStore

GB = 1e9


def lazy_store(at: float = 100.0) -> tuple[simpy.Environment, SharedStore, list[str]]:
    """A store at t = ``at`` with job 1's 10 GB write at 1 GB/s in flight, lazily."""
    env = simpy.Environment(initial_time=at)
    store = SharedStore(env, bandwidth=1 * GB)
    calls: list[str] = []
    end = store.lazy_end(10 * GB, env.now)
    assert end == at + 10.0
    store.write_lazily(
        1,
        10 * GB,
        end,
        then=lambda: calls.append(f"then@{env.now}"),
        demote=lambda: calls.append("demote"),
    )
    return env, store, calls


def run_to(env: simpy.Environment, t: float) -> None:
    env.run(until=env.timeout(t - env.now))


def test_a_lazy_write_keeps_the_store_busy_until_its_end_and_then_is_forgotten() -> None:
    env, store, calls = lazy_store()
    assert store.lazy_end(1 * GB, env.now) is None  # another lone write may not be lazy now
    run_to(env, 105.0)
    assert store.lazy_end(1 * GB, env.now) is None
    run_to(env, 110.0)
    assert store.lazy_end(1 * GB, env.now) == 111.0  # ended at 110: the store is free
    assert calls == []  # a lazy write's writer counts its own end; nothing is called


def test_cancelling_a_key_with_no_write_leaves_a_lazy_write_alone() -> None:
    env, store, calls = lazy_store()
    run_to(env, 103.0)
    store.cancel(2)
    assert calls == []
    run_to(env, 110.0)
    assert store.lazy_end(1 * GB, env.now) is not None


def test_a_write_of_nothing_leaves_a_lazy_write_alone() -> None:
    env, store, calls = lazy_store()
    run_to(env, 103.0)
    done = store.write(2, 0.0)
    assert done.triggered
    assert calls == []
    store.write_then(3, 2 * GB, lambda: calls.append(f"3@{env.now}"))  # now it is shared
    assert calls == ["demote"]
    env.run()
    # 3 GB written alone by t=103, then 1 GB/s shared: 1's 7 GB left and 3's 2 GB end
    # together at 107 (2 GB each), then 1 alone writes its last 5 GB by 112.
    assert calls == ["demote", "3@107.0", "then@112.0"]


def test_a_second_writer_or_a_bandwidth_change_demotes_it_with_the_same_arithmetic() -> None:
    env, store, calls = lazy_store()
    run_to(env, 104.0)
    store.set_factor(0.5)  # 6 GB left at 0.5 GB/s: ends at 116
    assert calls == ["demote"]
    env.run()
    assert calls == ["demote", "then@116.0"]


def test_cancelling_the_lazy_write_itself_removes_it() -> None:
    env, store, calls = lazy_store()
    run_to(env, 104.0)
    store.cancel(1)
    assert calls == ["demote"]
    assert not store.writers
    assert store.lazy_end(1 * GB, env.now) == 105.0
    env.run()
    assert calls == ["demote"]


def test_after_its_end_a_lazy_write_is_not_demoted_by_anything() -> None:
    """At the instant it ends, too: a write begun then has the store to itself (a tie)."""
    env, store, calls = lazy_store()
    run_to(env, 110.0)  # the write ended at 110, exactly now
    store.write_then(2, 1 * GB, lambda: calls.append(f"2@{env.now}"))
    store.cancel(1)
    env.run()
    assert calls == ["2@111.0"]
