"""What the bad-input tests of both layers share (tests/unit/test_bad_inputs.py, in-process, and
tests/integration/test_bad_inputs.py, the installed command): the log of inputs tried
(:data:`CORPUS`), the check of one CLI outcome, and the bad task and run folders they make."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlr_copilot_jupyter.experiment.task import TASKS_DIR
from tests.support.load import explain, time_bound

LOADS = "LOADS"  # the input is odd but usable: the command must succeed


@dataclass
class Tried:
    surface: str
    name: str
    outcome: str
    traceback: bool


CORPUS: list[Tried] = []  # every input tried and how it ended, for debugging a failure


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``mlr-copilot ... error:`` line of stderr (argparse's included)."""
    lines = [ln for ln in result.stderr.splitlines()
             if ln.startswith("mlr-copilot") and "error" in ln]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def check_outcome(surface: str, name: str, result: subprocess.CompletedProcess[str],
                  elapsed: float, expect: str, limit: float) -> None:
    """One CLI run on one bad input, logged in :data:`CORPUS`: it loaded (``expect == LOADS``)
    or failed in one line matching ``expect`` (a substring); no traceback, and no slower than
    ``limit`` s on an idle machine (the wall-clock bound scales with the load)."""
    text = result.stdout + result.stderr
    CORPUS.append(Tried(surface, name, "loaded" if result.returncode == 0 else "error",
                        "Traceback" in text))
    assert "Traceback" not in text, text[-3000:]
    bound = time_bound(limit)
    assert elapsed < bound, f"{name}: took {elapsed:.1f} s, over {bound:.0f} s; {explain()}"
    if expect == LOADS:
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        assert result.returncode in (1, 2), result.stderr[-3000:]
        line = error_line(result)
        assert "internal error" not in line, line
        assert expect in line, line


def wine_copy(root: Path) -> Path:
    """A copy of the bundled wine task at ``root/task``, to break."""
    folder = root / "task"
    shutil.copytree(TASKS_DIR / "wine", folder)
    return folder


def resume_folder(root: Path, case: str) -> Path:
    """A broken run folder ``root/run`` for ``--resume``, broken as ``case`` says."""
    folder = root / "run"
    folder.mkdir()
    journal = {"run_id": "run", "task": "wine", "metric_name": "accuracy",
               "direction": "maximize", "settings": {"task_path": str(TASKS_DIR / "wine")}}
    if case == "corrupt journal":
        (folder / "journal.json").write_text('{"run_id": "run", "nodes": [')
    elif case == "journal of another shape":
        (folder / "journal.json").write_text(json.dumps({"nodes": "many"}))
    elif case in {"no record", "truncated record"}:
        (folder / "journal.json").write_text(json.dumps(journal))
        if case == "truncated record":
            (folder / "experiment.ipynb").write_text('{"cells": [{"cell_type": "mark')
    return folder
