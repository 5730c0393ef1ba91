"""Runtime estimates (``scheduler.estimates``) and faithful trace replay (issue 15, items 4, 8).

The differential test against the reference scheduler with users' estimates lives in
``tests/reference``; these check where estimates come from and what policies see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.rng import Streams
from clustersim.workload import build_workload

SAMPLE = Path(__file__).resolve().parents[2] / "src/clustersim/traces/samples/sample.swf"


def scenario(model: dict[str, Any], **workload: Any) -> Scenario:
    jobs = [{"name": "a", "gpus": 8, "work": "1h"}, {"name": "b", "gpus": 8, "work": "2h"}]
    return Scenario.model_validate(
        {
            "workload": workload or {"jobs": jobs},
            "scheduler": {"policy": "easy-backfill", "estimates": model},
        }
    )


def estimates(sc: Scenario, seed: int = 0) -> list[float | None]:
    return [job.estimate_s for job in build_workload(sc, Streams(seed))]


def test_exact_is_the_default_and_leaves_no_estimate() -> None:
    assert estimates(scenario({})) == [None, None]


def test_factor_scales_the_work() -> None:
    assert estimates(scenario({"model": "factor", "factor": 3})) == [3 * 3600.0, 6 * 3600.0]


def test_f_model_draws_uniform_factors_in_one_to_f_from_its_own_stream() -> None:
    jobs = {"jobs": [{"name": "j", "gpus": 1, "work": "1h", "count": 2000}]}
    sc = scenario({"model": "f-model", "f": 5}, **jobs)
    factors = [e / 3600.0 for e in estimates(sc) if e is not None]
    assert len(factors) == 2000
    assert min(factors) >= 1.0 and max(factors) <= 5.0
    assert sum(factors) / len(factors) == pytest.approx(3.0, abs=0.1)  # mean (1 + f) / 2
    assert estimates(sc) == estimates(sc)  # same seed, same draws
    assert estimates(sc, seed=1) != estimates(sc)


def test_requested_reads_a_job_spec_estimate_else_exact() -> None:
    jobs = [{"name": "a", "gpus": 8, "work": "1h", "estimate": "4h"}, {"gpus": 8, "work": "1h"}]
    assert estimates(scenario({"model": "requested"}, jobs=jobs)) == [4 * 3600.0, None]


def test_requested_reads_swf_field_9_scaled_with_the_work() -> None:
    trace = {"path": str(SAMPLE), "time_scale": 0.5}
    got = estimates(scenario({"model": "requested"}, trace=trace))
    # Field 9 of the sample's jobs with a run time: 7200, 1800, 172800, 3600 ... s.
    assert got[:3] == [3600.0, 900.0, 86400.0]


def test_policies_see_the_estimate_in_queue_and_running_views() -> None:
    jobs = [{"name": "a", "gpus": 8, "work": "1h", "estimate": "3h"}]
    sc = scenario({"model": "requested"}, jobs=jobs)
    sc = sc.model_copy(update={"checkpoint": sc.checkpoint.model_copy(update={"policy": "none"})})
    sim = Simulation(sc)
    job = sim.jobs[0]
    assert job.as_queued().est_runtime_s == job.init_s + 3 * 3600.0
    sim.run(None)
    assert job.finish_s == job.init_s + 3600.0  # it runs for its work, not its estimate
    job.phase = type(job.phase).RUNNING  # the view of a running job, as at its start
    job.epoch_start_s = job.init_s
    job.committed_s = 0.0
    assert job.as_running().est_end_s == job.init_s + 3 * 3600.0


def test_faithful_replay_has_no_costs_and_no_faults_and_keeps_the_trace_clock() -> None:
    trace = {"path": str(SAMPLE), "faithful": True, "origin": "trace"}
    sc = Scenario.model_validate(
        {
            "workload": {"trace": trace},
            "faults": {"node": {"rate": "5/1000 node-days"}},
            "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 8, "pods": 1},
        }
    )
    assert sc.faults == {} and sc.lemons is None
    assert sc.checkpoint.policy == "none"
    assert (sc.restart.init, sc.restart.init_per_gpu, sc.restart.detection) == (0, 0, 0)
    sim = Simulation(sc)
    sim.run(None)
    ran = [j for j in sim.jobs if j.finish_s == j.finish_s]  # finished
    assert ran and all(j.finish_s - j.first_start_s == j.work_s for j in ran)
    first = build_workload(sc, Streams(0))[0]
    shifted = build_workload(
        sc.model_copy(
            update={
                "workload": sc.workload.model_copy(
                    update={"trace": sc.workload.trace.model_copy(update={"origin": "first-job"})}  # type: ignore[union-attr]
                )
            }
        ),
        Streams(0),
    )[0]
    assert first.submit_s == shifted.submit_s == 0.0  # the sample's first job is at t=0
