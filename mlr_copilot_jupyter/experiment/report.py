"""The end of a run: summary numbers, a metric-per-step plot, ``report.md``, the summary cell."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, atomic_write_text
from .journal import Journal

REPORT_FILE = "report.md"
PLOT_FILE = "metric.png"


def run_summary(journal: Journal, run_dir: Path) -> dict[str, Any]:
    """The headline facts of a run, JSON-serialisable."""
    base = journal.baseline
    best = journal.node(journal.best_node) if journal.best_node else None
    improvement = journal.improvement(best.metric) if best else None
    return {
        "run_id": journal.run_id,
        "task": journal.task,
        "status": journal.status,
        "message": journal.message,
        "metric": journal.metric_name,
        "direction": journal.direction,
        "baseline_metric": base.metric if base else None,
        "best_metric": best.metric if best else None,
        "best_verified_metric": best.verified_metric if best else None,
        "best_node": best.id if best else None,
        "verified": bool(best and best.verified),
        "relative_improvement": improvement,
        "success": improvement is not None and improvement >= 0.10,
        "steps": len([n for n in journal.nodes if n.kind != "baseline"]),
        "tokens": sum(n.tokens for n in journal.nodes),
        "run_dir": str(run_dir),
        "record": str(run_dir / "experiment.ipynb"),
        "journal": str(run_dir / "journal.json"),
        "report": str(run_dir / REPORT_FILE),
    }


def metric_plot(journal: Journal) -> bytes | None:
    """PNG of the metric per step with the best-so-far line (None when nothing was measured)."""
    points = [(n.step, n.metric) for n in journal.nodes if n.metric is not None]
    if not points:
        return None
    from matplotlib.figure import Figure  # no pyplot: the user's backend and figures are untouched

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    steps, values = zip(*points, strict=True)
    ax.plot(steps, values, "o", label="node metric")
    best_so_far, best = [], None
    for value in values:
        best = value if best is None or journal.better(value, best) else best
        best_so_far.append(best)
    ax.step(steps, best_so_far, where="post", label="best so far")
    failed = [n.step for n in journal.nodes if n.is_buggy]
    if failed:
        ax.plot(failed, [min(values)] * len(failed), "x", color="red", label="failed step")
    ax.set_xlabel("step")
    ax.set_ylabel(f"{journal.metric_name} ({journal.direction})")
    ax.set_title(f"{journal.task}: {journal.metric_name} per step")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def summary_markdown(journal: Journal, summary: dict[str, Any]) -> str:
    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.6g}"

    gain = summary["relative_improvement"]
    lines = [
        f"## Result: {journal.task}",
        "",
        f"- **Status:** {summary['status']}" + (f" — {journal.message}" if journal.message else ""),
        f"- **Metric:** {journal.metric_name} ({journal.direction})",
        f"- **Baseline:** {fmt(summary['baseline_metric'])}",
        f"- **Best verified:** {fmt(summary['best_metric'])} (node {summary['best_node'] or '—'}; "
        f"re-run from a fresh kernel gave {fmt(summary['best_verified_metric'])})",
        f"- **Relative improvement:** {'—' if gain is None else f'{gain:+.1%}'}"
        + (" — success (≥ 10%)" if summary["success"] else ""),
        f"- **Steps:** {summary['steps']}, tokens: {summary['tokens']}",
        "",
        "| node | kind | parent | what it tried | status | metric |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for n in journal.nodes:
        title = (n.title or n.plan.split("\n", 1)[0]).replace("|", "\\|")[:80]
        mark = " ✔" if n.id == journal.best_node else ""
        lines.append(f"| {n.id}{mark} | {n.kind} | {n.parent or '—'} | {title} | {n.status} | "
                     f"{fmt(n.metric)} |")
    return "\n".join(lines)


def write_report(journal: Journal, run_dir: Path, *, header: str = "") -> dict[str, Any]:
    """Write ``report.md`` and ``metric.png``; return the summary."""
    summary = run_summary(journal, run_dir)
    png = metric_plot(journal)
    body = summary_markdown(journal, summary)
    if png is not None:
        atomic_write_bytes(run_dir / PLOT_FILE, png)
        body += f"\n\n![metric per step]({PLOT_FILE})\n"
    atomic_write_text(run_dir / REPORT_FILE, (header + "\n\n" if header else "") + body + "\n")
    summary["plot"] = str(run_dir / PLOT_FILE) if png is not None else None
    summary["_markdown"] = body
    summary["_png"] = png
    return summary
