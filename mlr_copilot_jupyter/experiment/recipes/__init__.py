"""The offline engine's experiment recipes: self-contained notebook cells for tabular and text
tasks (text classification / regression and sentence pairs, detected from the data).

>>> from mlr_copilot_jupyter.experiment.task import load_task
>>> task = load_task("wine")
>>> [r.key for r in recipes_for(task)][:2]
['svm_rbf', 'voting_ensemble']
"""

from __future__ import annotations

from . import library as _library  # noqa: F401  (registers the built-in recipes)
from . import text as _text  # noqa: F401  (registers the text recipes)
from .catalog import FAMILIES, RECIPES, Recipe, RecipeCatalog, recipes_for
from .cells import (
    RECIPE_METRICS,
    baseline_code,
    evaluate_code,
    layout,
    load_code,
    metric_code,
    needs_proba,
    reported_metric,
    submission_code,
    supported_metrics,
    task_kind,
    unsupported_reason,
)
from .data import DataLayout, inspect, text_columns

__all__ = [
    "FAMILIES",
    "RECIPE_METRICS",
    "DataLayout",
    "evaluate_code",
    "inspect",
    "layout",
    "reported_metric",
    "submission_code",
    "text_columns",
    "RECIPES",
    "Recipe",
    "RecipeCatalog",
    "baseline_code",
    "load_code",
    "metric_code",
    "needs_proba",
    "recipes_for",
    "supported_metrics",
    "task_kind",
    "unsupported_reason",
]
