"""Code-cell fragments shared by every recipe: data loading, the task's metric, the baseline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath

from ...errors import TaskError
from ..task import Task, canonical_metric
from .data import CLASSIFICATION, READERS, REGRESSION, DataLayout, inspect

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
    "pearson": ("pearsonr", "score = float(pearsonr(y_test, pred)[0])"),
    "spearman": ("spearmanr", "score = float(spearmanr(y_test, pred)[0])"),
}
_CORRELATIONS = frozenset({"pearson", "spearman"})
#: metric names the recipes compute, with their direction
RECIPE_METRICS: dict[str, str] = {
    "accuracy": "maximize", "balanced_accuracy": "maximize", "f1": "maximize",
    "f1_macro": "maximize", "precision": "maximize", "recall": "maximize",
    "roc_auc": "maximize", "r2": "maximize", "pearson": "maximize", "spearman": "maximize",
    "log_loss": "minimize", "mae": "minimize", "mse": "minimize", "rmse": "minimize",
}  # fmt: skip
_ALIASES = {
    "pearsonr": "pearson", "pearson_r": "pearson", "pearson_correlation": "pearson",
    "correlation": "pearson", "spearmanr": "spearman", "spearman_rho": "spearman",
}  # fmt: skip
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
    "pearson": ("r2", "r2"),
    "spearman": ("r2", "r2"),
}


def supported_metrics() -> list[str]:
    return sorted(RECIPE_METRICS)


def _canonical(name: str) -> str:
    key = canonical_metric(name)
    return _ALIASES.get(key, key)


def layout(task: Task, artifacts: Mapping[str, str] | None = None) -> DataLayout:
    """The task's :class:`DataLayout`; raises :class:`TaskError` when the recipes cannot run."""
    found = inspect(task, artifacts)
    if isinstance(found, str):
        raise TaskError(f"task {task.name!r}: offline recipes cannot run: {found}")
    return found


def reported_metric(task: Task, kind: str | None = None) -> tuple[str, str]:
    """(metric key the cell computes, name it reports under).

    A task scored by its eval.py with a metric the recipes cannot compute gets a validation
    stand-in with the same direction (mae / r2 for regression, log loss / accuracy otherwise).
    """
    key = _canonical(task.metric.name)
    if key in RECIPE_METRICS:
        return key, task.metric.name
    if task.eval_script is not None and kind is not None:
        down = task.metric.direction == "minimize"
        if kind == REGRESSION:
            stand_in = "mae" if down else "r2"
        else:
            stand_in = "log_loss" if down else "accuracy"
        return stand_in, stand_in
    raise TaskError(
        f"task {task.name!r}: metric {task.metric.name!r} has no offline recipe code",
        hint=f"supported metrics: {', '.join(supported_metrics())}",
    )


def _metric_key(task: Task) -> str:
    found = inspect(task)
    return reported_metric(task, None if isinstance(found, str) else found.kind)[0]


def needs_proba(task: Task) -> bool:
    """True when the task's metric needs predicted probabilities (log loss)."""
    return _metric_key(task) == "log_loss"


def metric_code(task: Task) -> str:
    """Code that sets ``score`` from a fitted ``model`` on ``X_test``/``y_test`` and reports it.

    Raises :class:`TaskError` for a metric name the recipes cannot compute.
    """
    found = inspect(task)
    key, name = reported_metric(task, None if isinstance(found, str) else found.kind)
    report = f"report_metric({name!r}, score)"
    if key in _REGRESSION_METRICS:
        func, line = _REGRESSION_METRICS[key]
        module = "scipy.stats" if key in _CORRELATIONS else "sklearn.metrics"
        return f"from {module} import {func}\n\npred = model.predict(X_test)\n{line}\n{report}"
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
    """The data's shape: ``classification``/``regression``, or ``text_``/``pair_`` + one of them.

    None when the recipes cannot read the task's data.
    """
    found = inspect(task)
    return None if isinstance(found, str) else found.shape


def unsupported_reason(task: Task) -> str | None:
    """Why the offline recipes cannot run on ``task`` (one line), or None when they can."""
    found = inspect(task)
    if isinstance(found, str):
        return found
    key = _canonical(task.metric.name)
    if key not in RECIPE_METRICS and task.eval_script is None:
        return f"metric {task.metric.name!r} is not one of {', '.join(supported_metrics())}"
    return None


def _read(rel: str) -> str:
    return READERS[PurePosixPath(rel).suffix.lower()].format(path=rel)


