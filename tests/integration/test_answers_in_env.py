"""Issue #24 must-show 2: a task whose eval.py reads the test labels from inside env/ (the
MLR-Copilot SemEval layout), with a labelled ``eng_dev.csv`` and a baseline that prints only train
and test figures. No file the agent can see holds the answers, eval.py still scores, the run
selects on the dev file (the baseline scored there by a validation replay), never on test."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import cli_command, subprocess_env
from tests.support.world_tasks import pair_task_with_answers_in_env

pytestmark = pytest.mark.slow


def _columns_of_every_table(folder: Path) -> list[tuple[Path, str, list[str]]]:
    found = []
    for path in folder.rglob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        found += [(path, str(c), frame[c].tolist()) for c in frame.columns]
    return found


@pytest.mark.slow_ok(reason="a CLI offline run on a 5k-pair text task: baseline, the validation "
                     "replay of the baseline in a second kernel, one step, verification and eval.py")
def test_answers_inside_env_stay_out_and_selection_uses_the_dev_file(tmp_path: Path) -> None:
    task = pair_task_with_answers_in_env(tmp_path / "semrel")
    answers = pd.read_csv(task / "env/data/eng/eng_test.csv", dtype=str)["label"].tolist()
    out = tmp_path / "run"
    done = subprocess.run([*cli_command(), "experiment", "--task", str(task), "--backend",
                           "offline", "--max-steps", "1", "--cell-timeout", "120", "--out",
                           str(out), "--json"],
                          capture_output=True, text=True, timeout=600, env=subprocess_env())
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)

    # no file of the agent's workspace holds the test answers, in any column
    workspace = out / "workspace"
    staged = pd.read_csv(workspace / "data/eng/eng_test.csv", dtype=str, keep_default_na=False)
    assert list(staged.columns) == ["PairID", "sentence1", "sentence2", "label"]
    assert set(staged["label"]) == {""}
    leaks = [(p, c) for p, c, values in _columns_of_every_table(workspace) if values == answers]
    assert not leaks, leaks
    assert not (out / "scoring").exists() and not (out / "verify").exists()

    # eval.py still scored the submissions, with the original answers
    journal = json.loads((out / "journal.json").read_text())
    baseline = next(n for n in journal["nodes"] if n["kind"] == "baseline")
    assert baseline["test_metric"] is not None and -1 <= baseline["test_metric"] <= 1
    assert summary["baseline_test_metric"] == pytest.approx(baseline["test_metric"])
    assert summary["best_test_metric"] is not None and math.isfinite(summary["best_test_metric"])
    # the baseline printed "Test Spearman correlation: nan": the answers were not there to read
    assert "Test Spearman correlation: nan" in baseline["output"]

    # selection on the labelled dev file, never on the test metric
    assert journal["selection"] == summary["selection"] == "validation"
    assert "eng_dev.csv" in journal["validation"]
    assert "validation replay" in baseline["metric_source"] and baseline["metric"] is not None
    assert not any("SELECTED ON THE TEST SPLIT" in w for w in journal["warnings"])
    report = (out / "report.md").read_text()
    assert "selected on the test metric" not in report
    assert "eng_dev.csv" in report and "data/eng/eng_test.csv (label column label)" in report
    assert journal["answers_held_out"] == ["data/eng/eng_test.csv (label column label)"]
    # env/ ships a stale submission.csv that the baseline rewrites: a node must write its own
    assert journal["required_artifacts"] == ["submission.csv"]
    record = (out / "experiment.ipynb").read_text()
    assert "Answers kept out of the workspace" in record and "validation replay" in record
