"""The recipe type and the registry the offline engine draws experiment steps from."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from string import Template

from ...errors import TaskError
from ..task import Task
from .cells import (
    evaluate_code,
    layout,
    load_code,
    needs_proba,
    scoring_code,
    submission_code,
    task_kind,
    unsupported_reason,
)
from .sizing import SIZING_MIN_ROWS, cell_code, train_rows

# Log loss scores probabilities; models without predict_proba (SVMs) get Platt scaling.
_CALIBRATE = """if not hasattr(model, "predict_proba"):
    from sklearn.calibration import CalibratedClassifierCV

    model = CalibratedClassifierCV(model, ensemble=False)
"""

_SIZING_NOTE = """# Sized to the data and the time: the recipe is timed on two small subsamples and, when
# the full fit would take more than half of the cell timeout, made cheaper (cheaper validation,
# lighter models, fewer rows) until it fits; one `sizing:` line says what was done.
"""

#: named code fragments a recipe template may use as ``$name`` (besides ``$scoring``)
FRAGMENTS: dict[str, Callable[[Task], str]] = {}

FAMILIES: tuple[str, ...] = (
    "model_family",
    "preprocessing",
    "feature_engineering",
    "hyperparameter_search",
    "ensembling",
)


@dataclass(frozen=True)
class Recipe:
    """One experiment step of the offline engine: a model or pipeline change with its rationale.

    ``models`` maps a task kind (``"classification"``/``"regression"``) to a code template that
    imports what it needs and assigns an unfitted estimator to ``model``; it runs after ``SEED``,
    ``np``, ``pd`` and the train/validation/test frames are defined. ``$scoring`` is replaced by
    the scikit-learn scorer matching the task's metric (for cross-validated searches), other
    ``$name`` placeholders by the code fragments registered in :data:`FRAGMENTS`. The kinds are
    the data shapes of :func:`task_kind` (``regression``, ``text_classification``,
    ``pair_regression``, ...).
    """

    key: str
    title: str
    family: str
    rationale: str
    keywords: tuple[str, ...]
    models: Mapping[str, str] = field(repr=False)
    #: an optional module the recipe needs (offered only when it is importable)
    requires: str | None = None

    @property
    def task_types(self) -> tuple[str, ...]:
        return tuple(self.models)

    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def supports(self, task: Task) -> bool:
        return task_kind(task) in self.models and self.available()

    def code(self, task: Task, *, seed: int = 0, artifacts: Mapping[str, str] | None = None,
             cell_timeout: float | None = None) -> str:
        """A self-contained code cell: load data, fit, ``report_metric`` on the validation split
        (legacy tasks: the labelled test file), then write the submission when one is due.

        ``artifacts`` (file the baseline wrote -> its first lines) sets the submission format of
        eval.py-scored tasks. When the training file has more than
        :data:`~.sizing.SIZING_MIN_ROWS` rows the cell sizes the model to ``cell_timeout`` (the
        executor's per-cell limit; default the task's ``budget.cell_timeout_s``) before fitting
        it, see :mod:`.sizing`; a ``cell_timeout`` variable in the kernel overrides it.
        """
        kind = task_kind(task)
        if kind is None or kind not in self.models:
            raise TaskError(
                f"recipe {self.key!r} does not apply to task {task.name!r} "
                f"(task_type {task.task_type!r}; it covers {', '.join(self.models)})"
            )
        reason = unsupported_reason(task)
        if reason:
            raise TaskError(f"task {task.name!r}: offline recipes cannot run: {reason}")
        template = Template(self.models[kind])
        names = set(re.findall(r"\$(\w+)", self.models[kind]))
        values = {name: FRAGMENTS[name](task) for name in names if name in FRAGMENTS}
        if "scoring" in names:
            values["scoring"] = scoring_code(task)
        model = template.substitute(values)
        if needs_proba(task):
            model = model.rstrip() + "\n" + _CALIBRATE
        timeout = float(cell_timeout or task.budget.cell_timeout_s)
        rows = train_rows(task.workspace_root / layout(task, artifacts).train)
        sized = rows is None or rows > SIZING_MIN_ROWS
        fit = "model.fit(X_train, y_train)\n"
        if sized:
            fit = (f"{_SIZING_NOTE}{cell_code()}\n"
                   "model, X_fit, y_fit = size_to_budget(model, X_train, y_train, CELL_TIMEOUT, "
                   "seed=SEED)\n"
                   "model.fit(X_fit, y_fit)\n")
        return (
            f"# {self.title} [{self.family}]\n"
            "import numpy as np\n"
            "import pandas as pd\n\n"
            # the record's parameters cell defines `seed` (papermill -p seed N changes it)
            f"SEED = int(globals().get('seed', {int(seed)}))\n"
            "np.random.seed(SEED)\n"
            + (f"CELL_TIMEOUT = float(globals().get('cell_timeout', {timeout:g}))  # seconds\n"
               if sized else "")
            + f"{load_code(task, artifacts)}\n\n"
            f"{model.strip()}\n\n"
            f"{fit}"
            f"{evaluate_code(task, artifacts)}\n"
            + (f"\n{submission_code(task, artifacts)}\n" if submission_code(task, artifacts)
               else "")
        )

    def match_score(self, text: str) -> int:
        """How many of the recipe's keywords occur in ``text`` (for matching ideas to recipes)."""
        lowered = text.lower()
        return sum(1 for word in self.keywords if re.search(rf"\b{re.escape(word)}", lowered))


class RecipeCatalog:
    """Registry of recipes by key, with a preferred order per task kind."""

    def __init__(self) -> None:
        self._recipes: dict[str, Recipe] = {}
        self._order: dict[str, list[str]] = {}

    def register(self, recipe: Recipe, *, replace: bool = False) -> Recipe:
        if recipe.family not in FAMILIES:
            raise ValueError(f"recipe {recipe.key!r}: unknown family {recipe.family!r}")
        if recipe.key in self._recipes and not replace:
            raise ValueError(f"recipe {recipe.key!r} is already registered")
        self._recipes[recipe.key] = recipe
        return recipe

    def get(self, key: str) -> Recipe:
        try:
            return self._recipes[key]
        except KeyError:
            raise TaskError(
                f"unknown recipe {key!r}", hint=f"known: {', '.join(self._recipes)}"
            ) from None

    def set_order(self, kind: str, keys: list[str]) -> None:
        """Order recipes for a task kind by expected value; unlisted ones follow in insertion order."""
        self._order[kind] = list(keys)

    def for_task(self, task: Task) -> list[Recipe]:
        kind = task_kind(task)
        if kind is None or unsupported_reason(task):
            return []
        ranked = [k for k in self._order.get(kind, []) if k in self._recipes]
        ranked += [k for k in self._recipes if k not in ranked]
        return [self._recipes[k] for k in ranked
                if kind in self._recipes[k].models and self._recipes[k].available()]

    def keys(self) -> list[str]:
        return list(self._recipes)

    def __iter__(self) -> Iterator[Recipe]:
        return iter(list(self._recipes.values()))

    def __len__(self) -> int:
        return len(self._recipes)


RECIPES = RecipeCatalog()


def recipes_for(task: Task) -> list[Recipe]:
    """Recipes applicable to ``task``, best expected first; empty when its data is not usable."""
    return RECIPES.for_task(task)