def load_code(task: Task, artifacts: Mapping[str, str] | None = None) -> str:
    """Code that reads the data and sets ``X_train, y_train`` and the evaluation split.

    Held-out and eval.py tasks: ``X_valid, y_valid`` (the validation file, else an 80/20 split of
    the train file) and ``test, X_test`` (the features to predict). Legacy tasks (a labelled
    test.csv and no held-out split): ``X_test, y_test`` as before.
    """
    data = layout(task, artifacts)
    ev = "test" if data.legacy else "valid"
    target = data.target
    lines = [f"train = {_read(data.train)}"]
    if data.evaluate is not None:
        lines.append(f"{ev} = {_read(data.evaluate)}")
    else:
        strat = f"train[{target!r}]" if data.kind == CLASSIFICATION else "None"
        lines += [
            "from sklearn.model_selection import train_test_split",
            "",
            "# no validation file: hold out 20% of the training rows (seeded)",
            f"strata = {strat}",
            "if strata is not None and strata.value_counts().min() < 2:",
            "    strata = None",
            f"train, {ev} = train_test_split(train, test_size=0.2, random_state=SEED, "
            "stratify=strata)",
        ]
    frames = ["train", ev]
    if data.test and not data.legacy:
        frames.append("test")
        lines.append(f"test = {_read(data.test)}")
    lines.append(f"y_train, y_{ev} = train[{target!r}], {ev}[{target!r}]")
    drop = [target, *data.ids]
    if data.text:
        lines += ["# text columns are kept raw: the model's pipeline turns them into features",
                  f"TEXT_COLUMNS = {list(data.text)!r}"]
        for frame in frames:
            lines.append(f"X_{frame} = {frame}[TEXT_COLUMNS].fillna('').astype(str)")
        return "\n".join(lines)
    lines += _column_preparation(data, frames)
    drop += list(data.dropped) + [column for column, _, _ in data.codes]
    lines.append("# One-hot encode categorical columns and fill gaps with training medians.")
    lines.append(f"X_train = pd.get_dummies(train.drop(columns={drop!r}, errors='ignore'))")
    for frame in frames[1:]:
        lines.append(f"X_{frame} = pd.get_dummies({frame}.drop(columns={drop!r}, errors='ignore'))")
        lines.append(f"X_{frame} = X_{frame}.reindex(columns=X_train.columns, fill_value=0)")
    lines.append("medians = X_train.median(numeric_only=True)")
    for frame in frames:
        lines.append(f"X_{frame} = X_{frame}.fillna(medians)")
    return "\n".join(lines)


def _column_preparation(data: DataLayout, frames: list[str]) -> list[str]:
    """Lines that treat wide string columns as a practitioner would (and say so in comments)."""
    lines: list[str] = []
    if data.dropped:
        lines.append(f"# near-unique text columns (IDs, names) are dropped: {list(data.dropped)}")
    for column, sep, parts in data.codes:
        lines.append(f"# {column!r} is a structured code ({sep!r}-separated, {parts} parts): "
                     "split into its parts")
        for frame in frames:
            lines += [f"_parts = {frame}[{column!r}].astype(str).str.split({sep!r}, n={parts - 1}, "
                      "expand=True, regex=False)",
                      f"for _i in range({parts}):",
                      "    _part = _parts[_i] if _i in _parts else None",
                      f"    {frame}[f'{column}_{{_i}}'] = (pd.to_numeric(_part, errors='coerce') "
                      f"if _part is not None and pd.to_numeric(_part, errors='coerce').notna()"
                      f".mean() > 0.9 else _part)"]
    if data.capped:
        lines.append("# many categories: all but the 20 most frequent (in train) become 'other'")
        for column in data.capped:
            lines.append(f"_top = train[{column!r}].value_counts().index[:20]")
            for frame in frames:
                lines.append(f"{frame}[{column!r}] = {frame}[{column!r}].where("
                             f"{frame}[{column!r}].isin(_top), 'other')")
    return lines


def evaluate_code(task: Task, artifacts: Mapping[str, str] | None = None) -> str:
    """The metric on the evaluation split (validation, or legacy test) with ``report_metric``."""
    code = metric_code(task)
    if layout(task, artifacts).legacy:
        return code
    return code.replace("X_test", "X_valid").replace("y_test", "y_valid")


def submission_code(task: Task, artifacts: Mapping[str, str] | None = None) -> str:
    """Code that predicts the features file and writes the submission, or "" when none is due.

    Held-out tasks get a column named like the target (positive-class scores for binary ROC AUC,
    ``proba_<class>`` columns for log loss); eval.py tasks get the columns of the file the
    baseline wrote (id columns copied from the features file, row order kept).
    """
    data = layout(task, artifacts)
    if data.submission is None:
        return ""
    source = "X_valid" if not data.test and not data.legacy else "X_test"
    key = reported_metric(task, data.kind)[0]
    heldout = bool(getattr(task, "heldout", False))
    columns = ["proba_"] if heldout and key == "log_loss" else list(data.submission_columns)
    lines = [f"# predictions for {data.submission}: one row per row of the features file, in order",
             f"submission = pd.DataFrame(index=range(len({source})))"]
    if any(c.startswith("proba_") for c in columns):
        lines += [f"proba_test = model.predict_proba({source})", "classes = list(model.classes_)"]
    for column in columns:
        if column == "proba_":
            lines += ["for i, label in enumerate(classes):",
                      "    submission[f'proba_{label}'] = proba_test[:, i]"]
        elif column.startswith("proba_"):
            label = column.removeprefix("proba_")
            lines.append(f"submission[{column!r}] = proba_test[:, [str(c) for c in classes]"
                         f".index({label!r})]")
        elif column in data.ids and not data.legacy:
            lines.append(f"submission[{column!r}] = test[{column!r}].to_numpy()")
        elif heldout and key == "roc_auc":
            lines += [
                "# binary ROC AUC: a positive-class score ranks better than a hard label",
                "if len(model.classes_) == 2 and hasattr(model, 'predict_proba'):",
                f"    submission[{column!r}] = model.predict_proba({source})[:, 1]",
                "elif len(model.classes_) == 2 and hasattr(model, 'decision_function'):",
                f"    submission[{column!r}] = model.decision_function({source})",
                "else:",
                f"    submission[{column!r}] = model.predict({source})",
            ]
        else:
            lines.append(f"submission[{column!r}] = model.predict({source})")
    sep = ", sep='\\t'" if data.submission.endswith(".tsv") else ""
    header = "" if data.submission_header else ", header=False"
    lines += [f"submission.to_csv({data.submission!r}, index=False{sep}{header})",
              f"print(f'wrote {data.submission}: {{len(submission)}} rows, "
              f"columns {{list(submission.columns)}}')"]
    return "\n".join(lines)


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
