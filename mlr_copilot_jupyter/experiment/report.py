"""The end of a run: summary numbers, a metric-per-step plot, ``report.md``, the summary cell."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, atomic_write_text
from .journal import SELECTION_NOTES, Journal

REPORT_FILE = "report.md"
PLOT_FILE = "metric.png"


class RunSummary(dict[str, Any]):
    """The headline facts of a run: a plain dict (``summary["best_metric"]``, JSON as it is) that
    a notebook shows as a small table."""

    ROWS = (("status", "status"), ("metric", "metric"), ("direction", "direction"),
            ("baseline (validation)", "baseline_metric"), ("best (validation)", "best_metric"),
            ("verified in a fresh kernel", "verified"),
            ("baseline (held-out test)", "baseline_test_metric"),
            ("best (held-out test)", "best_test_metric"), ("test source", "test_source"),
            ("steps", "steps"), ("tokens", "tokens"), ("record", "record"))

    def to_dict(self) -> dict[str, Any]:
        return dict(self)

    def _repr_html_(self) -> str:
        import html

        def cell(value: Any) -> str:
            if isinstance(value, float):
                return f"{value:.4g}"
            return html.escape("—" if value is None or value == "" else str(value))

        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
                       f"<td style='text-align:left'>{cell(self.get(key))}</td></tr>"
                       for label, key in self.ROWS)
        head = html.escape(f"Run {self.get('run_id', '')} on {self.get('task', '')}")
        message = f"<p>{html.escape(str(self['message']))}</p>" if self.get("message") else ""
        return f"<p><b>{head}</b></p>{message}<table>{rows}</table>"


@dataclass
class WrittenReport:
    """What :func:`write_report` wrote: the summary, the report's Markdown and the plot."""

    summary: RunSummary
    markdown: str
    png: bytes | None


def run_summary(journal: Journal, run_dir: Path) -> RunSummary:
    """The headline facts of a run, JSON-serialisable.

    ``baseline_metric`` / ``best_metric`` are the selection metric (validation where the task has
    validation data); ``baseline_test_metric`` / ``best_test_metric`` the held-out test metric.
    ``success`` is judged on the test metric when there is one (MLAgentBench's 10% criterion).
    """
    ref = journal.reference_node
    best = journal.node(journal.best_node) if journal.best_node else None
    improvement = journal.improvement(best.metric) if best else None
    selection = journal.selection
    if selection == "test":  # the selection metric is the test metric itself
        base_test = ref.metric if ref else None
        best_test = best.verified_metric if best and best.verified else None
    else:
        base_test = ref.test_metric if ref else None
        best_test = best.test_metric if best else None
    test_gain = journal.relative(best_test, base_test)
    headline = test_gain if selection in {"validation", "test"} and best_test is not None \
        else (improvement if selection != "validation" else None)
    base = journal.baseline
    return RunSummary({
        "run_id": journal.run_id,
        "task": journal.task,
        "status": journal.status,
        "message": journal.message,
        "metric": journal.metric_name,
        "direction": journal.direction,
        "metric_evidence": journal.metric_evidence,
        "metric_origin": journal.metric_origin,
        "warnings": list(journal.warnings),
        "sandbox": sandbox_line(journal.sandbox),
        "selection": selection,
        "selection_note": SELECTION_NOTES.get(selection or "", "no working baseline"),
        "validation": journal.validation,
        "answers_held_out": list(journal.answers_held_out),
        "baseline_node": ref.id if ref else None,
        "baseline_fixed": bool(ref and base and ref.id != base.id),
        "baseline_error": (base.error or base.message) if base and not base.is_good else "",
        "baseline_metric": ref.metric if ref else None,
        "best_metric": best.metric if best else None,
        "best_verified_metric": best.verified_metric if best else None,
        "best_node": best.id if best else None,
        "verified": bool(best and best.verified),
        "relative_improvement": improvement,
        "test_source": journal.test_source,
        "baseline_test_metric": base_test,
        "best_test_metric": best_test,
        "test_improvement": test_gain,
        "success": headline is not None and headline >= 0.10,
        "steps": len([n for n in journal.nodes
                      if n.kind != "baseline" and n.status != "llm_error"]),
        "tokens": journal.usage.total_tokens,
        "cost": journal.usage.cost,
        "usage": journal.usage.model_dump(),
        "node_usage": {n.id: n.usage.model_dump() for n in journal.nodes},
        "verify_usage": journal.verify_usage.model_dump(),
        "limits": dict(journal.limits),
        "stopped_by": journal.stopped_by or None,
        "stop_reason": journal.stop_reason,
        "run_dir": str(run_dir),
        "record": str(run_dir / "experiment.ipynb"),
        "journal": str(run_dir / "journal.json"),
        "report": str(run_dir / REPORT_FILE),
    })


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


def sandbox_line(sandbox: dict[str, Any]) -> str:
    """What confined the run's kernels, e.g. "bubblewrap: no network, workspace-only writes"."""
    return str(sandbox.get("description") or "not recorded (a run from before sandboxing)")


