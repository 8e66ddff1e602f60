"""Helpers shared by the tests (moved from ``tests/test_experiment_agent.py``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import nbformat

from tests.support.cli import cli_command, subprocess_env
from tests.support.load import time_bound


def run_cli(*args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command; ``timeout`` (seconds on an idle machine, scaled to the load) stops a hang."""
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=time_bound(timeout), env=subprocess_env(), cwd=cwd)


def check_record(run_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The record notebook is valid nbformat and every generated cell carries metadata."""
    nb = nbformat.read(run_dir / "experiment.ipynb", as_version=4)
    nbformat.validate(nb)
    journal = json.loads((run_dir / "journal.json").read_text())
    node_ids = {n["id"] for n in journal["nodes"]}
    generated = [c for c in nb.cells if c.cell_type in {"code", "raw"}]
    assert generated
    for cell in generated:
        meta = cell.metadata["mlr_copilot"]
        if meta["stage"] in {"parameters", "setup"}:
            continue
        assert meta["node_id"] in node_ids
        for key in ("parent", "stage", "step", "status", "metric", "tokens", "elapsed"):
            assert key in meta
    assert nb.metadata["mlr_copilot"]["task"]["name"]
    assert "versions" in nb.metadata["mlr_copilot"]
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "seed" in params[0].source
    return nb, journal


EVAL_PY = '''import os
import pandas as pd

def get_score(submission_folder="../env"):
    answers = pd.read_csv(os.path.join(os.path.dirname(__file__), "answers.csv"))
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    return float((submission["prediction"].values == answers["target"].values).mean())
'''


TRAIN_PY = '''import pandas as pd
from sklearn.tree import DecisionTreeClassifier

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
features = [c for c in train.columns if c != "target"][:1]
model = DecisionTreeClassifier(max_depth=1, random_state=0)
model.fit(train[features], train["target"])
pd.DataFrame({"prediction": model.predict(test[features])}).to_csv("submission.csv", index=False)
print("wrote submission.csv")
'''


def make_mlagentbench_task(root: Path) -> Path:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    train, test = train_test_split(data, test_size=0.3, random_state=0, stratify=data["target"])
    (root / "env").mkdir(parents=True)
    (root / "scripts").mkdir()
    train.to_csv(root / "env" / "train.csv", index=False)
    test.to_csv(root / "env" / "test.csv", index=False)
    test[["target"]].to_csv(root / "scripts" / "answers.csv", index=False)
    (root / "env" / "train.py").write_text(TRAIN_PY)
    (root / "scripts" / "eval.py").write_text(EVAL_PY)
    (root / "scripts" / "research_problem.txt").write_text(
        "Predict whether a tumour is malignant from cell measurements in train.csv. Improve the "
        "accuracy of train.py's predictions for test.csv, written to submission.csv.")
    (root / "scripts" / "read_only_files.txt").write_text("train.csv\ntest.csv\n")
    return root



TINY_TASK_TOML = """
name = "tiny"
description = "Predict y from x."
task_type = "regression"
target = "y"
data_files = ["train.csv"]
baseline = "baseline.py"
[metric]
name = "mae"
direction = "minimize"
[budget]
max_steps = {steps}
"""


def tiny_task(folder: Path, steps: int) -> Path:
    """A task.toml folder (30 rows of y = 2x, a mean baseline that reports mae) with ``steps``
    as its ``[budget] max_steps``, written as given (out-of-range values too)."""
    folder.mkdir()
    (folder / "task.toml").write_text(TINY_TASK_TOML.format(steps=steps), encoding="utf-8")
    (folder / "train.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(30)),
                                      encoding="utf-8")
    (folder / "baseline.py").write_text(
        "import pandas as pd\ntrain = pd.read_csv('train.csv')\n"
        "report_metric('mae', float((train.y - train.y.mean()).abs().mean()))\n",
        encoding="utf-8")
    return folder
