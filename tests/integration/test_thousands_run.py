"""End to end (issue #24 must-show 1): a baseline that prints ``Validation MAE: 64,402`` (a
thousands separator, as real scripts print money or counts) is read as 64402, not 64, so a better
later node is recognised and the report gives the right relative improvement on validation and on
the held-out test."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import mlr_copilot_jupyter
from tests.support.cli import cli_command, subprocess_env

pytestmark = pytest.mark.slow

HEAT = Path(mlr_copilot_jupyter.__file__).parent / "tasks" / "heat_mlab"


def _task_in_hundredths(tmp_path: Path) -> Path:
    """heat_mlab with its target in hundredths (values in the tens of thousands) and a baseline
    that prints its MAE with a thousands separator, without decimals."""
    task = tmp_path / "heat_big"
    shutil.copytree(HEAT, task, ignore=shutil.ignore_patterns("_make_data.py", "__pycache__"))
    for rel in ("env/train.csv", "scripts/answers.csv"):
        frame = pd.read_csv(task / rel)
        frame["heat_load"] = (frame["heat_load"] * 100).round(0)
        frame.to_csv(task / rel, index=False)
    train = (task / "env" / "train.py").read_text()
    old = 'print(f"Validation MAE: {mean_absolute_error(valid[\'heat_load\'], ' \
          'model.predict(valid[FEATURES])):.3f}")'
    assert old in train
    (task / "env" / "train.py").write_text(train.replace(old, old.replace(":.3f", ":,.0f")))
    return task


def test_a_baseline_printing_thousands_separators_is_read_right(tmp_path: Path) -> None:
    task = _task_in_hundredths(tmp_path)
    out = tmp_path / "run"
    done = subprocess.run([*cli_command(), "experiment", "--task", str(task), "--backend",
                           "offline", "--max-steps", "2", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=400, env=subprocess_env())
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    journal = json.loads((out / "journal.json").read_text())
    baseline = next(n for n in journal["nodes"] if n["kind"] == "baseline")
    assert "Validation MAE: " in baseline["output"] and "," in baseline["output"]
    assert baseline["metric"] > 1000  # e.g. 6,440: not the 6 before the comma
    printed = baseline["output"].split("Validation MAE: ")[1].split()[0]
    assert baseline["metric"] == pytest.approx(float(printed.replace(",", "")))
    base, best = summary["baseline_metric"], summary["best_metric"]
    assert best < base  # a later node is better, and is recognised as better
    assert summary["relative_improvement"] == pytest.approx((base - best) / base, rel=1e-6)
    assert summary["relative_improvement"] > 0.10
    base_test, best_test = summary["baseline_test_metric"], summary["best_test_metric"]
    assert best_test < base_test and summary["test_improvement"] == pytest.approx(
        (base_test - best_test) / base_test, rel=1e-6)
    assert summary["selection"] == "validation"
    report = (out / "report.md").read_text()
    assert f"{summary['relative_improvement']:+.1%}" in report


def test_validation_and_test_figures_100x_apart_raise_a_loud_warning(tmp_path: Path) -> None:
    """Issue #24 must-show 3: the baseline prints its validation MAE in hundreds (a unit slip)
    while eval.py scores in units: 100x apart. The record and the CLI summary say so loudly."""
    task = _task_in_hundredths(tmp_path)
    train = (task / "env" / "train.py").read_text()
    train = train.replace("model.predict(valid[FEATURES])):,.0f}", "model.predict(valid[FEATURES]))"
                          " / 100:.3f}")
    assert "/ 100:.3f}" in train
    (task / "env" / "train.py").write_text(train)
    out = tmp_path / "run"
    done = subprocess.run([*cli_command(), "experiment", "--task", str(task), "--backend",
                           "offline", "--max-steps", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=400, env=subprocess_env())
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [ln for ln in done.stdout.splitlines() if ln.strip().startswith("WARNING:")]
    loud = [w for w in warnings if "held-out test" in w and "differ by" in w]
    assert loud and "the baseline" in loud[0], done.stdout
    ratio = float(loud[0].split("differ by ")[1].split("x")[0].replace(",", ""))
    assert 50 < ratio < 200
    record = (out / "experiment.ipynb").read_text()
    assert "differ by" in record and "probably misread" in record
    assert "differ by" in (out / "report.md").read_text()