def summary_markdown(journal: Journal, summary: dict[str, Any]) -> str:
    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.6g}"

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:+.1%}"

    name = journal.metric_name
    selection = summary["selection"]
    which = "validation " if selection == "validation" else ""
    lines = [
        f"## Result: {journal.task}",
        "",
        f"- **Status:** {summary['status']}" + (f" — {journal.message}" if journal.message else ""),
        f"- **Metric:** {name} ({journal.direction}); "
        f"{journal.metric_evidence or 'given by the task'}",
    ]
    if journal.stop_reason:
        lines.append(f"- **Stopped by the {journal.stopped_by.replace('_', ' ')}:** "
                     f"{journal.stop_reason}")
    lines += [f"- **Warning:** {w}" for w in journal.warnings]
    lines += [f"- **Builds on the paper's result:** {line}"
              for line in journal.settings.get("builds_on") or []]
    lines.append(f"- **Sandbox:** {summary['sandbox']}")
    if summary["answers_held_out"]:
        lines.append("- **Answers kept out of the workspace:** "
                     + "; ".join(summary["answers_held_out"])
                     + ": the agent's copy has them blanked; eval.py scores with the originals")
    lines += [
        f"- **Selection:** {summary['selection_note']}"
        + (f"; the baseline prints no validation metric, so it was scored on "
           f"{summary['validation']}" if summary["validation"] else ""),
        f"- **Baseline:** {which}{fmt(summary['baseline_metric'])}"
        + (f" (node {summary['baseline_node']}, the first working version of the baseline; "
           f"the original failed: {summary['baseline_error']})" if summary["baseline_fixed"] else ""),
        f"- **Best verified:** {which}{fmt(summary['best_metric'])} (node "
        f"{summary['best_node'] or '—'}; replayed in a fresh kernel and a fresh workspace it gave "
        f"{fmt(summary['best_verified_metric'])})",
        f"- **Relative improvement ({which or 'selection '}metric):** "
        f"{pct(summary['relative_improvement'])}",
    ]
    if selection in {"validation", "test"}:
        lines += [
            f"- **Held-out test {name}** ({summary['test_source'] or 'no scorer'}): baseline "
            f"{fmt(summary['baseline_test_metric'])} → best {fmt(summary['best_test_metric'])}, "
            f"{pct(summary['test_improvement'])}"
            + (" — success (≥ 10% on the test metric)" if summary["success"] else ""),
        ]
    elif summary["success"]:
        lines[-1] += " — success (≥ 10%)"
    priced = journal.usage.cost is not None
    lines += [f"- **Steps:** {summary['steps']}; LLM usage: {journal.usage.line()}"
              + (f" (verification: {journal.verify_usage.line()})"
                 if journal.verify_usage.calls else "")]
    if limits := budgets_line(journal.limits):
        lines.append(f"- **Budgets:** {limits}")
    lines += [
        "",
        f"| node | kind | parent | what it tried | status | {which}{name} | test {name} | tokens "
        f"|{' cost |' if priced else ''} note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if priced else "")
        + " --- |",
    ]
    for n in journal.nodes:
        title = (n.title or n.plan.split("\n", 1)[0]).replace("|", "\\|")[:80]
        mark = " ✔" if n.id == journal.best_node else ""
        note = n.verify_error or (n.message if n.status == "no_metric" else "")
        note = note.replace("|", "\\|").replace("\n", " ")[:120]
        lines.append(f"| {n.id}{mark} | {n.kind} | {n.parent or '—'} | {title} | {n.status} | "
                     f"{fmt(n.metric)} | {fmt(n.test_metric)} | {n.usage.total_tokens} |"
                     + (f" {fmt(n.usage.cost)} |" if priced else "") + f" {note} |")
    total = f"{journal.usage.cost:.4g} |" if priced and journal.usage.cost is not None else ""
    lines.append(f"| total | | | {'verification and ' if journal.verify_usage.calls else ''}"
                 f"all nodes | | | | {journal.usage.total_tokens} |"
                 + (f" {total}" if priced else "") + " |")
    return "\n".join(lines)


def budgets_line(limits: dict[str, Any]) -> str:
    """``token budget 5000, deadline 600 s, price per 1k tokens 0.15 / 0.6`` ('' when none)."""
    parts = []
    if limits.get("token_budget"):
        parts.append(f"token budget {limits['token_budget']}")
    if limits.get("cost_budget"):
        parts.append(f"cost budget {limits['cost_budget']:g}")
    if limits.get("deadline"):
        parts.append(f"deadline {limits['deadline']:g} s")
    if limits.get("price_per_1k_prompt") or limits.get("price_per_1k_completion"):
        parts.append(f"price per 1k tokens {limits.get('price_per_1k_prompt') or 0:g} prompt / "
                     f"{limits.get('price_per_1k_completion') or 0:g} completion")
    return ", ".join(parts)


def write_report(journal: Journal, run_dir: Path, *, header: str = "",
                 plot: bool = True) -> WrittenReport:
    """Write ``report.md`` and (unless ``plot`` is False) ``metric.png``."""
    summary = run_summary(journal, run_dir)
    png = metric_plot(journal) if plot else None
    body = summary_markdown(journal, summary)
    if png is not None:
        atomic_write_bytes(run_dir / PLOT_FILE, png)
        body += f"\n\n![metric per step]({PLOT_FILE})\n"
    atomic_write_text(run_dir / REPORT_FILE, (header + "\n\n" if header else "") + body + "\n")
    summary["plot"] = str(run_dir / PLOT_FILE) if png is not None else None
    return WrittenReport(summary, body, png)
