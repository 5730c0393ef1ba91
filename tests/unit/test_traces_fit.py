"""``clustersim.traces.fit``: special functions, MLE recovery, KS power, traces, YAML, CLI.

Tolerances are standard errors computed from theory (the Fisher information of the model),
never picked: an MLE from n draws must lie within Z_SE standard errors of the truth.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from clustersim.cli import main
from clustersim.config import ConfigError, UsageError, load_scenario_text
from clustersim.traces.fit import (
    Sample,
    chi2_quantile,
    fit_exponential,
    fit_trace,
    fit_weibull,
    gamma_p,
    kolmogorov_sf,
    sample_from_times,
)

Z_SE = 4.0  # |estimate - truth| < 4 SE fails a correct fitter with probability 6e-5
EULER_GAMMA = 0.5772156649015329
DAY = 86400.0


def weibull_se(k: float, scale: float, n: int) -> tuple[float, float]:
    """Asymptotic SEs of the complete-data Weibull MLE (inverse Fisher information).

    Var(k) = 6 k² / (π² n); Var(λ) = λ² (1 + 6 (1 − γ)² / π²) / (k² n).
    """
    var_k = 6.0 * k * k / (math.pi**2 * n)
    var_scale = scale**2 * (1.0 + 6.0 * (1.0 - EULER_GAMMA) ** 2 / math.pi**2) / (k * k * n)
    return math.sqrt(var_k), math.sqrt(var_scale)


# ----------------------------------------------------------------- special functions


@pytest.mark.parametrize("p", [0.001, 0.025, 0.5, 0.975, 0.999])
def test_chi2_quantile_with_two_dof_is_closed_form(p: float) -> None:
    assert chi2_quantile(p, 2.0) == pytest.approx(-2.0 * math.log1p(-p), rel=1e-12)


@pytest.mark.parametrize(("a", "x"), [(1, 0.3), (3, 2.0), (10, 7.5), (50, 60.0), (400, 380.0)])
def test_gamma_p_at_integer_a_is_a_poisson_tail(a: int, x: float) -> None:
    # P(a, x) = P(Poisson(x) >= a) for integer a.
    below = sum(math.exp(-x + j * math.log(x) - math.lgamma(j + 1)) for j in range(a))
    assert gamma_p(a, x) == pytest.approx(1.0 - below, abs=1e-12)


def test_chi2_quantile_inverts_the_cdf_at_large_dof() -> None:
    for dof in (10.0, 200.0, 5000.0):
        for p in (0.025, 0.975):
            assert gamma_p(dof / 2, chi2_quantile(p, dof) / 2) == pytest.approx(p, abs=1e-10)


def test_kolmogorov_sf_known_values_and_continuity() -> None:
    assert kolmogorov_sf(1.3581) == pytest.approx(0.05, abs=2e-4)  # the 5 % critical value
    assert kolmogorov_sf(1.6276) == pytest.approx(0.01, abs=1e-4)  # the 1 % critical value
    # The two series (below and above t = 1) agree where they meet.
    assert kolmogorov_sf(1.0 - 1e-9) == pytest.approx(kolmogorov_sf(1.0), abs=1e-8)
    assert kolmogorov_sf(0.1) == 1.0 and kolmogorov_sf(0.0) == 1.0


# ----------------------------------------------------------------- MLE recovery


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exponential_mle_recovers_the_rate_and_its_ci_is_exact(seed: int) -> None:
    rate, n = 1.0 / 3600.0, 2000
    x = np.random.default_rng(seed).exponential(1.0 / rate, n)
    fit = fit_exponential(Sample.complete(x))
    assert abs(fit.rate - rate) < Z_SE * rate / math.sqrt(n)
    assert fit.se == pytest.approx(fit.rate / math.sqrt(n))
    assert fit.low < rate < fit.high
    # Garwood's bounds: the chi-square quantiles at 2n and 2n + 2 degrees of freedom.
    total = float(x.sum())
    assert fit.low == pytest.approx(chi2_quantile(0.025, 2 * n) / (2 * total))
    assert fit.high == pytest.approx(chi2_quantile(0.975, 2 * n + 2) / (2 * total))


def test_exponential_ci_covers_the_truth_at_its_level() -> None:
    rng = np.random.default_rng(7)
    reps, n = 400, 5
    covered = 0
    for _ in range(reps):
        fit = fit_exponential(Sample.complete(rng.exponential(1.0, n)))
        covered += fit.low < 1.0 < fit.high
    # An exact interval covers >= 95 %; binomial SE of the share is sqrt(.95 * .05 / reps).
    assert covered / reps > 0.95 - Z_SE * math.sqrt(0.95 * 0.05 / reps)


@pytest.mark.parametrize(("k", "scale", "seed"), [(0.7, 100.0, 1), (1.0, 5.0, 2), (2.5, 1e6, 3)])
def test_weibull_mle_recovers_shape_and_scale_within_theoretical_se(
    k: float, scale: float, seed: int
) -> None:
    n = 3000
    x = scale * np.random.default_rng(seed).weibull(k, n)
    fit = fit_weibull(Sample.complete(x))
    assert fit is not None
    se_k, se_scale = weibull_se(k, scale, n)
    assert abs(fit.k - k) < Z_SE * se_k
    assert abs(fit.scale - scale) < Z_SE * se_scale
    # The reported SEs (observed information) match the expected information to O(1/sqrt(n)).
    assert fit.se_k == pytest.approx(se_k, rel=Z_SE / math.sqrt(n) * 2)
    assert fit.se_scale == pytest.approx(se_scale, rel=Z_SE / math.sqrt(n) * 2)


def test_weibull_mle_under_censoring_recovers_per_node_renewals() -> None:
    """Per-node Weibull renewals from 0, observed for a window shorter than the mean gap."""
    rng = np.random.default_rng(11)
    k, mean, end, nodes = 0.6, 40 * DAY, 30 * DAY, 3000
    scale = mean / math.gamma(1 + 1 / k)
    arrivals = np.cumsum(scale * rng.weibull(k, (nodes, 40)), axis=1)
    parts = [sample_from_times(row[row <= end], end) for row in arrivals]
    sample = Sample(
        np.concatenate([p.x for p in parts]),
        np.concatenate([p.observed for p in parts]),
        np.concatenate([p.bound for p in parts]),
        np.concatenate([p.weight for p in parts]),
    )
    assert (~sample.observed).sum() == nodes  # one censored gap per node
    fit = fit_weibull(sample)
    assert fit is not None
    assert abs(fit.k - k) < Z_SE * fit.se_k
    assert abs(fit.scale - scale) < Z_SE * fit.se_scale
    assert fit.ks_p > 0.01
    # Ignoring the censoring (complete gaps only) is badly biased: the fit must not be that.
    naive = fit_weibull(Sample.complete(sample.x[sample.observed]))
    assert naive is not None and abs(naive.scale - scale) > Z_SE * fit.se_scale


def test_weibull_has_no_finite_mle_for_one_failure_or_equal_gaps() -> None:
    assert fit_weibull(Sample.complete([5.0])) is None
    assert fit_weibull(Sample.complete([5.0, 5.0, 5.0])) is None


# ----------------------------------------------------------------- goodness of fit


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_ks_accepts_the_right_model_and_rejects_a_badly_wrong_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    expo = Sample.complete(rng.exponential(10.0, 1000))
    weib = Sample.complete(10.0 * rng.weibull(0.5, 1000))
    assert fit_exponential(expo).ks_p > 0.01
    wb = fit_weibull(weib)
    assert wb is not None and wb.ks_p > 0.01
    assert fit_exponential(weib).ks_p < 1e-6  # shape 0.5 is far from exponential
    assert wb.aic < fit_exponential(weib).aic


# ----------------------------------------------------------------- traces


def write_trace(path: Path, rows: list[tuple[float, int, str]], header: str = "") -> Path:
    lines = [header + "time,component,cause,duration"]
    lines += [f"{t!r},{node},{cause}," for t, node, cause in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def renewal_rows(seed: int, nodes: int, end: float) -> list[tuple[float, int, str]]:
    """An exponential cause at 20/1000 node-days and a Weibull (k = 0.5) cause."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, int, str]] = []
    n = rng.poisson(20e-3 / DAY * nodes * end)
    times = np.sort(rng.random(n) * end)
    hit = rng.integers(0, nodes, n)
    rows += [(float(t), int(v), "gpu") for t, v in zip(times, hit, strict=True)]
    scale = 100 * DAY / math.gamma(3.0)
    arrivals = np.cumsum(scale * rng.weibull(0.5, (nodes, 30)), axis=1)
    for node, row in enumerate(arrivals):
        rows += [(float(t), node, "infant") for t in row[row <= end]]
    rows.sort()
    return rows


