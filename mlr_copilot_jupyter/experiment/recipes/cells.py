"""Code-cell fragments shared by every recipe: data loading, the task's metric, the baseline."""

from __future__ import annotations

import csv
import json
from pathlib import PurePosixPath

from ...errors import TaskError
from ..task import KNOWN_METRICS, Task, canonical_metric

CLASSIFICATION = "classification"
REGRESSION = "regression"

_LABEL_METRICS = {
    "accuracy": ("accuracy_score", "score = accuracy_score(y_test, pred)"),
    "balanced_accuracy": (
        "balanced_accuracy_score",
        "score = balanced_accuracy_score(y_test, pred)",
    ),
    "f1_macro": ("f1_score", 'score = f1_score(y_test, pred, average="macro")'),
}
_REGRESSION_METRICS = {
    "mae": ("mean_absolute_error", "score = mean_absolute_error(y_test, pred)"),
    "mse": ("mean_squared_error", "score = mean_squared_error(y_test, pred)"),
    "rmse": ("mean_squared_error", "score = float(np.sqrt(mean_squared_error(y_test, pred)))"),
    "r2": ("r2_score", "score = r2_score(y_test, pred)"),
}
#: scikit-learn scorer used by cross-validated searches, per metric (binary, multi-class).
_SCORERS = {
    "accuracy": ("accuracy", "accuracy"),
    "balanced_accuracy": ("balanced_accuracy", "balanced_accuracy"),
    "f1": ("f1", "f1_macro"),
    "f1_macro": ("f1_macro", "f1_macro"),
    "precision": ("precision", "precision_macro"),
    "recall": ("recall", "recall_macro"),
    "roc_auc": ("roc_auc", "roc_auc_ovr"),
    "log_loss": ("neg_log_loss", "neg_log_loss"),
    "mae": ("neg_mean_absolute_error", "neg_mean_absolute_error"),
    "mse": ("neg_mean_squared_error", "neg_mean_squared_error"),
    "rmse": ("neg_root_mean_squared_error", "neg_root_mean_squared_error"),
    "r2": ("r2", "r2"),
}


def supported_metrics() -> list[str]:
    return sorted(KNOWN_METRICS)


def _metric_key(task: Task) -> str:
    key = canonical_metric(task.metric.name)
    if key not in KNOWN_METRICS:
        raise TaskError(
            f"task {task.name!r}: metric {task.metric.name!r} has no offline recipe code",
            hint=f"supported metrics: {', '.join(supported_metrics())}",
        )
    return key


def needs_proba(task: Task) -> bool:
    """True when the task's metric needs predicted probabilities (log loss)."""
    return _metric_key(task) == "log_loss"


def metric_code(task: Task) -> str:
    """Code that sets ``score`` from a fitted ``model`` on ``X_test``/``y_test`` and reports it.

    Raises :class:`TaskError` for a metric name the recipes cannot compute.
    """
    key = _metric_key(task)
    report = f"report_metric({task.metric.name!r}, score)"
    if key in _REGRESSION_METRICS:
        func, line = _REGRESSION_METRICS[key]
        return (
            f"from sklearn.metrics import {func}\n\npred = model.predict(X_test)\n{line}\n{report}"
        )
    if key in _LABEL_METRICS:
        func, line = _LABEL_METRICS[key]
        return (
            f"from sklearn.metrics import {func}\n\npred = model.predict(X_test)\n{line}\n{report}"
        )
    if key in {"f1", "precision", "recall"}:
        func = f"{key}_score"
        return (
            f"from sklearn.metrics import {func}\n\n"
            "pred = model.predict(X_test)\n"
            "labels = np.sort(y_train.unique())\n"
            "if len(labels) == 2:  # binary: score the positive (larger) label\n"
            f"    score = {func}(y_test, pred, pos_label=labels[-1])\n"
            "else:\n"
            f'    score = {func}(y_test, pred, average="macro")\n'
            f"{report}"
        )
    if key == "log_loss":
        return (
            "from sklearn.metrics import log_loss\n\n"
            "score = log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)\n"
            f"{report}"
        )
    return (  # roc_auc: probabilities, or decision values for models without them (SVMs)
        "from sklearn.metrics import roc_auc_score\n\n"
        'if hasattr(model, "predict_proba"):\n'
        "    ranking = model.predict_proba(X_test)\n"
        "else:\n"
        "    ranking = model.decision_function(X_test)\n"
        "if ranking.ndim == 2 and ranking.shape[1] == 2:\n"
        "    ranking = ranking[:, 1]\n"
        "if ranking.ndim == 1:\n"
        "    score = roc_auc_score(y_test, ranking)\n"
        "else:  # multi-class: one-vs-rest on softmax-normalised scores\n"
        "    ranking = np.exp(ranking - ranking.max(axis=1, keepdims=True))\n"
        "    ranking = ranking / ranking.sum(axis=1, keepdims=True)\n"
        '    score = roc_auc_score(y_test, ranking, multi_class="ovr", labels=model.classes_)\n'
        f"{report}"
    )


