"""The held-out test split: score_heldout on every metric (hand-computed values, then checked
against scikit-learn/scipy) and bad submissions, in this process (tests/integration/
test_heldout.py: a real kernel that cannot see the labels)."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.heldout import SUPPORTED, score_heldout
from mlr_copilot_jupyter.experiment.task import Task, load_task

TOML = """\
name = "scoring"
description = "Scoring test."
target = "{target}"
data_files = ["train.csv"]
baseline = "baseline.py"

[test]
file = "private/test.csv"

[metric]
name = "{metric}"
direction = "maximize"
"""


def make_task(tmp_path: Path, labels: list[object], metric: str, *, target: str = "y",
              ids: list[str] | None = None) -> Task:
    folder = tmp_path / "task"
    (folder / "private").mkdir(parents=True, exist_ok=True)
    (folder / "train.csv").write_text(f"x,{target}\n0,{labels[0]}\n")
    (folder / "baseline.py").write_text("pass\n")
    head = ["id"] if ids else []
    rows = [[*([ids[k]] if ids else []), k, label] for k, label in enumerate(labels)]
    with open(folder / "private" / "test.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([[*head, "x", target], *rows])
    (folder / "task.toml").write_text(TOML.format(metric=metric, target=target))
    return load_task(folder)


def write_submission(workspace: Path, columns: dict[str, list[object]]) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    names = list(columns)
    with open(workspace / "submission.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows(zip(*(columns[n] for n in names), strict=True))
    return workspace


BINARY_TRUE = [0, 1, 1, 0, 1]
BINARY_PRED = [0, 1, 0, 0, 0]
MULTI_TRUE = ["cat", "dog", "fox", "cat"]
MULTI_PRED = ["cat", "fox", "fox", "dog"]
REG_TRUE = [1, 2, 3, 4]
REG_PRED = [1.5, 2, 2, 5]


@pytest.mark.parametrize(
    ("metric", "y_true", "y_pred", "expected"),
    [
        ("accuracy", BINARY_TRUE, BINARY_PRED, 3 / 5),
        ("balanced_accuracy", BINARY_TRUE, BINARY_PRED, (1 + 1 / 3) / 2),
        ("f1", BINARY_TRUE, BINARY_PRED, 0.5),  # positive class 1: p = 1, r = 1/3
        ("precision", BINARY_TRUE, BINARY_PRED, 1.0),
        ("recall", BINARY_TRUE, BINARY_PRED, 1 / 3),
        ("f1_macro", BINARY_TRUE, BINARY_PRED, (0.5 + 2 / 3) / 2),
        ("accuracy", MULTI_TRUE, MULTI_PRED, 2 / 4),
        ("f1", MULTI_TRUE, MULTI_PRED, (2 / 3 + 0 + 2 / 3) / 3),  # multi-class: macro
        ("balanced_accuracy", MULTI_TRUE, MULTI_PRED, (0.5 + 0 + 1) / 3),
        ("roc_auc", BINARY_TRUE, [0.35, 0.9, 0.35, 0.1, 0.8], 5.5 / 6),  # one tied pair
        ("mae", REG_TRUE, REG_PRED, 0.625),
        ("mse", REG_TRUE, REG_PRED, 0.5625),
        ("rmse", REG_TRUE, REG_PRED, 0.75),
        ("r2", REG_TRUE, REG_PRED, 1 - 2.25 / 5),
        ("pearson", REG_TRUE, REG_PRED, 5.25 / math.sqrt(5 * 7.6875)),
        ("spearman", REG_TRUE, REG_PRED, 4.5 / math.sqrt(5 * 4.5)),
    ],
)
def test_metric_values_by_hand(tmp_path: Path, metric: str, y_true: list[object],
                               y_pred: list[object], expected: float) -> None:
    task = make_task(tmp_path, y_true, metric)
    value, message = score_heldout(task, write_submission(tmp_path / "ws", {"y": y_pred}))
    assert value == pytest.approx(expected), message
    assert f"held-out {metric}" in message and f"({len(y_true)} rows)" in message


def test_log_loss_by_hand(tmp_path: Path) -> None:
    task = make_task(tmp_path, BINARY_TRUE, "log_loss")
    p_true = [0.8, 0.6, 0.3, 0.9, 0.5]
    p1 = [p if t == 1 else 1 - p for t, p in zip(BINARY_TRUE, p_true, strict=True)]
    workspace = write_submission(tmp_path / "ws", {
        "proba_0": [round(1 - p, 6) for p in p1], "proba_1": p1})
    value, _ = score_heldout(task, workspace)
    assert value == pytest.approx(-sum(math.log(p) for p in p_true) / 5)


def test_labels_compare_as_numbers_and_column_fallbacks(tmp_path: Path) -> None:
    task = make_task(tmp_path, BINARY_TRUE, "accuracy", target="label")
    # "1.0" equals "1"; without a 'label' column, 'prediction' is used
    ws = write_submission(tmp_path / "ws", {"prediction": ["0.0", "1.0", "0", "0", "0"],
                                            "other": [9] * 5})
    assert score_heldout(task, ws)[0] == pytest.approx(3 / 5)
    # the only non-id column, whatever its name
    ws = write_submission(tmp_path / "ws2", {"id": [1, 2, 3, 4, 5], "guess": BINARY_TRUE})
    assert score_heldout(task, ws)[0] == 1.0


def test_rows_are_aligned_by_id_when_both_files_have_one(tmp_path: Path) -> None:
    ids = ["a", "b", "c", "d", "e"]
    task = make_task(tmp_path, REG_TRUE + [6], "mae", ids=ids)
    shuffled = {"id": ["e", "c", "a", "d", "b"], "y": [6, 2, 1.5, 5, 2]}
    value, message = score_heldout(task, write_submission(tmp_path / "ws", shuffled))
    assert value == pytest.approx(2.5 / 5), message
    missing = {"id": ["e", "c", "a", "d", "z"], "y": [6, 2, 1.5, 5, 2]}
    value, message = score_heldout(task, write_submission(tmp_path / "ws2", missing))
    assert value is None and "1 test ids have no prediction (first 'b')" in message


@pytest.mark.parametrize("metric", SUPPORTED)
def test_agrees_with_scikit_learn_and_scipy(tmp_path: Path, metric: str) -> None:
    from scipy import stats
    from sklearn import metrics as skm

    rng = random.Random(metric)
    n = 60
    if metric in {"mae", "mse", "rmse", "r2", "pearson", "spearman"}:
        y = [round(rng.gauss(10, 3), 3) for _ in range(n)]
        pred: list[object] = [round(v + rng.gauss(0, 2), 3) for v in y]
        columns: dict[str, list[object]] = {"y": pred}
        p = [float(v) for v in pred]  # type: ignore[arg-type]
        expected = {
            "mae": skm.mean_absolute_error(y, p), "mse": skm.mean_squared_error(y, p),
            "rmse": math.sqrt(skm.mean_squared_error(y, p)), "r2": skm.r2_score(y, p),
            "pearson": stats.pearsonr(y, p)[0], "spearman": stats.spearmanr(y, p)[0],
        }[metric]  # fmt: skip
    elif metric in {"roc_auc", "log_loss"}:
        y = [rng.randint(0, 1) for _ in range(n)]
        scores = [round(min(max(0.5 + (t - 0.5) * 0.4 + rng.gauss(0, 0.25), 0.01), 0.99), 2)
                  for t in y]
        columns = ({"y": scores} if metric == "roc_auc"
                   else {"proba_0": [round(1 - s, 2) for s in scores], "proba_1": scores})
        expected = (skm.roc_auc_score(y, scores) if metric == "roc_auc"
                    else skm.log_loss(y, [[1 - s, s] for s in scores]))
    else:
        classes = 2 if metric in {"f1", "precision", "recall"} else 3
        y = [rng.randrange(classes) for _ in range(n)]
        pred_labels = [t if rng.random() < 0.6 else rng.randrange(classes) for t in y]
        columns = {"y": list(pred_labels)}
        expected = {
            "accuracy": skm.accuracy_score, "balanced_accuracy": skm.balanced_accuracy_score,
            "f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score,
            "f1_macro": lambda a, b: skm.f1_score(a, b, average="macro"),
        }[metric](y, pred_labels)  # fmt: skip
    task = make_task(tmp_path, list(y), metric)
    value, message = score_heldout(task, write_submission(tmp_path / "ws", columns))
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), message


@pytest.mark.parametrize(
    ("metric", "columns", "expected"),
    [
        ("accuracy", None, "no submission: submission.csv was not written"),
        ("accuracy", {"y": [0, 1, 1]}, "submission.csv has 3 rows but the test split has 5"),
        ("accuracy", {"a": [0] * 5, "b": [1] * 5}, "no column 'y' or 'prediction' among a, b"),
        ("mae", {"y": [1, 2, "x", 4, 5]}, "holds 'x', which is not a number"),
        ("mae", {"y": [1, 2, "nan", 4, 5]}, "holds 'nan', which is not a finite number"),
        ("log_loss", {"y": [0, 1, 1, 0, 1]}, "log_loss needs one column proba_<class>"),
        ("log_loss", {"proba_0": [1] * 5}, "no column proba_1 for test class 1"),
        ("bleu", {"y": [0] * 5}, "cannot score metric 'bleu'"),
        ("pearson", {"y": [3] * 5}, "correlation is undefined"),
    ],
)
def test_bad_submissions_give_none_and_a_reason(tmp_path: Path, metric: str,
                                                columns: dict[str, list[object]] | None,
                                                expected: str) -> None:
    task = make_task(tmp_path, BINARY_TRUE, "accuracy").with_metric(metric, "max")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    if columns is not None:
        write_submission(workspace, columns)
    value, message = score_heldout(task, workspace)
    assert value is None
    assert expected in message and "\n" not in message
    if metric == "bleu":
        assert "supported: accuracy" in message and "spearman" in message


def test_empty_submission_and_task_without_split(tmp_path: Path) -> None:
    task = make_task(tmp_path, BINARY_TRUE, "accuracy")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "submission.csv").write_text("")
    assert score_heldout(task, tmp_path / "ws") == (None, "the submission submission.csv is empty")
    legacy = task.model_copy(update={"test_file": None})
    value, message = score_heldout(legacy, tmp_path / "ws")
    assert value is None and "has no held-out test split" in message
