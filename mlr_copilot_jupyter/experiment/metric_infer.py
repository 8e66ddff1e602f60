"""Which metric a task is judged by, which direction is better, and how we know.

The rules (names, directions, what ``eval.py`` and the problem text say) are in
:mod:`.metric_rules` and re-exported here; this module adds :func:`confirm_metric`, which lets
an LLM confirm or correct an inferred metric, and the offline engine's answer to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ..errors import MLRCopilotError
from ..llm.base import Message
from ..llm.solvers import expect_inputs, register_solver
from .metric_rules import (
    DIRECTIONS,
    KNOWN_METRICS,
    METRIC_ALIASES,
    PROBLEM_FILES,
    REGRESSION_METRICS,
    Direction,
    MetricInference,
    MetricOrigin,
    _quote,
    canonical_metric,
    complement_evidence,
    elapsed_time_evidence,
    infer_folder_metric,
    infer_metric,
    parse_direction,
)
from .task_model import Task

if TYPE_CHECKING:
    from ..llm.base import Backend

__all__ = [
    "DIRECTIONS", "KNOWN_METRICS", "METRIC_ALIASES", "PROBLEM_FILES", "REGRESSION_METRICS",
    "CurrentReading", "Direction", "MetricConfirmation", "MetricInference", "MetricOrigin",
    "canonical_metric", "complement_evidence", "confirm_metric", "elapsed_time_evidence",
    "infer_folder_metric", "infer_metric", "parse_direction",
]  # fmt: skip


# --- LLM confirmation --------------------------------------------------------------------------


class MetricConfirmation(BaseModel):
    """What the LLM says the task's metric is."""

    name: str = Field(description="short metric name, e.g. accuracy, rmse, pearson, runtime")
    direction: Direction = Field(description="maximize if higher is better, else minimize")
    quote: str = Field(description="the words of eval.py or the problem text that show it")

    def apply(self, task: Task) -> Task:
        """``task`` with this answer taken (inferred and default metrics) or noted (others)."""
        name = canonical_metric(self.name) if canonical_metric(self.name) in KNOWN_METRICS \
            else self.name.strip() or task.metric.name
        said = f'LLM: {name} ({self.direction}), "{_quote(self.quote)}"'
        agrees = (canonical_metric(name) == canonical_metric(task.metric.name)
                  and self.direction == task.metric.direction)
        if task.metric_origin in ("task.toml", "override"):
            if agrees:
                return task
            return task.model_copy(update={"warnings": [
                *task.warnings, f"{said} disagrees with the {task.metric_origin} metric "
                f"{task.metric.name} ({task.metric.direction}); kept the {task.metric_origin} one"]})
        verdict = "confirmed" if agrees else f"corrected {task.metric.name} ({task.metric.direction})"
        evidence = f"{said} {verdict}; was {task.metric_origin}: {task.metric_evidence}"
        metric = task.metric.model_copy(update={"name": name, "direction": self.direction})
        kept = [w for w in task.warnings if "ASSUMED MAXIMIZE" not in w]
        return task.model_copy(update={"metric": metric, "metric_origin": "llm",
                                       "metric_evidence": _quote(evidence, 400), "warnings": kept})


class CurrentReading(MetricConfirmation):
    """The offline engine's answer: it cannot read eval.py, so the current reading stands."""

    def apply(self, task: Task) -> Task:
        return task


def _solve_confirmation(messages: list[Message], inputs: object) -> CurrentReading:
    """Offline solver for the "metric-confirm" call: the Task's current reading."""
    task = expect_inputs(inputs, Task, "metric-confirm")
    return CurrentReading(name=task.metric.name, direction=task.metric.direction,
                          quote=task.metric_evidence or "")


register_solver(MetricConfirmation, _solve_confirmation)

_CONFIRM_SYSTEM = (
    "You check how a machine-learning task is scored. Read the scoring script and the problem "
    "text, then give the metric's short name, whether higher (maximize) or lower (minimize) is "
    "better, and quote the words that show it. A get_score that returns a time is minimized."
)


async def confirm_metric(task: Task, backend: Backend) -> Task:
    """``task`` with its metric confirmed or corrected by the backend's reading of eval.py and
    the problem text (the offline engine keeps the current reading).

    Metrics set by a task.toml or an override are never changed: a disagreement only adds a
    warning. Inferred and default metrics take the LLM's answer with origin ``"llm"``.
    """
    eval_source = ""
    if task.eval_script is not None:
        eval_path = task.root / task.eval_script
        if eval_path.is_file():
            eval_source = eval_path.read_text(encoding="utf-8", errors="replace")[:12000]
    prompt = "\n\n".join([
        f"# Problem\n{task.description[:6000]}",
        f"# eval.py\n```python\n{eval_source}\n```" if eval_source else "# eval.py\n(none)",
        f"# Current reading\n{task.metric.name} ({task.metric.direction}); "
        f"{task.metric_evidence or 'no evidence'}",
    ])
    messages = [{"role": "system", "content": _CONFIRM_SYSTEM}, {"role": "user", "content": prompt}]
    try:
        reply = await backend.aquery(messages, schema=MetricConfirmation, label="metric-confirm",
                                     inputs=task)
    except MLRCopilotError as exc:
        return task.model_copy(update={"warnings": [
            *task.warnings, f"LLM metric confirmation failed: {_quote(str(exc), 200)}"]})
    answer = reply.parsed
    return task if answer is None else answer.apply(task)
