from __future__ import annotations

import json

import pytest

from clustersim.analysis.validate import CASES, run_cases, to_markdown
from clustersim.cli import main


def test_cases_registered() -> None:
    assert {
        "young-daly-exact",
        "exact-grid",
        "llama3-interruptions",
        "llama3-restart",
        "kokolis-mttf",
        "checkpoint-size",
        "beyond-formulas",
    } <= set(CASES)


def test_checkpoint_size_case_passes() -> None:
    (case,) = run_cases(["checkpoint-size"], quick=True)
    assert case.passed
    assert {r.status for r in case.rows} == {"PASS"}
    assert "| checkpoint size (TB) | 5.67 |" in to_markdown([case], quick=True)


def test_young_daly_exact_quick(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--quick", "--case", "young-daly-exact", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["passed"]
    rows = {r["quantity"]: r for r in out["cases"][0]["rows"]}
    exact = rows["ETTR (exact model)"]
    assert exact["des"]["ci95"][0] <= exact["formula"] <= exact["des"]["ci95"][1]


def test_unknown_case_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--case", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "known:" in err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list"]) == 0
    assert "kokolis-mttf" in capsys.readouterr().out


@pytest.fixture(scope="module")
def quick_results() -> list:
    return run_cases(quick=True)


def test_every_quick_case_passes(quick_results: list) -> None:
    failed = [(c.name, r.quantity) for c in quick_results for r in c.rows if r.status == "FAIL"]
    assert not failed
    assert [c.name for c in quick_results] == list(CASES)


def test_reports_render(quick_results: list) -> None:
    import io

    from rich.console import Console

    from clustersim.analysis.validate import to_dict
    from clustersim.output.terminal import render_validation

    buf = io.StringIO()
    Console(file=buf, width=120).print(render_validation(quick_results))
    text = buf.getvalue()
    assert f"{len(quick_results)} of {len(quick_results)} cases passed" in text
    md = to_markdown(quick_results, quick=True)
    assert md.count("\n## ") == len(quick_results)
    assert to_dict(quick_results)["passed"]


def test_progress_bar_appears_only_on_a_terminal_after_a_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from clustersim.commands import common
    from clustersim.output import progress

    quiet = common.progress_bar()
    with quiet as update:
        assert update is None  # not a terminal (pytest captures stderr)
    from rich.console import Console

    bar = common.progress_bar()
    monkeypatch.setattr(progress, "_may_be_a_terminal", lambda stream: True)
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    monkeypatch.setattr(progress, "PROGRESS_DELAY_S", 0.0)
    with bar as update:
        assert update is not None
        update(1.0, 4.0)
        update(4.0, 4.0)
        assert bar._progress is not None
