"""The experiment monitor: a live view of a :class:`BackgroundRun` with stop, feedback and approval.

It listens to the agent's events (called in the run's thread) and keeps every update small.
Clicks only hand a decision to the run (thread-safe) and return; nothing waits for anything.
Errors inside callbacks become a one-line message on the monitor, never an exception in the run.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w

from ...types import BackgroundRun, Node
from .errors_area import ErrorArea, esc

OUTPUT_TAIL_CHARS = 1500
PHASES = {
    "run_started": "running", "approval_needed": "waiting for your approval",
    "node_started": "running a cell", "node_finished": "thinking about the next step",
    "verify_started": "verifying the best node in a fresh kernel", "verify_finished": "verified",
}
STATUS_COLOURS = {"ok": "#2e7d32", "pending": "#757575", "rejected": "#757575",
                  "no_metric": "#ef6c00"}




def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _pre(text: str) -> str:
    return ("<pre style='max-height:300px;overflow:auto;background:#f7f7f7;padding:6px;"
            f"margin:2px 0;white-space:pre-wrap'>{esc(text)}</pre>")


class ExperimentMonitor(ErrorArea):
    """Status, current cell, output tail, metric plot and node table of a running experiment.

    Controls: **Stop** (after the current cell), feedback for the next step, and in ``approve``
    mode a panel to approve, edit or reject each proposed cell.
    """

    def __init__(self, run: BackgroundRun) -> None:
        self.run = run
        self._current: Node | None = None
        self._phase = "starting"
        full = w.Layout(width="95%")

        def button(label: str, icon: str, tip: str, style: str = "") -> w.Button:
            return w.Button(description=label, icon=icon, tooltip=tip, button_style=style,
                            layout=w.Layout(width="auto"))

        self.header_html = w.HTML()
        self.sandbox_html = w.HTML()
        self.status_html = w.HTML()
        self.error_html = w.HTML()
        self.code_html = w.HTML()
        self.output_html = w.HTML()
        self.plot = w.Image(format="png", value=b"", layout=w.Layout(max_width="600px"))
        self.table_html = w.HTML()
        self.summary_html = w.HTML()
        self.note_html = w.HTML()
        self.stop_button = button("Stop", "stop", "Stop after the current cell", "danger")
        self.feedback_input = w.Text(placeholder="feedback for the agent's next step",
                                     layout=w.Layout(width="60%"))
        self.send_button = button("Send", "paper-plane", "Send the feedback to the agent")
        self.approval_html = w.HTML()
        self.code_input = w.Textarea(rows=14, layout=full)
        self.comment_input = w.Text(description="Comment", placeholder="why (sent to the agent)",
                                    layout=full)
        self.approve_button = button("Approve", "check", "Run the proposed cell", "success")
        self.approve_edited_button = button("Approve edited", "pencil",
                                            "Run the cell as edited above", "info")
        self.reject_button = button("Reject", "times", "Skip this cell; the comment goes to the agent",
                                    "warning")
        self.approval_box = w.VBox(
            [self.approval_html, self.code_input, self.comment_input,
             w.HBox([self.approve_button, self.approve_edited_button, self.reject_button])],
            layout=w.Layout(display="none", border="2px solid #f9a825", padding="6px"))
        self.stop_button.on_click(self._guarded(self.stop))
        self.send_button.on_click(self._guarded(self.send_feedback))
        self.approve_button.on_click(self._guarded(lambda: self.decide("approve")))
        self.approve_edited_button.on_click(self._guarded(lambda: self.decide("edit")))
        self.reject_button.on_click(self._guarded(lambda: self.decide("reject")))
        controls = w.HBox([self.stop_button, self.feedback_input, self.send_button])
        self.widget = w.VBox(
            [self.header_html, self.sandbox_html, self.status_html, self.error_html,
             self.approval_box, controls, self.note_html, self.summary_html, self.plot,
             self.table_html, self.code_html, self.output_html],
            layout=w.Layout(border="1px solid #ccc", padding="6px"))
        run.add_listener(self.on_event)
        self.refresh()
        if run.done:
            self._finish(run.summary, run.error)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- events (called in the run's thread) -------------------------------------------------
    def on_event(self, event: str, data: dict[str, Any]) -> None:
        """Update the view for one agent event; never raises."""
        try:
            node = data.get("node")
            if isinstance(node, Node):
                self._current = node
            self._phase = PHASES.get(event, self._phase)
            if event == "approval_needed" and node is not None and self.run.pending is not None:
                self._show_approval(node)
            elif event == "node_started" and node is not None:
                self.code_html.value = f"<b>Cell of {esc(node.id)}</b>{_pre(node.code)}"
                self.output_html.value = ""
            elif event == "node_finished" and node is not None:
                self._hide_approval()
                tail = (node.output or node.error or "(no output)")[-OUTPUT_TAIL_CHARS:]
                self.output_html.value = f"<b>Output of {esc(node.id)} (tail)</b>{_pre(tail)}"
                self._update_plot()
            elif event == "verify_finished":
                best = data.get("best")
                self._phase = f"verified best: {best}" if best else "no result could be verified"
            elif event == "run_finished":
                self._phase = str(data.get("status", "finished"))
            elif event == "run_done":
                self._finish(data.get("summary"), data.get("error"))
            self._render_status()
            if event in {"node_started", "node_finished", "verify_finished", "run_done"}:
                self._render_table()
        except Exception as exc:  # a display error must not break the run
            self.show_error(f"monitor: {type(exc).__name__}: {exc}")

    # -- rendering ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-render everything from the journal."""
        run = self.run
        self.header_html.value = (
            f"<b>Experiment <code>{esc(run.run_id)}</code></b> · task {esc(run.journal.task)} · "
            f"{esc(run.journal.metric_name)} ({esc(run.journal.direction)}) · mode {esc(run.mode)}"
            f" <span style='color:#777'>({esc(run.run_dir)})</span>"
            + (f"<br><span style='color:#777'>metric: {esc(run.journal.metric_evidence)}</span>"
               if run.journal.metric_evidence else "")
            + "".join(f"<div style='color:#b71c1c;font-weight:bold'>⚠ {esc(w)}</div>"
                      for w in run.journal.warnings))
        self.sandbox_html.value = self.sandbox_block()
        self._render_status()
        self._render_table()
        self._update_plot()

    def sandbox_text(self) -> str:
        """"Sandbox: <what confined the run's kernels>" (from the journal, as report.md says it)."""
        described = (self.run.journal.sandbox or {}).get("description")
        return f"Sandbox: {described or 'not recorded (a run from before sandboxing)'}"

    def sandbox_block(self) -> str:
        """The sandbox line; a warning (red, ⚠) when the run's kernels were not confined."""
        text = esc(self.sandbox_text())
        if (self.run.journal.sandbox or {}).get("active"):
            return f"<div data-sandbox='active' style='color:#2e7d32'>{text}</div>"
        return (f"<div data-sandbox='inactive' style='color:#b71c1c;font-weight:bold'>⚠ {text}"
                "</div>")

    def _render_status(self) -> None:
        run, node = self.run, self._current
        steps = sum(1 for n in run.journal.nodes if n.kind != "baseline")
        elapsed = time.monotonic() - run.started_at if run.started_at else 0.0
        where = (f" · node <code>{esc(node.id)}</code> {esc(node.kind)}: {esc(node.title)}"
                 if node is not None else "")
        self.status_html.value = (f"<b>{esc(self._phase)}</b> · step {steps} / "
                                  f"{run.agent.options.max_steps}{where} · {elapsed:.0f} s")

    def rows(self) -> list[dict[str, Any]]:
        """The node table: id, kind, parent, title, status, metric (and approval, best)."""
        journal = self.run.journal
        return [{"id": n.id, "kind": n.kind, "parent": n.parent, "title": n.title,
                 "status": n.status, "metric": n.metric, "test": n.test_metric,
                 "approval": n.approval, "best": n.id == journal.best_node}
                for n in list(journal.nodes)]

    def _render_table(self) -> None:
        cells = []
        for row in self.rows():
            colour = STATUS_COLOURS.get(row["status"], "#c62828")
            status = row["status"] + ("" if row["approval"] == "auto" else f" ({row['approval']})")
            cells.append(
                f"<tr><td><code>{esc(row['id'])}</code>{' ✔' if row['best'] else ''}</td>"
                f"<td>{esc(row['kind'])}</td><td>{esc(row['parent'] or '—')}</td>"
                f"<td>{esc(row['title'][:80])}</td><td style='color:{colour}'>{esc(status)}</td>"
                f"<td>{_fmt(row['metric'])}</td><td>{_fmt(row['test'])}</td></tr>")
        which = {"validation": "validation", "test": "test"}.get(self.run.journal.selection or "",
                                                                  "metric")
        head = "".join(f"<th>{h}</th>" for h in ("node", "kind", "parent", "title", "status",
                                                  which, "held-out test"))
        self.table_html.value = (f"<table style='font-size:90%'><tr>{head}</tr>{''.join(cells)}"
                                 "</table>")

    def _update_plot(self) -> None:
        from ...types import metric_plot

        png = metric_plot(self.run.journal)
        if png is not None:
            self.plot.value = png

    def _show_approval(self, node: Node) -> None:
        self.approval_html.value = (
            f"<b>Approve {esc(node.kind)} <code>{esc(node.id)}</code>: {esc(node.title)}</b>"
            f"<div style='color:#444'>{esc(node.plan)}</div>"
            "<i>Edit the code below and use “Approve edited” to run your version.</i>")
        self.code_input.value = node.code
        self.comment_input.value = ""
        self.approval_box.layout.display = "flex"

    def _hide_approval(self) -> None:
        self.approval_box.layout.display = "none"

    def _finish(self, summary: dict[str, Any] | None, error: str | None) -> None:
        self._hide_approval()
        self._phase = (summary or {}).get("status") or ("failed" if error else "done")
        for control in (self.stop_button, self.send_button, self.feedback_input):
            control.disabled = True
        self.stop_button.button_style = ""  # a finished run has nothing to stop: no red button
        if error:
            self.show_error(error)
        if summary:
            self.summary_html.value = self.summary_block(summary)
        self.refresh()

    def summary_block(self, summary: dict[str, Any]) -> str:
        gain = summary.get("relative_improvement")
        gain_text = "—" if gain is None else f"{gain:+.1%}"
        test_gain = summary.get("test_improvement")
        if summary.get("selection") in {"validation", "test"}:
            gain_text += (f" · held-out test {esc(summary.get('metric'))} "
                          f"({esc(summary.get('test_source') or '—')}): "
                          f"{_fmt(summary.get('baseline_test_metric'))} → "
                          f"{_fmt(summary.get('best_test_metric'))}, "
                          + ("—" if test_gain is None else f"{test_gain:+.1%}"))
        gain_text += " (success, ≥ 10%)" if summary.get("success") else ""
        gain_text += f"<br><i>{esc(summary.get('selection_note') or '')}</i>"
        gain_text += "".join(f"<br><b style='color:#b71c1c'>⚠ {esc(w)}</b>"
                             for w in summary.get("warnings") or [])
        message = f" — {esc(summary['message'])}" if summary.get("message") else ""
        paths = " · ".join(f"{label}: <code>{esc(summary[key])}</code>"
                           for label, key in (("record", "record"), ("report", "report"),
                                              ("journal", "journal")) if summary.get(key))
        return (f"<div style='border-left:4px solid #2e7d32;padding-left:8px'>"
                f"<b>Result: {esc(summary.get('status'))}</b>{message}<br>"
                f"Baseline {esc(summary.get('metric'))}: {_fmt(summary.get('baseline_metric'))}"
                f" · best verified: {_fmt(summary.get('best_metric'))} "
                f"(node {esc(summary.get('best_node') or '—')}) · "
                f"relative improvement: <b>{gain_text}</b><br>{paths}</div>")

    def markdown(self) -> str:
        """The run's result as Markdown, for a saved notebook without widget state."""
        from ...types import summary_markdown

        summary = self.run.summary
        if summary is None:
            return f"Experiment `{self.run.run_id}` is running in `{self.run.run_dir}`."
        text = summary_markdown(self.run.journal, summary)
        links = [f"- **{label}:** `{summary[key]}`" for label, key in
                 (("Record", "record"), ("Report", "report"), ("Journal", "journal"))
                 if summary.get(key)]
        return text + "\n\n" + "\n".join(links)


    # -- actions (also usable from code) --------------------------------------------------------
    def stop(self) -> None:
        self.run.stop()
        self.stop_button.disabled = True
        self.note_html.value = "stopping after the current cell …"

    def send_feedback(self) -> None:
        text = self.feedback_input.value.strip()
        self.run.feedback(text)
        self.feedback_input.value = ""
        self.note_html.value = f"feedback sent (enters the next step): <i>{esc(text)}</i>"

    def decide(self, action: str) -> None:
        """Resolve the pending proposal: ``approve``, ``edit`` (the Textarea's code) or ``reject``."""
        pending, comment = self.run.pending, self.comment_input.value.strip()
        self._hide_approval()  # before resolving: the next proposal may show up quickly
        if action == "reject":
            self.run.reject(comment)
        elif action == "edit" and pending is not None and self.code_input.value != pending.node.code:
            self.run.approve(code=self.code_input.value, comment=comment)
        else:
            self.run.approve(comment=comment)
        self.note_html.value = f"{'rejected' if action == 'reject' else 'approved'}: " + (
            esc(pending.node.id) if pending else "")

    def __repr__(self) -> str:
        return f"ExperimentMonitor({self.run!r})"
