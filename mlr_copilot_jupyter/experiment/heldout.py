"""Scoring a node's test predictions against the held-out labels of a ``task.toml`` task.

The labelled test split lives under the task folder, never in the agent's workspace. A node
writes ``submission.csv`` (one row per row of the features file, same order, a column named like
the target or ``prediction``; ``proba_<class>`` columns for log_loss); the copilot scores it here
with plain-Python metrics, so the number does not depend on what the kernel imported.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from .metric_infer import canonical_metric
from .task import Task

Scorer = Callable[[list[str], list[str]], float]
SUPPORTED = ("accuracy", "balanced_accuracy", "f1", "f1_macro", "precision", "recall", "roc_auc",
             "log_loss", "mae", "mse", "rmse", "r2", "pearson", "spearman")


class _Reject(Exception):
    """A submission that cannot be scored; the message says why (one line)."""


def score_heldout(task: Task, workspace: Path) -> tuple[float | None, str]:
    """Score ``workspace/<task.submission>`` on the task's held-out labels.

    Returns (value, message); value is None, with the reason in the message, when the task has
    no held-out split, the metric is unsupported or the submission is missing or malformed.
    Never raises for a bad submission.
    """
    if task.test_file is None:
        return None, f"task {task.name!r} has no held-out test split ([test] in task.toml)"
    metric = canonical_metric(task.metric.name)
    if metric not in SUPPORTED:
        return None, (f"cannot score metric {task.metric.name!r} on the held-out split; "
                      f"supported: {', '.join(SUPPORTED)}")
    labels_path = task.root / task.test_file
    try:
        labels_header, labels = _read_csv(labels_path, "held-out file")
    except _Reject as exc:
        return None, str(exc)
    value, message = score_rows(task.metric.name, labels_header, labels, task.target,
                                Path(workspace) / task.submission, truth_label=task.test_file)
    if value is None:
        return None, message
    return value, (f"held-out {metric} of {task.submission} on {task.test_file} "
                   f"({len(labels)} rows)")


def score_rows(metric_name: str, truth_header: list[str], truth: list[list[str]], target: str,
               submission: Path, *, truth_label: str) -> tuple[float | None, str]:
    """Score the predictions in ``submission`` against the rows ``truth`` (column ``target``).

    The submission is aligned by an ``id`` column when both have one, else by row order; its
    prediction column is named like ``target``, ``prediction``, or is its only non-id column.
    Returns (value, message); None with the one-line reason when it cannot be scored.
    """
    metric = canonical_metric(metric_name)
    if metric not in SUPPORTED:
        return None, (f"cannot score metric {metric_name!r} with the copilot's scorer; "
                      f"supported: {', '.join(SUPPORTED)}")
    try:
        header, rows = _read_csv(submission, "submission")
        y_true = _column(truth_header, truth, target, truth_label)
        rows = _align(truth_header, truth, header, rows, submission.name)
        if metric == "log_loss":
            value = _log_loss(y_true, header, rows, submission.name)
        else:
            name = _prediction_column(header, target, submission.name)
            y_pred = _column(header, rows, name, submission.name)
            value = _METRICS[metric](y_true, y_pred)
    except _Reject as exc:
        return None, str(exc)
    if not math.isfinite(value):
        return None, f"{metric} of {submission.name} is not a finite number"
    return value, f"{metric} of {submission.name} on {truth_label} ({len(y_true)} rows)"


# --- reading and aligning ------------------------------------------------------------------


def _read_csv(path: Path, label: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of ``path``; ``label`` is "submission" or "held-out file"."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        why = " (the cell must write the test predictions there)" if label == "submission" else ""
        raise _Reject(f"no {label}: {path.name} was not written{why}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _Reject(f"cannot read the {label} {path.name}: {exc}") from None
    rows = [r for r in rows if r]
    if not rows:
        raise _Reject(f"the {label} {path.name} is empty")
    return [h.strip() for h in rows[0]], rows[1:]


def _column(header: list[str], rows: list[list[str]], name: str, label: str) -> list[str]:
    if name not in header:
        raise _Reject(f"{label} has no column {name!r} (columns: {', '.join(header[:8])})")
    k = header.index(name)
    short = sum(1 for r in rows if len(r) <= k)
    if short:
        raise _Reject(f"{label}: {short} rows have no value in column {name!r}")
    return [r[k].strip() for r in rows]


def _align(labels_header: list[str], labels: list[list[str]], header: list[str],
           rows: list[list[str]], label: str) -> list[list[str]]:
    """Submission rows in the order of the labels: by ``id`` when both have one, else as is."""
    if "id" in labels_header and "id" in header:
        by_id: dict[str, list[str]] = {}
        for row in rows:
            key = row[header.index("id")].strip() if len(row) > header.index("id") else ""
            if key in by_id:
                raise _Reject(f"{label}: id {key!r} appears twice")
            by_id[key] = row
        wanted = _column(labels_header, labels, "id", "the held-out file")
        missing = [key for key in wanted if key not in by_id]
        if missing:
            raise _Reject(f"{label}: {len(missing)} test ids have no prediction "
                          f"(first {missing[0]!r})")
        return [by_id[key] for key in wanted]
    if len(rows) != len(labels):
        raise _Reject(f"{label} has {len(rows)} rows but the test split has {len(labels)}: "
                      "write one prediction per row of the features file, in its order")
    return rows


def _prediction_column(header: list[str], target: str, label: str) -> str:
    for name in (target, "prediction"):
        if name in header:
            return name
    others = [h for h in header if h != "id"]
    if len(others) == 1:
        return others[0]
    raise _Reject(f"{label}: no column {target!r} or 'prediction' among "
                  f"{', '.join(header[:8]) or 'no columns'}")


def _floats(values: Sequence[str], what: str) -> list[float]:
    out = []
    for value in values:
        try:
            number = float(value)
        except ValueError:
            raise _Reject(f"{what} holds {value!r}, which is not a number") from None
        if not math.isfinite(number):
            raise _Reject(f"{what} holds {value!r}, which is not a finite number")
        out.append(number)
    return out


def _labels(values: Sequence[str]) -> list[str | float]:
    """Class labels compared as numbers when every value is one ("1" == "1.0"), else as text."""
    try:
        return [float(v) for v in values]
    except ValueError:
        return list(values)


def _show(label: str | float) -> str:
    return f"{label:g}" if isinstance(label, float) else label


def _sort_key(label: str | float) -> tuple[int, float, str]:
    return (0, label, "") if isinstance(label, float) else (1, 0.0, label)


# --- classification -------------------------------------------------------------------------


def _accuracy(y_true: list[str], y_pred: list[str]) -> float:
    truth, pred = _labels(y_true), _labels(y_pred)
    return sum(t == p for t, p in zip(truth, pred, strict=True)) / len(truth)


def _per_class(y_true: list[str], y_pred: list[str]) -> dict[str | float, tuple[int, int, int]]:
    """Per class: (true positives, false positives, false negatives)."""
    truth, pred = _labels(y_true), _labels(y_pred)
    classes = sorted(set(truth) | set(pred), key=_sort_key)
    return {c: (sum(t == c and p == c for t, p in zip(truth, pred, strict=True)),
                sum(t != c and p == c for t, p in zip(truth, pred, strict=True)),
                sum(t == c and p != c for t, p in zip(truth, pred, strict=True))) for c in classes}


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _prf(kind: str, *, macro: bool | None = None) -> Scorer:
    def score(y_true: list[str], y_pred: list[str]) -> float:
        counts = _per_class(y_true, y_pred)
        binary = len(counts) <= 2 if macro is None else not macro
        chosen = [max(counts, key=_sort_key)] if binary else list(counts)
        values = []
        for c in chosen:
            tp, fp, fn = counts[c]
            precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
            values.append({"precision": precision, "recall": recall,
                           "f1": _ratio(2 * precision * recall, precision + recall)}[kind])
        return sum(values) / len(values)

    return score


def _balanced_accuracy(y_true: list[str], y_pred: list[str]) -> float:
    truth = set(_labels(y_true))
    recalls = [_ratio(tp, tp + fn) for c, (tp, _, fn) in _per_class(y_true, y_pred).items()
               if c in truth]
    return sum(recalls) / len(recalls)


def _ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _roc_auc(y_true: list[str], y_pred: list[str]) -> float:
    truth = _labels(y_true)
    classes = sorted(set(truth), key=_sort_key)
    if len(classes) != 2:
        raise _Reject(f"roc_auc needs a binary test split; it has {len(classes)} classes")
    positive = classes[1]
    scores = _floats(y_pred, "the prediction column (roc_auc needs scores or 0/1 labels)")
    ranks = _ranks(scores)
    n_pos = sum(t == positive for t in truth)
    n_neg = len(truth) - n_pos
    rank_sum = sum(r for r, t in zip(ranks, truth, strict=True) if t == positive)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _log_loss(y_true: list[str], header: list[str], rows: list[list[str]], label: str) -> float:
    columns = {h.removeprefix("proba_"): k for k, h in enumerate(header) if h.startswith("proba_")}
    if not columns:
        raise _Reject(f"{label}: log_loss needs one column proba_<class> per class")
    by_label = {_labels([c])[0]: k for c, k in columns.items()}
    truth = _labels(y_true)
    missing = sorted({t for t in truth if t not in by_label}, key=_sort_key)
    if missing:
        name = _show(missing[0])
        raise _Reject(f"{label}: no column proba_{name} for test class {name}")
    eps, total = 1e-15, 0.0
    for row, t in zip(rows, truth, strict=True):
        probs = _floats([row[k] if k < len(row) else "" for k in columns.values()],
                        f"{label} proba_ columns")
        if any(p < 0 for p in probs) or sum(probs) <= 0:
            raise _Reject(f"{label}: probabilities must be non-negative with a positive sum")
        p = row[by_label[t]]
        total -= math.log(min(max(float(p) / sum(probs), eps), 1 - eps))
    return total / len(truth)


# --- regression -----------------------------------------------------------------------------


def _pairs(y_true: list[str], y_pred: list[str]) -> tuple[list[float], list[float]]:
    return _floats(y_true, "the held-out target"), _floats(y_pred, "the prediction column")


def _mae(y_true: list[str], y_pred: list[str]) -> float:
    t, p = _pairs(y_true, y_pred)
    return sum(abs(a - b) for a, b in zip(t, p, strict=True)) / len(t)


def _mse(y_true: list[str], y_pred: list[str]) -> float:
    t, p = _pairs(y_true, y_pred)
    return sum((a - b) ** 2 for a, b in zip(t, p, strict=True)) / len(t)


def _r2(y_true: list[str], y_pred: list[str]) -> float:
    t, _ = _pairs(y_true, y_pred)
    mean = sum(t) / len(t)
    total = sum((a - mean) ** 2 for a in t)
    if not total:
        raise _Reject("r2 is undefined: the held-out target is constant")
    return 1 - _mse(y_true, y_pred) * len(t) / total


def _correlation(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    if not sx or not sy:
        raise _Reject("correlation is undefined: the predictions or the target are constant")
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / (sx * sy)


def _pearson(y_true: list[str], y_pred: list[str]) -> float:
    return _correlation(*_pairs(y_true, y_pred))


def _spearman(y_true: list[str], y_pred: list[str]) -> float:
    t, p = _pairs(y_true, y_pred)
    return _correlation(_ranks(t), _ranks(p))


_METRICS: dict[str, Scorer] = {
    "accuracy": _accuracy, "balanced_accuracy": _balanced_accuracy, "f1": _prf("f1"),
    "f1_macro": _prf("f1", macro=True), "precision": _prf("precision"),
    "recall": _prf("recall"), "roc_auc": _roc_auc, "mae": _mae, "mse": _mse,
    "rmse": lambda t, p: math.sqrt(_mse(t, p)), "r2": _r2, "pearson": _pearson,
    "spearman": _spearman,
}  # fmt: skip