def test_fit_trace_per_node_rates_and_picks(tmp_path: Path) -> None:
    nodes, end = 1000, 60 * DAY
    rows = renewal_rows(5, nodes, end)
    path = write_trace(tmp_path / "f.csv", rows, f"# nodes: {nodes}\n# window: 60d\n")
    fit = fit_trace(path)
    assert fit.nodes == nodes and fit.window_s == end and fit.unit == "node"
    by = {c.cause: c for c in fit.causes}
    gpu, infant = by["gpu"], by["infant"]
    # Exponential per-node MLE = failures / (nodes x window), exactly.
    assert gpu.rows == sum(1 for r in rows if r[2] == "gpu")
    assert gpu.exponential.rate == pytest.approx(gpu.failures / (nodes * end), rel=1e-12)
    assert gpu.exponential.low < 20e-3 / DAY < gpu.exponential.high
    assert gpu.weibull is not None and abs(gpu.weibull.k - 1.0) < Z_SE * gpu.weibull.se_k
    assert infant.pick == "weibull" and infant.weibull is not None
    assert abs(infant.weibull.k - 0.5) < Z_SE * infant.weibull.se_k
    assert infant.exponential.ks_p < 1e-6 < infant.weibull.ks_p


def test_flags_override_directives_and_cluster_mode_without_nodes(tmp_path: Path) -> None:
    rows = [(3600.0 * i, i % 4, "a") for i in range(1, 41)]
    path = write_trace(tmp_path / "f.csv", rows)
    fit = fit_trace(path)
    assert fit.nodes is None and fit.unit == "cluster" and fit.window_s == 40 * 3600.0
    (a,) = fit.causes
    assert a.failures == 40 and a.exponential.rate == pytest.approx(1 / 3600.0)
    with pytest.raises(UsageError, match="needs the node count"):
        fit.faults_yaml()
    longer = fit_trace(path, nodes=4, window_s=80 * 3600.0)
    assert longer.causes[0].exponential.rate == pytest.approx(40 / (4 * 80 * 3600.0))
    with pytest.raises(UsageError, match="ends before the last row"):
        fit_trace(path, window_s=3600.0)


