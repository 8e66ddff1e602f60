"""Which way a task's metric points, read from eval.py's returned expression and the problem text
(issue #24 item 6): a get_score that times itself for logging but returns an accuracy is an
accuracy to maximise; a returned elapsed time is a runtime to minimise."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.metric_infer import (
    elapsed_time_evidence,
    infer_folder_metric,
    infer_metric,
)

TIMES_ITSELF_RETURNS_ACCURACY = '''
import time
import pandas as pd

def get_score(folder):
    start = time.time()
    pred = pd.read_csv(f"{folder}/submission.csv")["label"]
    gold = pd.read_csv("answer.csv")["label"]
    error = float((pred != gold).mean())
    elapsed = time.time() - start
    print(f"scored in {elapsed:.2f} s")
    return 1.0 - error
'''

RETURNS_ELAPSED = {
    "through a name": '''
import time
def get_score(folder):
    start = time.perf_counter()
    run(folder)
    end = time.perf_counter()
    elapsed = end - start
    return elapsed
''',
    "directly": '''
import time
def get_score(folder):
    t0 = time.time()
    run(folder)
    return time.time() - t0
''',
    "per call, rounded": '''
from time import perf_counter
def get_score(folder, n=10):
    start = perf_counter()
    for _ in range(n):
        run(folder)
    return round((perf_counter() - start) / n, 4)
''',
    "in a helper": '''
import timeit
def measure(folder):
    return min(timeit.repeat(lambda: run(folder), number=1, repeat=3))
def get_score(folder):
    return measure(folder)
''',
}


def test_a_score_that_times_itself_but_returns_accuracy_is_not_a_runtime(
        tmp_path: Path) -> None:
    assert elapsed_time_evidence(TIMES_ITSELF_RETURNS_ACCURACY) is None
    found = infer_folder_metric(tmp_path, TIMES_ITSELF_RETURNS_ACCURACY,
                                "Improve the classifier's predictions.")
    assert found.direction == "maximize" and found.name != "runtime"


@pytest.mark.parametrize("source", RETURNS_ELAPSED.values(), ids=RETURNS_ELAPSED.keys())
def test_a_returned_elapsed_time_is_a_runtime_to_minimise(source: str, tmp_path: Path) -> None:
    assert elapsed_time_evidence(source) is not None
    found = infer_folder_metric(tmp_path, source, "")
    assert (found.name, found.direction) == ("runtime", "minimize")


@pytest.mark.parametrize("text", [
    "Make the inference script faster without changing its output.",
    "Reduce the run time of train.py.",
    "Speed up the training loop.",
    "Please speed it up.",
])
def test_requests_for_speed_read_as_minimise(text: str) -> None:
    assert infer_metric(text) == ("runtime", "minimize")


def test_a_speedup_noun_is_still_maximised() -> None:
    assert infer_metric("Report the speedup over the baseline.") == ("speedup", "maximize")


def test_the_complement_of_a_score_is_an_error_to_minimise(tmp_path: Path) -> None:
    source = ("def get_score(folder):\n    accuracy = compute(folder)\n"
              "    return 1 - accuracy\n")
    found = infer_folder_metric(tmp_path, source, "")
    assert (found.name, found.direction) == ("error", "minimize")
    unknown = "def get_score(folder):\n    x = compute(folder)\n    return 1 - x\n"
    assert infer_folder_metric(tmp_path, unknown, "Maximize the F1 score.").name == "f1"
