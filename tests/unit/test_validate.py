from __future__ import annotations

import json

import pytest

from clustersim.cli import main
from clustersim.validate import CASES, run_cases, to_markdown


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