def scoring_code(task: Task) -> str:
    """A Python expression naming the scikit-learn scorer that matches the task's metric."""
    binary, multi = _SCORERS[_metric_key(task)]
    if binary == multi:
        return repr(binary)
    return f"({binary!r} if y_train.nunique() == 2 else {multi!r})"


def task_kind(task: Task) -> str | None:
    """``"classification"``, ``"regression"`` or None for task types the recipes do not cover."""
    kind = task.task_type.lower()
    if "regress" in kind:
        return REGRESSION
    if "classif" in kind or kind in {"binary", "multiclass"}:
        return CLASSIFICATION
    return None


def unsupported_reason(task: Task) -> str | None:
    """Why the offline recipes cannot run on ``task``, or None when they can."""
    if task_kind(task) is None:
        return f"task type {task.task_type!r} is neither classification nor regression"
    split = task.tabular_split()
    if split is None:
        return "the task has no train.csv and test.csv data files"
    for rel in split:
        try:
            with open(task.workspace_root / rel, newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), [])
        except (OSError, UnicodeDecodeError) as exc:
            return f"cannot read {rel}: {exc}"
        if task.target not in header:
            return f"{rel} has no target column {task.target!r}"
    if canonical_metric(task.metric.name) not in KNOWN_METRICS:
        return f"metric {task.metric.name!r} is not one of {', '.join(supported_metrics())}"
    return None


def load_code(task: Task) -> str:
    """Code that reads the train/test CSVs and sets ``X_train, y_train, X_test, y_test``."""
    split = task.tabular_split()
    if split is None:
        raise TaskError(f"task {task.name!r}: recipes need train.csv and test.csv data files")
    train, test = split
    target = task.target
    return (
        f"train = pd.read_csv({train!r})\n"
        f"test = pd.read_csv({test!r})\n"
        f"y_train, y_test = train[{target!r}], test[{target!r}]\n"
        "# One-hot encode text columns and fill gaps with training medians.\n"
        f"X_train = pd.get_dummies(train.drop(columns=[{target!r}]))\n"
        f"X_test = pd.get_dummies(test.drop(columns=[{target!r}]))\n"
        "X_test = X_test.reindex(columns=X_train.columns, fill_value=0)\n"
        "medians = X_train.median()\n"
        "X_train, X_test = X_train.fillna(medians), X_test.fillna(medians)"
    )


def baseline_code(task: Task) -> str:
    """The task's baseline as one notebook code cell (the script, or a notebook's code cells)."""
    path = task.workspace_root / task.baseline
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read the baseline: {exc}") from None
    if PurePosixPath(task.baseline).suffix != ".ipynb":
        return text.rstrip() + "\n"
    try:
        cells = json.loads(text)["cells"]
        sources = [
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells
            if c.get("cell_type") == "code"
        ]
    except (ValueError, KeyError, TypeError):
        raise TaskError(f"{path}: not a valid notebook (expected JSON with code cells)") from None
    return "\n\n".join(s.rstrip() for s in sources if s.strip()) + "\n"
