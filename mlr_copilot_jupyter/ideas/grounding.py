"""What every idea prompt is grounded in: the paper, its problem, its numbers, related works, and
optionally the task the ideas must run on. Sizes are bounded so a long paper cannot blow up a
prompt (about 6k characters of grounding plus 2k for related works)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..models import Paper, RelatedWork, ResearchProblem
from .text import clip

MAX_RESULTS = 8
MAX_RELATED = 6
NO_RELATED = "no related works were available"


def result_line(problem: ResearchProblem, k: int) -> str:
    r = problem.reported_results[k]
    where = f" on {r.dataset}" if r.dataset else ""
    setting = f" ({clip(r.setting, 120)})" if r.setting else ""
    page = f" [paper p. {r.page}]" if r.page else ""  # only cited results get here (issue 27)
    return f"{r.metric}{where}: {r.value}{setting}{page}"


def related_lines(related: Sequence[RelatedWork]) -> list[str]:
    return [f"{w.title}" + (f" ({w.year})" if w.year else "")
            + (f": {clip(w.abstract, 300)}" if w.abstract else "")
            for w in list(related)[:MAX_RELATED]]


def grounding(problem: ResearchProblem, related: Sequence[RelatedWork],
              paper: Paper | None = None) -> dict[str, object]:
    """The prompt fragment shared by the direction, hypothesis, plan and review prompts."""
    related = list(related) or list(problem.related_works)
    block: dict[str, object] = {}
    if paper is not None:
        block["Paper"] = {"Title": paper.title or paper.source,
                          "Abstract": clip(paper.abstract, 1500)}
    block["Research problem"] = {
        "Task definition": clip(problem.task_definition, 800),
        "Method of the paper": clip(problem.method_summary, 800),
        "Datasets": ", ".join(problem.datasets[:8]),
        "Reported results": [result_line(problem, k)
                             for k in range(min(MAX_RESULTS, len(problem.reported_results)))],
        "Research gaps": [clip(g, 300) for g in problem.research_gaps[:6]],
        "Stated limitations": [clip(x, 300) for x in problem.limitations[:4]],
        "Keywords": ", ".join(problem.keywords),
    }
    block["Related works"] = related_lines(related) or NO_RELATED
    return block


class _MetricFacts(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def direction(self) -> str: ...


class _BudgetFacts(Protocol):
    @property
    def max_steps(self) -> int: ...

    @property
    def wall_time_s(self) -> float: ...


class TaskFacts(Protocol):
    """What :meth:`TaskBrief.from_task` reads of a task (``experiment.task.Task`` has it all);
    typed here so that ``ideas`` does not depend on ``experiment``."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def data_files(self) -> list[str]: ...

    @property
    def task_type(self) -> str: ...

    @property
    def baseline(self) -> str: ...

    @property
    def heldout(self) -> bool: ...

    @property
    def metric(self) -> _MetricFacts: ...

    @property
    def budget(self) -> _BudgetFacts: ...


@dataclass
class TaskBrief:
    """The facts of an experiment task that an idea's plan must respect."""

    name: str
    description: str
    data_files: list[str]
    metric: str
    direction: str
    heldout: bool = False
    task_type: str = "classification"
    baseline: str = ""
    max_steps: int | None = None
    wall_time_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_task(cls, task: TaskFacts) -> TaskBrief:
        """Build from :class:`~mlr_copilot_jupyter.experiment.task.Task` (read, never changed)."""
        return cls(name=task.name, description=task.description,
                   data_files=list(task.data_files), metric=task.metric.name,
                   direction=task.metric.direction, heldout=task.heldout,
                   task_type=task.task_type, baseline=task.baseline,
                   max_steps=task.budget.max_steps, wall_time_s=task.budget.wall_time_s)

    @property
    def metric_phrase(self) -> str:
        return f"{self.metric} ({self.direction})"

    def prompt_block(self) -> dict[str, object]:
        budget = []
        if self.max_steps:
            budget.append(f"{self.max_steps} experiment steps")
        if self.wall_time_s:
            budget.append(f"{self.wall_time_s / 60:g} minutes wall time on a CPU")
        return {
            "Name": self.name,
            "Description": clip(self.description, 1200),
            "Data files": ", ".join(self.data_files),
            "Baseline": self.baseline,
            "Metric": self.metric_phrase,
            "Held-out test": "yes, scored once on the best result" if self.heldout else "no",
            "Compute budget": ", ".join(budget) or "small (one machine)",
        }
