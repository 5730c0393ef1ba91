from __future__ import annotations

from clustersim.config import Scenario
from clustersim.rng import Streams
from clustersim.workload import build_workload


def scenario(**workload: object) -> Scenario:
    return Scenario.model_validate({"workload": workload})


def test_explicit_jobs_with_count_and_checkpoint_size() -> None:
    sc = scenario(
        jobs=[
            {
                "name": "b",
                "gpus": 16,
                "work": "1h",
                "submit": "2h",
                "count": 2,
                "model_params": 1e9,
            },
            {"name": "a", "gpus": 8, "work": "1h", "checkpoint_bytes": "1TB"},
        ]
    )
    jobs = build_workload(sc, Streams(0))
    assert [j.name for j in jobs] == ["a", "b-0", "b-1"]
    assert [j.id for j in jobs] == [0, 1, 2]
    assert jobs[0].checkpoint_bytes == 1e12
    assert jobs[1].checkpoint_bytes == 14e9


def test_generator_is_seeded_sorted_and_bounded() -> None:
    sc = scenario(
        generator={
            "jobs": 500,
            "window": "10d",
            "classes": [
                {"name": "s", "weight": 3, "gpus": [8], "work_median": "1h", "work_max": "5h"},
                {"name": "l", "weight": 1, "gpus": [64, 128], "work_median": "10h"},
            ],
        }
    )
    a = build_workload(sc, Streams(1))
    b = build_workload(sc, Streams(1))
    c = build_workload(sc, Streams(2))
    assert a == b and a != c
    submits = [j.submit_s for j in a]
    assert submits == sorted(submits) and submits[0] >= 0 and submits[-1] <= 10 * 86400
    small = [j for j in a if j.name.startswith("s-")]
    assert all(j.work_s <= 5 * 3600 for j in small)
    assert 0.65 < len(small) / len(a) < 0.85


# --------------------------------------------------------------------------- users and groups


def test_job_specs_carry_their_user_and_group() -> None:
    sc = scenario(
        jobs=[
            {"name": "a", "gpus": 8, "work": "1h", "user": "alice", "group": "ml"},
            {"name": "b", "gpus": 8, "work": "1h", "user": "bob"},
            {"name": "c", "gpus": 8, "work": "1h"},
        ]
    )
    jobs = build_workload(sc, Streams(0))
    assert [(j.user, j.group) for j in jobs] == [("alice", "ml"), ("bob", ""), ("", "")]


def test_generated_users_come_from_their_own_stream_and_follow_the_skew() -> None:
    classes = [{"name": "s", "weight": 1, "gpus": [8], "work_median": "1h"}]
    plain = scenario(generator={"jobs": 2000, "window": "10d", "classes": classes})
    users = {"count": 4, "skew": 1.0, "groups": 2}
    with_users = scenario(
        generator={"jobs": 2000, "window": "10d", "classes": classes, "users": users}
    )
    a, b = build_workload(plain, Streams(3)), build_workload(with_users, Streams(3))
    # Drawing users changes nothing else (its own stream): same jobs, now with owners.
    assert [(j.submit_s, j.gpus, j.work_s) for j in a] == [
        (j.submit_s, j.gpus, j.work_s) for j in b
    ]
    assert {j.user for j in a} == {""}
    counts = {u: sum(j.user == u for j in b) for u in ("u0", "u1", "u2", "u3")}
    # Zipf with exponent 1 over 4 users: shares 12/25, 6/25, 4/25, 3/25.
    for user, share in zip(counts, (12 / 25, 6 / 25, 4 / 25, 3 / 25), strict=True):
        assert abs(counts[user] / 2000 - share) < 0.04, counts
    assert all(j.group == f"g{int(j.user[1:]) % 2}" for j in b)
    assert b == build_workload(with_users, Streams(3))


def test_a_swf_trace_gives_users_and_groups(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "t.swf"
    path.write_text(
        "1 0 0 100 4 -1 -1 4 -1 -1 1 7 3 -1 -1 -1 -1 -1\n"
        "2 5 0 100 4 -1 -1 4 -1 -1 1 -1 -1 -1 -1 -1 -1 -1\n",
        encoding="utf-8",
    )
    jobs = build_workload(scenario(trace={"path": str(path), "format": "swf"}), Streams(0))
    assert [(j.user, j.group) for j in jobs] == [("7", "3"), ("", "")]
