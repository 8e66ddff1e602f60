"""Issue 25 must-show 2: a third backend, registered through the entry-point group by a
distribution on PYTHONPATH (tests/support/third_backend.py; nothing patched), runs a 2-step
experiment when it is named on the command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from tests.support.cli import cli_command, subprocess_env
from tests.support.third_backend import NAME, install_relay

pytestmark = pytest.mark.slow


def test_a_backend_registered_by_entry_point_runs_an_experiment_by_name(tmp_path: Path) -> None:
    site = install_relay(tmp_path / "site")
    log, out = tmp_path / "calls.log", tmp_path / "run"
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [*cli_command(), "experiment", "--backend", NAME, "--task", "digits", "--max-steps", "2",
         "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=600,
        env=subprocess_env(PYTHONPATH=path, RELAY_LOG=str(log)))
    assert done.returncode == 0, done.stderr[-2000:]
    journal = json.loads((out / "journal.json").read_text())
    steps = [n for n in journal["nodes"] if n["kind"] != "baseline"]
    assert len(steps) == 2 and all(n["status"] == "ok" for n in steps)
    # every step was asked of the relay backend, by its call label
    labels = log.read_text().split()
    assert [label.split("-")[0] for label in labels if label.split("-")[0] in
            {"draft", "improve", "debug"}] == [n["kind"] for n in steps]
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    assert record.metadata["mlr_copilot"]["backend"] == NAME
    assert record.metadata["mlr_copilot"]["engine"] == "relay backend (offline solvers)"
    summary = json.loads(done.stdout)
    assert summary["best_metric"] is not None

    # the same name is refused, in one line naming the registered backends, without the dist
    refused = subprocess.run([*cli_command(), "experiment", "--backend", NAME, "--task", "digits",
                              "--max-steps", "2", "--out", str(tmp_path / "no")],
                             capture_output=True, text=True, timeout=120, env=subprocess_env())
    assert refused.returncode == 2
    assert f"argument --backend: '{NAME}' is not a backend (use auto, " in refused.stderr
