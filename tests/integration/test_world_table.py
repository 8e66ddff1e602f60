"""Issue #24 item 7: a 10,000-row table with an ID, a free-text name and a structured code
column, whose baseline prints several metrics with thousands separators on one line. The run
reads the MAE (not the RMSE beside it), no step times out, and the answers stay beside eval.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import cli_command, subprocess_env
from tests.support.world_tasks import table_task_10k

pytestmark = pytest.mark.slow


@pytest.mark.slow_ok(reason="a 2-step offline run in a real kernel fitting a 10k-row table")
def test_a_10k_row_table_with_ids_names_and_codes_runs_without_timeouts(tmp_path: Path) -> None:
    task = table_task_10k(tmp_path / "houses")
    out = tmp_path / "run"
    done = subprocess.run([*cli_command(), "experiment", "--task", str(task), "--backend",
                           "offline", "--max-steps", "2", "--cell-timeout", "150", "--out",
                           str(out), "--json"],
                          capture_output=True, text=True, timeout=900, env=subprocess_env())
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    journal = json.loads((out / "journal.json").read_text())
    baseline = journal["nodes"][0]
    line = next(ln for ln in baseline["output"].splitlines() if "Validation MAE" in ln)
    printed = line.split("Validation MAE: ")[1].split()[0]
    assert "," in printed and baseline["metric"] == pytest.approx(float(printed.replace(",", "")))
    rmse = line.split("Validation RMSE: ")[1].split()[0]
    assert baseline["metric"] != pytest.approx(float(rmse.replace(",", "")))
    assert journal["selection"] == "validation" and not journal["validation"]
    statuses = {n["id"]: n["status"] for n in journal["nodes"]}
    assert "timeout" not in statuses.values(), statuses
    assert all(s == "ok" for s in statuses.values()), statuses
    assert summary["baseline_test_metric"] > 1_000 and summary["best_test_metric"] is not None
    assert summary["best_test_metric"] < summary["baseline_test_metric"]
    assert not any("differ by" in w for w in journal["warnings"]), journal["warnings"]
