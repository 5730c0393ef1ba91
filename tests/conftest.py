"""Shared pytest configuration: Hypothesis profiles and how pytest-xdist shares out the tests.

Profiles ``dev``, ``ci``, ``thorough`` and ``fuzz``: ``ci`` is loaded when the ``CI``
environment variable is set; otherwise ``HYPOTHESIS_PROFILE`` names the profile, defaulting to
``dev``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=20, deadline=None)  # no wall-clock deadlines
settings.register_profile("ci", max_examples=100, derandomize=True, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None)  # the 10k-example runs
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


ONE_WORKER_MODULES = frozenset(
    {
        "tests/analytic/test_llama3.py",  # module fixture `counts`: 12 runs of the preset
        "tests/unit/test_validate.py",  # module fixture `quick_results`: validate --quick
        "tests/benchmark/test_hot_paths.py",  # one process writes the figures (-n0 to time)
    }
)
"""Modules whose tests one pytest-xdist worker runs together, so that what they share is built
once. (xdist's own ``xdist_group`` mark is lost under pytest 9.2, which derives node ids
from ``Node._id``.)"""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist load`` (the default of ``-n``) with :data:`ONE_WORKER_MODULES` kept together.

    Every other test is its own unit of work, handed out as workers free up. The modules go
    first (xdist's loadscope orders units by size), so no long group is left for the end.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return ModulesTogether(config, log)


class TestTimedOut(BaseException):
    """A test ran past :data:`TEST_TIMEOUT_S` (a BaseException, so Hypothesis does not retry)."""


TEST_TIMEOUT_S = 420.0
"""Wall seconds after which a test is stopped: a runaway fails its test instead of hanging the
whole run until CI's limit (the slowest test takes ~90 s)."""


@pytest.fixture(autouse=True)
def _runaway_guard() -> Any:
    """Arm a SIGALRM timer around each test (tests that set their own timer replace it)."""
    import signal
    import threading

    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise TestTimedOut(f"still running after {TEST_TIMEOUT_S:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
