"""The worked question of docs/fleet.md, answered by two runs of ``fleet-wearout-100k``.

    uv run python bench/fleet_question.py [--seed 1] [--json bench/results/fleet-question.json]
        [--plot docs/img/fleet-100k-refresh.png]

"With a 2.5-year wear-out onset, at what fleet age does a 100k-GPU job's ETTR fall below
0.85, and what does refreshing 10 % a quarter buy?" Runs the preset as it is (no refresh)
and with :data:`REFRESH` (10 % of the fleet a quarter, oldest first, once the fleet's rate
over a quarter reaches 4 failures per 1,000 node-days; 4 h swaps), both at the same seed
(common random numbers until the first refresh), and writes the per-quarter rows of both,
the answer and a figure. ``tests/regression/test_fleet_doc.py`` checks docs/fleet.md against
the JSON file (fast) and re-runs this (slow).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from clustersim.config import load_scenario
from clustersim.experiment import run

PRESET = "fleet-wearout-100k"
THRESHOLD_ETTR = 0.85
REFRESH = {"cohort_rate": 4.0, "fraction": 0.1, "every": "91.25d", "swap": "4h"}
"""The refresh policy compared with none: 10 % a quarter past 4 failures per 1,000 node-days."""
ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0
YEAR = 365 * DAY


def _rows(
    refresh: dict[str, Any] | None, seed: int, extra: tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    overrides = [f"fleet.refresh={json.dumps(refresh)}"] if refresh else []
    overrides += extra
    result = run(load_scenario(PRESET, overrides), reps=1, seed=seed)
    m = result.replications[0]
    return m.periods, {
        "ettr": m.summary["ettr"],
        "goodput": m.summary["goodput"],
        "useful_gpu_h": m.gpu_seconds["useful"] / 3600,
        "interruptions": m.summary["interruptions_total"],
        "wall_s": result.run.wall_s if result.run is not None else None,
    }


def first_below(rows: list[dict[str, Any]], threshold: float) -> float | None:
    """Fleet age (years, at the start of the quarter) of the first quarter with ETTR below."""
    for r in rows:
        if r["ettr"] is not None and r["ettr"] < threshold:
            return r["start_s"] / YEAR
    return None


def answer(seed: int = 1, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Both runs' quarterly rows, totals and the answer (``extra``: overrides, for smoke tests)."""
    base_rows, base = _rows(None, seed, extra)
    ref_rows, ref = _rows(REFRESH, seed, extra)
    keep = (
        "start_s",
        "failures_per_1000_node_days",
        "interruptions",
        "gpus_in_repair",
        "goodput",
        "ettr",
        "replaced",
    )
    return {
        "preset": PRESET,
        "seed": seed,
        "refresh": REFRESH,
        "threshold_ettr": THRESHOLD_ETTR,
        "below_at_years": {
            "none": first_below(base_rows, THRESHOLD_ETTR),
            "refresh": first_below(ref_rows, THRESHOLD_ETTR),
        },
        "totals": {"none": base, "refresh": ref},
        "quarters": {
            "none": [{k: r.get(k) for k in keep} for r in base_rows],
            "refresh": [{k: r.get(k) for k in keep} for r in ref_rows],
        },
    }


def plot(data: dict[str, Any], path: Path) -> None:
    """ETTR and failure rate per quarter, with and without refresh."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_ettr, ax_rate) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for key, label in (("none", "no refresh"), ("refresh", "10 % a quarter past 4/1,000")):
        rows = data["quarters"][key]
        years = [r["start_s"] / YEAR for r in rows] + [3.0]
        ettr = [r["ettr"] for r in rows]
        rate = [r["failures_per_1000_node_days"] for r in rows]
        ax_ettr.step(years, [*ettr, ettr[-1]], where="post", label=label)
        ax_rate.step(years, [*rate, rate[-1]], where="post", label=label)
    ax_ettr.axhline(THRESHOLD_ETTR, color="gray", linestyle=":", linewidth=1)
    ax_ettr.set_ylabel("ETTR of the 98,304-GPU job")
    ax_ettr.legend(loc="lower left", fontsize="small")
    ax_ettr.set_title(f"{PRESET} (seed {data['seed']}): per quarter")
    ax_rate.set_ylabel("node failures / 1,000 node-days")
    ax_rate.set_xlabel("fleet age (years)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/fleet-question.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs/img/fleet-100k-refresh.png")
    args = parser.parse_args()
    data = answer(args.seed)
    wall = {k: data["totals"][k].pop("wall_s") for k in ("none", "refresh")}
    args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    plot(data, args.plot)
    print(json.dumps({"below_at_years": data["below_at_years"], "wall_s": wall}))


if __name__ == "__main__":
    main()