def test_jsonl_gives_the_same_fit_as_csv(tmp_path: Path) -> None:
    rows = renewal_rows(2, 200, 30 * DAY)
    csv_fit = fit_trace(write_trace(tmp_path / "f.csv", rows), nodes=200, window_s=30 * DAY)
    jsonl = tmp_path / "f.jsonl"
    lines = ["# nodes: 200", "# window: 30d"]
    lines += [json.dumps({"time": t, "component": v, "cause": c}) for t, v, c in rows]
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert fit_trace(jsonl).to_dict()["causes"] == csv_fit.to_dict()["causes"]


def test_emitted_faults_section_loads_as_scenario_faults(tmp_path: Path) -> None:
    nodes = 512
    path = write_trace(tmp_path / "f.csv", renewal_rows(3, nodes, 60 * DAY))
    fit = fit_trace(path, nodes=nodes, window_s=60 * DAY)
    text = (
        "cluster: {nodes_per_rack: 2, racks_per_pod: 256, pods: 1}\n"
        "workload: {jobs: [{gpus: 8, work: 1h}]}\n" + fit.faults_yaml()
    )
    scenario = load_scenario_text(text, "fitted.yaml")
    by = {c.cause: c for c in fit.causes}
    gpu, infant = scenario.faults["gpu"], scenario.faults["infant"]
    assert gpu.kind == "poisson" and gpu.distribution == "exponential"
    assert gpu.rate == pytest.approx(by["gpu"].exponential.rate, rel=1e-3)
    assert infant.distribution == "weibull"
    wb = by["infant"].weibull
    assert wb is not None
    assert infant.shape == pytest.approx(wb.k, rel=1e-3)
    assert infant.rate == pytest.approx(1.0 / wb.mean, rel=1e-3)  # poisson.py: mean = 1/rate


