"""The readout corpus (issue #24 item 1): what real training scripts print, and the validation
metric the offline readout must take from it — or say that it is unsure, never guess silently.

Each row: the output, the task's metric, the value expected (None: no validation metric there)
and whether the reading must be marked unsure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.printed import numbers_in
from mlr_copilot_jupyter.experiment.review import heuristic_review, printed_in
from mlr_copilot_jupyter.experiment.task import MetricSpec, Task

CORPUS: list[tuple[str, str, float | None, bool]] = [
    # thousands separators
    ("Validation MAE: 18,450", "mae", 18450, False),
    ("Validation MAE: 18,450.75", "mae", 18450.75, False),
    ("Validation MAE: 1,234,567", "mae", 1234567, False),
    ("Validation MAE: 18 450", "mae", 18450, False),
    ("val MAE 18 450", "mae", 18450, False),
    ("Validation MAE: 18\u202f450", "mae", 18450, False),
    ("Validation MAE: 18\u00a0450", "mae", 18450, False),
    ("Validation MAE: 18'450", "mae", 18450, False),
    ("valid rmse = 1,234.5 (n=1,000 rows)", "rmse", 1234.5, False),
    # scientific notation, signs
    ("val_loss=1.2e-3", "loss", 0.0012, False),
    ("Validation MSE: 3.5E+04", "mse", 35000, False),
    ("val r2: -0.153", "r2", -0.153, False),
    ("Val R2 \u22120.5", "r2", -0.5, False),
    ("dev pearson .77", "pearson", 0.77, False),
    # percentages and spreads
    ("Validation accuracy: 72.3%", "accuracy", 0.723, False),
    ("val acc 72.3 %", "accuracy", 0.723, False),
    ("val accuracy: 0.85 \u00b1 0.02", "accuracy", 0.85, False),
    ("CV accuracy 0.85 +/- 0.02 over 5 folds", "accuracy", 0.85, False),
    ("cross-validation f1: 0.812 (+- 0.031)", "f1", 0.812, False),
    # several metrics on one line
    ("Epoch 5/5 - loss: 0.52 - acc: 0.80 - val_loss: 0.47 - val_acc: 0.78", "accuracy", 0.78,
     False),
    ("Epoch 5/5 - loss: 0.52 - acc: 0.80 - val_loss: 0.47 - val_acc: 0.78", "loss", 0.47, False),
    ("train loss 0.30 | val loss 0.25 | test loss 0.27", "loss", 0.25, False),
    ("train_acc=0.99 valid_acc=0.91 test_acc=0.90", "accuracy", 0.91, False),
    ("{'val_loss': 0.25, 'val_accuracy': 0.9, 'val_f1': 0.88}", "f1", 0.88, False),
    ("val: mae 18,450 rmse 20,113", "rmse", 20113, False),
    ("val: mae 18,450 rmse 20,113", "mae", 18450, False),
    ("| val | 0.913 |", "accuracy", 0.913, False),
    # train / validation / test on lines of their own, and under headings
    ("Train MAE: 9,812\nValidation MAE: 18,450\nTest MAE: 21,676", "mae", 18450, False),
    ("Validation\n  MAE: 18,450\n  RMSE: 25,001\nTest\n  MAE: 21,676", "mae", 18450, False),
    ("== dev ==\nF1 = 0.66\n== test ==\nF1 = 0.61", "f1", 0.66, False),
    ("Test accuracy 0.88\ntest_pearson=0.9", "pearson", None, False),
    ("train accuracy 0.99", "accuracy", None, False),
    ("accuracy: 0.93", "accuracy", None, False),
    # the last epoch wins
    ("epoch 1 val_auc 0.70\nepoch 2 val_auc 0.74\nepoch 3 val_auc 0.79", "roc_auc", 0.79, False),
    # tqdm bars, Lightning, log lines
    ("Epoch 3: 100%|\u2588\u2588\u2588\u2588| 50/50 [00:01<00:00, 30.1it/s, val_acc=0.9]",
     "accuracy", 0.9, False),
    ("Validation DataLoader 0: 100%|\u2588\u2588\u2588\u2588| 10/10 [00:00<00:00, 50.00it/s]\n"
     "val_loss 0.412", "loss", 0.412, False),
    ("Validation DataLoader 0: 100%|\u2588\u2588\u2588\u2588| 10/10 [00:00<00:00, 50.00it/s]",
     "loss", None, False),
    (" 45%|\u2588\u2588\u2588\u2588\u258c     | 45/100 [00:01<00:02, 30.1it/s]\r"
     "100%|\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588| 100/100 [00:03<00:00]\n"
     "val mae: 4.2", "mae", 4.2, False),
    ("2024-05-01 12:00:00,123 INFO val_mae: 18,450", "mae", 18450, False),
    ("[2024-05-01T12:00:00.123] [INFO] valid/rmse 3.05", "rmse", 3.05, False),
    ("12:03:44 - fold 3/5 - val auc 0.91", "roc_auc", 0.91, False),
    # counters are no results
    ("val epoch 7", "accuracy", None, False),
    ("fold 2 val accuracy 0.83", "accuracy", 0.83, False),
    # readings that may be wrong say so
    ("val accuracy: 0,85", "accuracy", 0.85, True),
    ("val: 0.31 0.87", "accuracy", 0.87, True),
    ("       mae     rmse\nval  18450  20113\ntest 21676  23000", "mae", 20113, True),
]


def _task(metric: str) -> Task:
    return Task(name="t", description="d", data_files=[], baseline="x.py",
                metric=MetricSpec(name=metric, direction="minimize"), root=Path("."))


@pytest.mark.parametrize(("output", "metric", "expected", "unsure"), CORPUS,
                         ids=[f"{i:02d}" for i in range(len(CORPUS))])
def test_readout_corpus(output: str, metric: str, expected: float | None, unsure: bool) -> None:
    review = heuristic_review(output, _task(metric))
    if expected is None:
        assert review.metric is None, review.summary
        return
    assert review.metric == pytest.approx(expected), review.summary
    assert bool(review.unsure) is unsure, review.summary
    assert ("UNSURE" in review.summary) is unsure
    assert review.metric is not None and printed_in(review.metric, output)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


def test_printed_in_reads_numbers_as_printed() -> None:
    """An LLM reviewer's 18450 is in 'Validation MAE: 18,450' (it used to be rejected)."""
    assert printed_in(18450, "Validation MAE: 18,450")
    assert printed_in(0.723, "val acc 72.3%") and printed_in(72.3, "val acc 72.3%")
    assert not printed_in(18, "Validation MAE: 18,450")


def test_numbers_in_a_line() -> None:
    assert [n.value for n in numbers_in("sizes 1,500 and 2,000; lr 1e-4")] == [1500, 2000, 0.0001]
    assert [n.value for n in numbers_in("0.85 \u00b1 0.02")] == [0.85]
    assert [n.value for n in numbers_in("1,2,3")] == [1, 2, 3]


def test_a_comma_that_is_no_thousands_separator_is_read_as_decimal_and_unsure() -> None:
    (number,) = numbers_in("0,850")
    assert number.value == 0.85 and number.unsure
    (number,) = numbers_in("1,850")
    assert number.value == 1850 and not number.unsure
