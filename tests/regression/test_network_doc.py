"""The measured tables and the plot of docs/network.md, generated here.

The tables between the ``<!-- network-... -->`` markers of docs/network.md are what
:func:`placement_table` and :func:`sweep_table` print today, and
``docs/img/network-oversubscription.png`` is drawn from the same runs. The runs take a minute,
so the check is a ``slow`` test. Regenerate both with::

    CLUSTERSIM_REGEN_DOCS=1 uv run pytest -n0 -m slow tests/regression/test_network_doc.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from docmarkers import between, replace_between

from clustersim.config import load_scenario
from clustersim.experiment import run

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "network.md"
PLOT = ROOT / "docs" / "img" / "network-oversubscription.png"
SEED = 1
PLACEMENTS = ("topology", "first-fit", "spread")
TRAFFIC = ("shape", "uniform")
KS = (1, 2, 4, 7)


def _summary(overrides: dict[str, Any]) -> dict[str, Any]:
    sc = load_scenario("meta-24k-shared").replace(overrides)
    return run(sc, reps=1, seed=SEED).replications[0].summary


def _row(label: str, s: dict[str, Any]) -> str:
    by = s["network_slowdown_gpu_hours_by_cause"]
    total = sum(by.values())
    return (
        f"| {label} | {total / 1e3:,.1f} k | {s['mean_jct_s'] / 3600:.2f} h | "
        f"{s['mean_queue_wait_s'] / 3600:.2f} h | {s['network_link_utilisation']:.3f} | "
        f"{s['goodput']:.4f} | {s['jobs_finished']:,} |"
    )


HEADER = (
    "| Variant | network slowdown GPU·h | mean JCT | mean queue wait | agg. utilisation "
    "| goodput | jobs finished |\n|---|---|---|---|---|---|---|"
)


def placement_table() -> str:
    """Placements x traffic models, and the placement wait, on meta-24k-shared."""
    lines = [HEADER]
    for traffic in TRAFFIC:
        for placement in PLACEMENTS:
            s = _summary({"cluster.placement": placement, "network.traffic": traffic})
            lines.append(_row(f"`{placement}`, traffic `{traffic}`", s))
    for wait in ("1h", "6h"):
        s = _summary({"scheduler.placement_wait": wait, "network.traffic": "uniform"})
        lines.append(_row(f"`topology` + `placement_wait: {wait}`, traffic `uniform`", s))
    return "\n".join(lines)


def sweep() -> dict[tuple[str, str], list[float]]:
    """Network slowdown GPU·h (thousands) by oversubscription, per placement and traffic."""
    out: dict[tuple[str, str], list[float]] = {}
    for traffic in TRAFFIC:
        for placement in ("topology", "spread"):
            out[traffic, placement] = [
                sum(
                    _summary(
                        {
                            "cluster.oversubscription": k,
                            "cluster.placement": placement,
                            "network.traffic": traffic,
                        }
                    )["network_slowdown_gpu_hours_by_cause"].values()
                )
                / 1e3
                for k in KS
            ]
    return out


def sweep_table(data: dict[tuple[str, str], list[float]]) -> str:
    head = "| Placement, traffic | " + " | ".join(f"1:{k}" for k in KS) + " |"
    lines = [head, "|---|" + "---|" * len(KS)]
    for (traffic, placement), values in data.items():
        cells = " | ".join(f"{v:,.1f} k" for v in values)
        lines.append(f"| `{placement}`, `{traffic}` | {cells} |")
    return "\n".join(lines)


def draw(data: dict[tuple[str, str], list[float]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clustersim.output.plots import save_figure

    fig, ax = plt.subplots(figsize=(7, 4))
    for (traffic, placement), values in data.items():
        style = "-" if placement == "topology" else "--"
        ax.plot(KS, values, style, marker="o", label=f"{placement}, traffic {traffic}")
    ax.set_xticks(KS, [f"1:{k}" for k in KS])
    ax.set_xlabel("aggregation-layer oversubscription")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylabel("network slowdown (thousand GPU·h, symlog)")
    ax.set_title(f"meta-24k-shared, 30 days, seed {SEED}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    png = save_figure(fig, "png")
    plt.close(fig)
    return png


def _between(text: str, name: str) -> str:
    return between(text, name, "docs/network.md")


_replace = replace_between


def test_the_doc_has_its_tables_and_plot() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ("network-placement", "network-sweep"):
        assert _between(text, name).startswith("| ")
    assert PLOT.exists() and "img/network-oversubscription.png" in text


@pytest.mark.slow
def test_the_tables_are_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = placement_table()
    data = sweep()
    swept = sweep_table(data)
    if os.environ.get("CLUSTERSIM_REGEN_DOCS"):
        text = _replace(_replace(text, "network-placement", table), "network-sweep", swept)
        DOC.write_text(text, encoding="utf-8")
        PLOT.write_bytes(draw(data))
    assert _between(text, "network-placement") == table
    assert _between(text, "network-sweep") == swept