def test_awkward_cause_names_are_quoted_yaml_keys(tmp_path: Path) -> None:
    rows = [(10.0 * i, 0, name) for i, name in enumerate(["null", "psu, rack 0", "x:y", ""], 1)]
    path = write_trace(tmp_path / "f.csv", [(t, v, f'"{c}"') for t, v, c in rows])
    fit = fit_trace(path, nodes=2)
    text = "workload: {jobs: [{gpus: 8, work: 1h}]}\n" + fit.faults_yaml()
    assert set(load_scenario_text(text, "x.yaml").faults) == {
        "null",
        "psu, rack 0",
        "x:y",
        "unlabelled",
    }


def test_bad_directive_and_bad_jsonl_are_one_line_errors(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "f.csv", [(1.0, 0, "a")], "# nodes: many\n")
    with pytest.raises(ConfigError) as info:
        fit_trace(path)
    assert info.value.messages == [f"{path}:1: nodes: expected a positive integer, got 'many'"]
    bad = tmp_path / "f.jsonl"
    for text, expected in [
        ('{"time": 1, "component": 0}\n[1]\n', ":2: row: expected a JSON object, got list"),
        ('{"time": "2x", "component": 0}\n', ":1: time: unknown time unit 'x'"),
        ('{"time": 5, "component": 0}\n{"time": 1, "component": 0}\n', ":2: time: rows must"),
        ('{"time": 1, "component": 0, "rack": 2}\n', ":1: row: unknown key 'rack'"),
        ('{"component": 0}\n', ":1: time: missing key 'time'"),
        ('{"time": 1e999, "component": 0}\n', ":1: time: must be finite"),
        ('{"time": 1, "component": true}\n', ":1: component: expected an integer node id"),
        ('{"time": 1, "component": 0, "duration": -1}\n', ":1: duration: must not be negative"),
        ("{oops\n", ":1: row: not a JSON object"),
        ("# nothing\n", ":1: trace: the trace has no rows"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            fit_trace(bad)
        (message,) = info.value.messages
        assert message.startswith(str(bad)) and expected in message, message


# ----------------------------------------------------------------- CLI


def test_cli_fit_json_out_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_trace(tmp_path / "f.csv", renewal_rows(4, 100, 30 * DAY), "# window: 30d\n")
    assert main(["trace", "fit", "f.csv", "--nodes", "100", "--json", "--out", "o.yaml"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["unit"] == "node" and {c["cause"] for c in payload["causes"]} == {
        "gpu",
        "infant",
    }
    assert (tmp_path / "o.yaml").read_text(encoding="utf-8") == payload["faults_yaml"]
    assert main(["trace", "fit", "f.csv", "--nodes", "100"]) == 0
    out = capsys.readouterr().out
    assert "infant" in out and "faults:\n" in out
    # Usage errors (exit 2), bad data (65): one line, no output file.
    for argv, code, needle in [
        (["trace", "fit", "nope.csv"], 2, "nope.csv: no such file"),
        (["trace", "fit", "f.csv", "--out", "x.yaml"], 2, "needs the node count"),
        (["trace", "fit", "f.csv", "--window", "1h"], 2, "ends before the last row"),
        (["trace", "fit", "f.csv", "--window", "soon"], 2, "--window soon"),
        (["trace", "fit", "f.csv", "--nodes", "3", "--out", "x.yaml"], 65, "out of range [0, 3)"),
        (["trace", "fit", "f.csv", "--nodes", "0"], 2, "must be >= 1"),
    ]:
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, (argv, err)
        assert not (tmp_path / "x.yaml").exists()


def test_a_cause_with_few_failures_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 17 item 16: one failure gave a rate and a p-value without a word of warning."""
    from clustersim.cli import main
    from clustersim.traces.fit import MIN_FAILURES

    rows = [(3600.0, 0, "rare")] + [
        (3600.0 * i, i % 4, "common") for i in range(2, 2 + MIN_FAILURES)
    ]
    path = write_trace(tmp_path / "f.csv", sorted(rows))
    fit = fit_trace(path, nodes=4)
    (warning,) = fit.warnings()
    assert "cause 'rare': only 1 failure (fewer than 5)" in warning
    assert fit.to_dict()["warnings"] == [warning]
    assert main(["trace", "fit", str(path), "--nodes", "4"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "warning" in line] == [f"clustersim: warning: {warning}"]
