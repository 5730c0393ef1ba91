"""Compare two benchmark result files: % change in wall time per configuration, with a verdict.

The headline is the change in best-of-k wall time (what ``run.py`` reports). With at least two
repeats on both sides, a 95 % bootstrap interval is drawn by resampling each side's repeats
with replacement and recomputing the statistic (``--stat``: ``min`` as in the headline, or
``median``); the verdict is *faster* or *slower* only when the whole interval is beyond
``--threshold`` percent, else *same*. With a single repeat there is no interval and the verdict
is the sign of a change larger than ``--threshold``. Runs that did different work (another
number of model events) are flagged, since their times are not like for like.

Usage::

    uv run python bench/compare.py bench/results/before.json bench/results/after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES = 10_000
SEED = 20240601


def load(path: str) -> dict[str, Any]:
    """A result file written by ``run.py``."""
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def bootstrap_ci(
    a: Sequence[float],
    b: Sequence[float],
    stat: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    n: int = BOOTSTRAP_SAMPLES,
) -> tuple[float, float]:
    """95 % percentile interval of ``100 * (stat(b) / stat(a) - 1)`` over resamples."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ra = xa[rng.integers(0, xa.size, size=(n, xa.size))]
    rb = xb[rng.integers(0, xb.size, size=(n, xb.size))]
    change = 100.0 * (stat(rb) / stat(ra) - 1.0)
    lo, hi = np.percentile(change, [2.5, 97.5])
    return float(lo), float(hi)


def verdict(change: float, ci: tuple[float, float] | None, threshold: float) -> str:
    """``faster``/``slower`` if the change (its whole interval) exceeds ``threshold`` %."""
    lo, hi = ci if ci is not None else (change, change)
    if hi < -threshold:
        return "faster"
    if lo > threshold:
        return "slower"
    return "same"


STATS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "min": lambda x: np.min(x, axis=-1),
    "median": lambda x: np.median(x, axis=-1),
}


def compare(
    a: dict[str, Any], b: dict[str, Any], *, stat: str, threshold: float, key: str
) -> list[dict[str, Any]]:
    """One row per configuration present in both files."""
    rng = np.random.default_rng(SEED)
    rows = []
    for name, ca in a["configs"].items():
        cb = b["configs"].get(name)
        if cb is None:
            continue
        row: dict[str, Any] = {"config": name}
        if ca.get("status") != "ok" or cb.get("status") != "ok":
            row["note"] = f"not comparable: {ca.get('status')} vs {cb.get('status')}"
            rows.append(row)
            continue
        xa, xb = ca[f"{key}_all"], cb[f"{key}_all"]
        fn = STATS[stat]
        base, new = float(fn(np.asarray(xa))), float(fn(np.asarray(xb)))
        change = 100.0 * (new / base - 1.0)
        ci = bootstrap_ci(xa, xb, fn, rng) if min(len(xa), len(xb)) >= 2 else None
        notes = []
        if ca.get("model_events") != cb.get("model_events"):
            notes.append(
                f"different work: {ca.get('model_events')} vs {cb.get('model_events')} events"
            )
        if ca.get("code") and cb.get("code") and ca["code"] != cb["code"]:
            notes.append(f"code {ca['code']} -> {cb['code']}")
        rss_a, rss_b = ca.get("peak_rss_mb"), cb.get("peak_rss_mb")
        row.update(
            {
                "a_s": base,
                "b_s": new,
                "change_pct": change,
                "ci95_pct": ci,
                "verdict": verdict(change, ci, threshold),
                "rss_change_pct": 100.0 * (rss_b / rss_a - 1.0) if rss_a and rss_b else None,
                "note": "; ".join(notes),
            }
        )
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], key: str, stat: str) -> str:
    """A plain-text table."""
    head = f"{'config':18s} {'A ' + key:>11s} {'B ' + key:>11s} {'change':>8s}"
    head += f"  {'95% CI':>17s}  verdict"
    lines = [f"{stat} of repeats; change = B / A - 1", head, "-" * len(head)]
    for r in rows:
        if "change_pct" not in r:
            lines.append(f"{r['config']:18s} {r['note']}")
            continue
        ci = r["ci95_pct"]
        ci_text = f"[{ci[0]:+6.1f}, {ci[1]:+6.1f}] %" if ci else "(1 repeat)"
        rss = r["rss_change_pct"]
        extra = [f"RSS {rss:+.1f} %"] if rss is not None else []
        if r["note"]:
            extra.append(r["note"])
        lines.append(
            f"{r['config']:18s} {r['a_s']:10.3f}s {r['b_s']:10.3f}s {r['change_pct']:+7.1f}%  "
            f"{ci_text:>17s}  {r['verdict']:7s} {'  '.join(extra)}"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="baseline result file")
    parser.add_argument("b", help="new result file")
    parser.add_argument("--stat", choices=sorted(STATS), default="min")
    parser.add_argument(
        "--threshold", type=float, default=2.0, help="%% change treated as noise (2)"
    )
    parser.add_argument(
        "--time", choices=("wall_s", "run_s"), default="wall_s", help="which time to compare"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = compare(
        load(args.a), load(args.b), stat=args.stat, threshold=args.threshold, key=args.time
    )
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    else:
        sys.stdout.write(render(rows, args.time, args.stat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
