"""Fair share and Tiresias under faults: the engine state they read stays consistent.

Whole small scenarios from ``strategies.scenarios`` (faults, recoveries, checkpoint costs,
spares) run with the policy forced to ``fair-share`` or ``tiresias`` and the engine's own
invariant checks on after every event (INV-1, held nodes, the views' order). On top:

* usage (fair share) is non-negative, and with no decay it equals the GPU-seconds the jobs
  of each account held, as the metrics count them (allocation from placement to release);
* attained service (Tiresias) of every job still in the system is non-negative and
  ``gpus x`` its executed time;
* the GPU-seconds identity balances (``run_replication`` raises if not).
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import scenarios

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.experiment import run_replication


def forced(scenario: Scenario, policy: str, half_life: float | None) -> Scenario:
    """``scenario`` with its policy (and fair share's half-life) replaced."""
    sched = scenario.scheduler.model_copy(
        update={
            "policy": policy,
            "fair_share": scenario.scheduler.fair_share.model_copy(update={"half_life": half_life}),
        }
    )
    return scenario.model_copy(update={"scheduler": sched})


@settings(deadline=None)
@given(scenarios(check_invariants=True), st.sampled_from(("fair-share", "tiresias")))
def test_state_read_by_the_new_policies_is_consistent(scenario: Scenario, policy: str) -> None:
    scenario = forced(scenario, policy, None)
    run_replication(scenario, 0, scenario.run.seed)  # identity checked inside
    sim = Simulation(scenario, seed=scenario.run.seed)
    sim.run(None)
    runner = sim.policy_runner
    end = sim.env.now
    if runner.usage is not None:
        usage = dict(runner.usage.at(end))
        held: dict[str, float] = {}
        for job in sim.jobs:
            job.sync_held(end, sim.gpus_per_node)
        assert all(u >= 0 for u in usage.values())
        # Without decay, usage is GPU-seconds of allocations. A job that lost nodes holds
        # fewer than its allocation until replaced, so usage is at least what it held.
        for job in sim.jobs:
            held[job.account] = held.get(job.account, 0.0) + job.held_gpu_s
        for account, value in usage.items():
            assert value >= held.get(account, 0.0) * (1 - 1e-9) - 1e-6
    if runner.service is not None:
        for job_id, attained in runner.service.at().items():
            gpus = sim.jobs[job_id].gpus
            assert attained.service_gpu_s >= 0 and attained.executed_s >= 0
            assert math.isclose(
                attained.service_gpu_s, gpus * attained.executed_s, rel_tol=1e-9, abs_tol=1e-6
            )
