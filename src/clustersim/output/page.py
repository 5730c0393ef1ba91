"""One-page reports of a run: the ``clustersim run --json`` object as HTML or Markdown.

Owns the page of ``clustersim report``: the headline numbers, the per-cause table, the
GPUs-down timeline (a PNG from matplotlib when it is installed: embedded in HTML, a file
beside Markdown; otherwise a one-line summary of the series) and ETTR per job. The input is
the JSON contract of ``docs/results.md``; it is checked for the parts the page needs.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

from clustersim.config import ConfigError
from clustersim.output.plots import PlotUnavailable

__all__ = ["MAX_JOB_ROWS", "REQUIRED_KEYS", "gpus_down_png", "render", "validate_run"]

MAX_JOB_ROWS = 50
REQUIRED_KEYS = ("scenario", "seed", "summary", "causes", "timeseries")
_DOWN = (
    ("gpus_in_repair", "in repair", "#C44E52"),
    ("gpus_maintenance", "maintenance", "#DD8452"),
    ("gpus_quarantined", "quarantined", "#8172B3"),
)


def validate_run(data: Any, name: str) -> dict[str, Any]:
    """``data`` if it looks like ``clustersim run --json`` output, else a ConfigError.

    Besides the top-level keys, every field the page reads is checked for its type, so a
    hand-edited or foreign file is reported as ``FILE:1:1: FIELD: ...`` (bad data).
    """
    if not isinstance(data, dict):
        raise ConfigError([f"{name}:1:1: expected the JSON object of `clustersim run --json`"])
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ConfigError(
            [f"{name}:1:1: not a `clustersim run --json` result (no {', '.join(missing)})"]
        )
    problem = _type_problem(data)
    if problem is not None:
        field, expected, value = problem
        raise ConfigError(
            [f"{name}:1:1: {field}: expected {expected}, got {type(value).__name__} {value!r:.40}"]
        )
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(value: Any) -> bool:
    """A number, null, or a list or mapping of those (an interval, a per-cause split)."""
    if value is None or _is_number(value):
        return True
    if isinstance(value, list):
        return all(v is None or _is_number(v) for v in value)
    if isinstance(value, dict):
        return all(v is None or _is_number(v) for v in value.values())
    return False


def _type_problem(run: Mapping[str, Any]) -> tuple[str, str, Any] | None:
    """The first field of ``run`` the page cannot render: (dotted name, expected, value)."""
    for key in ("scenario", "summary", "causes", "timeseries"):
        if not isinstance(run[key], dict):
            return key, "an object", run[key]
    if not isinstance(run["seed"], int) or isinstance(run["seed"], bool):
        return "seed", "an integer", run["seed"]
    for key, value in run["summary"].items():
        if not _numeric(value):
            return f"summary.{key}", "a number or null", value
    for cause, fields in run["causes"].items():
        if not isinstance(fields, dict):
            return f"causes.{cause}", "an object", fields
        for key in ("interruptions", "share", "lost_gpu_h", "mean_recovery_s"):
            if key in fields and not (fields[key] is None or _is_number(fields[key])):
                return f"causes.{cause}.{key}", "a number or null", fields[key]
    lengths = set()
    for key, series in run["timeseries"].items():
        if not isinstance(series, list) or not all(_is_number(v) for v in series):
            return f"timeseries.{key}", "a list of numbers", series
        lengths.add(len(series))
    if len(lengths) > 1:
        return "timeseries", "lists of one length", sorted(lengths)
    jobs = run.get("jobs")
    if jobs is not None and not isinstance(jobs, list):
        return "jobs", "a list", jobs
    for i, job in enumerate(jobs or []):
        if not isinstance(job, dict):
            return f"jobs.{i}", "an object", job
        for key in ("gpus", "id", "ettr", "jct_s"):
            if key in job and not (job[key] is None or _is_number(job[key])):
                return f"jobs.{i}.{key}", "a number or null", job[key]
    versions = run.get("versions")
    if versions is not None and not isinstance(versions, dict):
        return "versions", "an object", versions
    return None


def gpus_down_png(run: Mapping[str, Any]) -> bytes:
    """GPUs down (in repair, maintenance, quarantined) over simulated days, as PNG bytes.

    Raises:
        PlotUnavailable: matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise PlotUnavailable("plots need matplotlib: pip install 'clustersim[plot]'") from None
    series = run["timeseries"]
    days = [t / 86400 for t in series.get("t_s", [])]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    layers = [(k, label, color) for k, label, color in _DOWN if k in series]
    if days and layers:
        ax.stackplot(
            days,
            *[series[k] for k, _, _ in layers],
            labels=[label for _, label, _ in layers],
            colors=[color for _, _, color in layers],
            step="post",
        )
        ax.legend(loc="upper left", fontsize="small", ncols=3)
    ax.set_xlabel("simulated days")
    ax.set_ylabel("GPUs down")
    ax.set_title(f"{run['scenario'].get('name', '')}: GPUs down (replication 0)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ci(summary: Mapping[str, Any], key: str, spec: str) -> str:
    text = _fmt(summary.get(key), spec)
    ci = summary.get(f"{key}_ci95")
    return f"{text} [{format(ci[0], spec)}, {format(ci[1], spec)}]" if ci else text


def _tables(run: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(title, header, rows, note) of every table on the page."""
    s = run["summary"]
    head = [
        ["ETTR", _ci(s, "ettr", ".4f")],
        ["goodput", _ci(s, "goodput", ".4f")],
        ["utilisation", _fmt(s.get("utilisation"), ".4f")],
        ["interruptions", _ci(s, "interruptions_total", ",.1f")],
        ["GPU-hours wasted", _ci(s, "gpu_hours_wasted", ",.0f")],
        ["energy wasted (MWh)", _ci(s, "energy_wasted_mwh", ",.1f")],
        ["cost wasted (USD)", _fmt(s.get("cost_wasted_usd"), ",.0f")],
        ["mean GPUs down", _fmt(s.get("mean_gpus_down"), ",.1f")],
        [
            "jobs submitted / finished",
            f"{s.get('jobs_submitted', '-')} / {s.get('jobs_finished', '-')}",
        ],
    ]
    causes = sorted(run["causes"].items(), key=lambda kv: (-kv[1].get("interruptions", 0), kv[0]))
    cause_rows = [
        [
            name,
            str(c.get("category", "")),
            "yes" if c.get("planned") else "no",
            _fmt(c.get("interruptions"), ",.1f"),
            _fmt(100 * c.get("share", 0.0), ".1f"),
            _fmt(c.get("lost_gpu_h"), ",.0f"),
            _fmt(c.get("mean_recovery_s"), ",.0f"),
        ]
        for name, c in causes
    ]
    jobs = sorted(run.get("jobs") or [], key=lambda j: (-j.get("gpus", 0), j.get("id", 0)))
    job_rows = [
        [
            str(j.get("name", "")),
            f"{j.get('gpus', 0):,}",
            _fmt(j.get("ettr"), ".4f"),
            str(j.get("interruptions", "-")),
            str(j.get("restarts", "-")),
            _fmt(None if j.get("jct_s") is None else j["jct_s"] / 86400, ".2f"),
            "yes" if j.get("finished") else "no",
        ]
        for j in jobs[:MAX_JOB_ROWS]
    ]
    more = len(jobs) - len(job_rows)
    job_note = (
        f"The {len(job_rows)} largest of {len(jobs)} jobs (replication 0)."
        if more > 0
        else "Replication 0."
        if jobs
        else "No per-job rows (the run was saved with --no-jobs)."
    )
    return [
        ("Summary", ["metric", "value (mean [95 % CI])"], head, ""),
        (
            "Interruptions by cause",
            [
                "cause",
                "category",
                "planned",
                "interruptions",
                "share %",
                "lost GPU-h",
                "mean recovery (s)",
            ],
            cause_rows,
            "Averaged over replications; lost GPU-h is redone work plus recovery.",
        ),
        (
            "ETTR per job",
            ["job", "GPUs", "ETTR", "interruptions", "restarts", "JCT (d)", "finished"],
            job_rows,
            job_note,
        ),
    ]


def _down_note(run: Mapping[str, Any]) -> str:
    series = run["timeseries"]
    totals = [sum(vals) for vals in zip(*[series.get(k, []) for k, _, _ in _DOWN], strict=False)]
    if not totals:
        return "No time series in the run."
    peak = max(range(len(totals)), key=totals.__getitem__)
    day = series["t_s"][peak] / 86400 if series.get("t_s") else 0.0
    mean = sum(totals) / len(totals)
    return f"GPUs down: mean {mean:,.1f} over the bins, peak {totals[peak]:,.0f} at day {day:.1f}."


def render(
    run: Mapping[str, Any], fmt: str, png_name: str | None = None
) -> tuple[str, bytes | None]:
    """The page in ``fmt`` (``html`` or ``md``) and the timeline PNG (None without matplotlib).

    Markdown links the PNG as ``png_name``; HTML embeds it.
    """
    try:
        png: bytes | None = gpus_down_png(run)
    except PlotUnavailable:
        png = None
    sc = run["scenario"]
    reps = run["summary"].get("replications", 1)
    title = f"clustersim report · {sc.get('name', '')} · seed {run['seed']} · {reps} replication(s)"
    versions = ", ".join(f"{k} {v}" for k, v in (run.get("versions") or {}).items())
    tables = _tables(run)
    note = _down_note(run)
    if fmt == "md":
        parts = [f"# {title}", "", f"Versions: {versions}.", ""]
        for name, head, rows, text in tables[:2]:
            parts += _md_table(name, head, rows, text)
        parts += ["## GPUs down", ""]
        if png is not None and png_name:
            parts += [f"![GPUs down over time]({png_name})", ""]
        parts += [note, ""]
        parts += _md_table(*tables[2])
        return "\n".join(parts), png
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>Versions: {html.escape(versions)}.</p>"]
    for name, head, rows, text in tables[:2]:
        body += _html_table(name, head, rows, text)
    body.append("<h2>GPUs down</h2>")
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        body.append(f'<img alt="GPUs down over time" src="data:image/png;base64,{data}">')
    body.append(f"<p>{html.escape(note)}</p>")
    body += _html_table(*tables[2])
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd}"
        "td{text-align:right}td:first-child{text-align:left}img{max-width:100%}"
    )
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return page, png


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(name: str, head: list[str], rows: list[list[str]], note: str) -> list[str]:
    lines = [f"## {name}", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*lines, "", *([note, ""] if note else [])]


def _html_table(name: str, head: list[str], rows: list[list[str]], note: str) -> list[str]:
    out = [f"<h2>{html.escape(name)}</h2>", "<table>"]
    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return [*out, *([f"<p>{html.escape(note)}</p>"] if note else [])]
