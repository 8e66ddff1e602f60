"""Fit an idea's experiment plan to the task at hand: its data files, metric and direction, and
budget; an idea that cannot apply says so and names the closest testable variant."""

from __future__ import annotations

from ..models import Idea
from .catalog import CATALOG, Strategy
from .grounding import TaskBrief
from .vocab import count_domain_terms

_BY_KEY = {s.key: s for s in CATALOG}


def task_domains(task: TaskBrief) -> set[str]:
    """Domains of the task: tabular when its data are CSV files, plus those its text names."""
    scores = count_domain_terms(f"{task.name} {task.description}")
    domains = {d for d, c in scores.items() if c >= 2}
    if task.data_files and all(f.lower().endswith((".csv", ".parquet", ".tsv"))
                               for f in task.data_files):
        domains.add("tabular")
    return domains or {"tabular"}


def _applies(strategy: Strategy, domains: set[str]) -> bool:
    return bool(strategy.recipe_keys) or "general" in strategy.applies_to or bool(
        domains & set(strategy.applies_to))


def closest_variant(strategy: Strategy, domains: set[str]) -> Strategy | None:
    """A strategy of the same family (else any) that does apply to the task."""
    fits = [s for s in CATALOG if s.key != strategy.key and _applies(s, domains)]
    same = [s for s in fits if s.family == strategy.family]
    pool = same or fits
    return pool[0] if pool else None


def _mapping(idea: Idea, task: TaskBrief, applies: bool) -> str:
    files = ", ".join(task.data_files)
    base = f" against the baseline script {task.baseline}" if task.baseline else ""
    heldout = "; the held-out test split is scored once for the best result" if task.heldout else ""
    if not applies:
        return (f"On task {task.name} ({files}) the idea cannot be tested as stated; the closest "
                f"variant below is tested instead and scored by {task.metric_phrase}{base}"
                f"{heldout}.")
    return (f"On task {task.name} the hypothesis is tested on {files}: "
            f"{idea.title[:1].lower() + idea.title[1:]} is applied to the task's model and the "
            f"effect is measured as {task.metric_phrase}{base}{heldout}.")


def fit_to_task(idea: Idea, task: TaskBrief) -> Idea:
    """A copy of ``idea`` whose plan names the task's data, metric and direction and budget."""
    plan = idea.plan
    domains = task_domains(task)
    strategy = _BY_KEY.get(idea.strategy or "")
    applies = plan.applies_to_task if plan.applies_to_task is not None else True
    variant = plan.closest_variant
    if strategy is not None:
        applies = _applies(strategy, domains)
        if not applies:
            alt = closest_variant(strategy, domains)
            variant = (f"{alt.title}: {alt.method.format_map(_Neutral(task))}" if alt
                       else "none in the catalog")
    if not applies and not variant:
        variant = "the closest variant could not be named; adapt the idea by hand"
    mapping = plan.task_mapping.strip() if plan.task_mapping.strip() and strategy is None else (
        _mapping(idea, task, applies))
    if not applies:
        mapping += f" Closest testable variant: {variant}"
    budget = f" within {task.max_steps} steps" if task.max_steps else ""
    first = (f"Load {', '.join(task.data_files)} from the {task.name} workspace, run the baseline "
             f"and record {task.metric_phrase} on the validation split{budget}.")
    # the paper's metrics (WER, BLEU) are not measurable on the task: its metric replaces them
    metrics = [task.metric_phrase]
    return idea.model_copy(update={"plan": plan.model_copy(update={
        "task": task.name, "task_mapping": mapping, "applies_to_task": applies,
        "closest_variant": variant if not applies else "",
        "datasets": list(dict.fromkeys([*task.data_files, *plan.datasets])),
        "metrics": metrics,
        "steps": [first, f"Task mapping: {mapping}", *plan.steps],
    })})


class _Neutral(dict[str, str]):
    """Template values for a variant's method, phrased for the task."""

    def __init__(self, task: TaskBrief) -> None:
        super().__init__(task=task.name, metric=task.metric, dataset=", ".join(task.data_files),
                         baseline=task.baseline or "the baseline", keyword=task.name,
                         gap="the baseline leaves room to improve")

    def __missing__(self, key: str) -> str:
        return "the task"
