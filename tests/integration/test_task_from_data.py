"""A task from the notebook's own data: ``%mlr_experiment --data df --target y`` in a real kernel,
``mlr-copilot task init`` then ``experiment`` on its folder. The choice of metric and the one
line for every bad input are tested in-process in tests/unit/test_task_from_data.py."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.experiment.task import load_task
from tests.support.cli import main_output as cli
from tests.support.frames import frame


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")


MAKE_FRAMES = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
n = 150
df = pd.DataFrame({"size": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n),
                   "weight": rng.normal(size=n)})
df.loc[::9, "size"] = np.nan
df["kind"] = np.where(df["weight"] + (df["colour"] == "red") > 0.4, "big", "small")
houses = df.drop(columns=["kind"]).assign(price=3 * df["weight"] + rng.normal(scale=0.3, size=n))
"""


def shown_text(cell: dict) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/markdown", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def assert_heldout_outside(run: Path, target: str) -> Path:
    """The labelled test split is in the task folder, and no labelled CSV of the run holds its rows."""
    journal = Journal.load(run / "journal.json")
    heldout = Path(journal.settings["task_path"]) / "heldout" / "test.csv"
    assert heldout.is_file()
    assert not heldout.resolve().is_relative_to(run.resolve())
    test = pd.read_csv(heldout)
    features = [c for c in test.columns if c != target]
    workspace_test = pd.read_csv(run / "workspace" / "test.csv")
    assert list(workspace_test.columns) == features  # the features-only copy
    for csv_file in run.rglob("*.csv"):
        table = pd.read_csv(csv_file)
        if target in table.columns and set(features) <= set(table.columns):
            overlap = table[features].merge(test[features], how="inner")
            assert overlap.empty, f"{csv_file} holds held-out test rows with labels"
    return heldout


@pytest.mark.slow_ok(reason="DataFrames in a real kernel become task folders, and two offline runs "
                     "score them")
def test_dataframes_in_a_real_kernel_become_tasks_and_runs(tmp_path: Path) -> None:
    cls_run, reg_run = tmp_path / "cls-run", tmp_path / "reg-run"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlr_copilot_jupyter"),
        nbformat.v4.new_code_cell(MAKE_FRAMES),
        nbformat.v4.new_code_cell(
            f"%mlr_experiment --data df --target kind --max-steps 4 --wait --out {cls_run}"),
        nbformat.v4.new_code_cell("import json; print(json.dumps(_mlr_run.summary))"),
        nbformat.v4.new_code_cell(
            f"%mlr_experiment --data houses --target price --max-steps 2 --wait --out {reg_run}"),
        nbformat.v4.new_code_cell("print(json.dumps(_mlr_run.summary))"),
    ]
    NotebookClient(nb, timeout=180, resources={"metadata": {"path": str(tmp_path)}}).execute()

    said = shown_text(nb.cells[2])
    assert "task from `df`: classification (2 classes) of 'kind'" in said
    assert "metric accuracy (maximize)" in said and "split 96/24/30" in said
    summary = json.loads(nb.cells[3].outputs[0]["text"])
    assert summary["status"] == "done" and summary["metric"] == "accuracy"
    assert summary["best_metric"] is not None and summary["best_test_metric"] is not None
    report = (cls_run / "report.md").read_text()
    assert "validation" in report and "Held-out test accuracy" in report
    heldout = assert_heldout_outside(cls_run, "kind")
    assert heldout.is_relative_to(tmp_path / "runs" / "tasks")  # in the run directory

    said = shown_text(nb.cells[4])
    assert "regression of 'price'" in said and "metric rmse (minimize)" in said
    summary = json.loads(nb.cells[5].outputs[0]["text"])
    assert summary["status"] == "done" and summary["metric"] == "rmse"
    assert summary["direction"] == "minimize" and summary["best_test_metric"] is not None
    report = (reg_run / "report.md").read_text()
    assert "rmse (minimize)" in report and "Held-out test rmse" in report
    assert_heldout_outside(reg_run, "price")


def test_task_init_then_experiment_on_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame(120).drop(columns=["price"]).to_csv(tmp_path / "shapes.csv", index=False)
    code, out, err = cli(capsys, "task", "init", "--data", str(tmp_path / "shapes.csv"),
                         "--target", "kind", "--out", str(tmp_path / "shapes-task"))
    assert code == 0, err
    assert "classification (2 classes) of 'kind'" in out and "metric accuracy" in out
    assert f"mlr-copilot experiment --task {tmp_path / 'shapes-task'}" in out
    task = load_task(tmp_path / "shapes-task")
    assert task.heldout and task.metric.name == "accuracy" and task.target == "kind"
    assert "shapes.csv" in task.description and "120 rows" in task.description
    code, out, err = cli(capsys, "experiment", "--task", str(tmp_path / "shapes-task"),
                         "--max-steps", "2", "--out", str(tmp_path / "run"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "done" and summary["baseline_metric"] is not None
    assert summary["baseline_test_metric"] is not None
    record = nbformat.read(tmp_path / "run" / "experiment.ipynb", as_version=4)
    nbformat.validate(record)
    assert Journal.load(tmp_path / "run" / "journal.json").status == "done"
