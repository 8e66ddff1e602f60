"""The offline engine's experiment recipes: self-contained notebook cells for tabular tasks.

>>> from mlr_copilot_jupyter.experiment.task import load_task
>>> task = load_task("wine")
>>> [r.key for r in recipes_for(task)][:2]
['svm_rbf', 'voting_ensemble']
"""

from __future__ import annotations

from . import library as _library  # noqa: F401  (registers the built-in recipes)
from .catalog import FAMILIES, RECIPES, Recipe, RecipeCatalog, recipes_for
from .cells import (
    baseline_code,
    load_code,
    metric_code,
    needs_proba,
    supported_metrics,
    task_kind,
    unsupported_reason,
)

__all__ = [
    "FAMILIES",
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
