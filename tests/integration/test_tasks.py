"""A bundled task's baseline runs as a plain ``python baseline.py`` in a prepared workspace.

Task loading, validation, layouts and workspaces are tested in-process in tests/unit/test_tasks.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mlr_copilot_jupyter.experiment.task import load_task


def test_bundled_baseline_runs_as_plain_script(tmp_path: Path) -> None:
    task = load_task("wine")
    workspace = task.prepare_workspace(tmp_path / "run")
    out = subprocess.run(
        [sys.executable, "baseline.py"], cwd=workspace, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("MLR_METRIC "))
    record = json.loads(line.removeprefix("MLR_METRIC "))
    assert record["name"] == "accuracy"
    assert 0.5 < record["value"] < 0.9
    assert "validation accuracy" in out.stdout
    submission = (workspace / "submission.csv").read_text().splitlines()
    test_rows = (workspace / "test.csv").read_text().splitlines()
    assert submission[0] == "target" and len(submission) == len(test_rows)
