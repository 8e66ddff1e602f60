"""The held-out test split in a real kernel: the experiment kernel cannot see the labels.

score_heldout on every metric and on bad submissions is tested in-process in
tests/unit/test_heldout.py.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.experiment.record import RecordNotebook
from mlr_copilot_jupyter.experiment.result import CellResult
from mlr_copilot_jupyter.experiment.task import load_task

# --- the experiment kernel cannot read the held-out labels -----------------------------------

SNOOP = r"""
import csv, hashlib, json, os
found = {"files": [], "leaked": [], "same_bytes": [], "cwd": os.getcwd()}
for top in (".", RUN_DIR):
    for folder, dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(folder, name)
            found["files"].append(os.path.relpath(os.path.abspath(path), RUN_DIR))
            data = open(path, "rb").read()
            if hashlib.sha256(data).hexdigest() == HELDOUT_SHA:
                found["same_bytes"].append(path)
            if not name.endswith(".csv"):
                continue
            rows = list(csv.reader(data.decode("utf-8", "replace").splitlines()))
            if not rows or "target" not in rows[0]:
                continue
            k = rows[0].index("target")
            for row in rows[1:]:
                values = dict(zip(rows[0], row))
                key = ",".join(values.get(c, "") for c in HEADER) + "|" + row[k]
                if key in HELDOUT_ROWS and key not in found["leaked"]:
                    found["leaked"].append(key)
print("SNOOP " + json.dumps(found))
"""


def _row_keys(path: Path, header: list[str]) -> set[str]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {",".join(r[c] for c in header) + "|" + r["target"] for r in rows}


def test_experiment_kernel_cannot_read_the_heldout_labels(tmp_path: Path) -> None:
    task = load_task("digits")
    assert task.test_file is not None
    heldout = task.root / task.test_file
    run_dir = (tmp_path / "run").resolve()
    workspace = task.prepare_workspace(run_dir)
    record = RecordNotebook.create(run_dir / "experiment.ipynb", title="t", intro="i",
                                   metadata={}, seed=0, data_dir=str(workspace))
    with open(heldout, newline="") as handle:
        header = [c for c in next(csv.reader(handle)) if c != "target"]
    heldout_rows = _row_keys(heldout, header)
    # rows that legitimately repeat in train/valid (identical digit images) are not a leak
    legit = heldout_rows & (_row_keys(task.root / "train.csv", header)
                            | _row_keys(task.root / "valid.csv", header))
    prelude = (f"RUN_DIR = {str(run_dir)!r}\nHELDOUT_SHA = "
               f"{hashlib.sha256(heldout.read_bytes()).hexdigest()!r}\n"
               f"HEADER = {header!r}\nHELDOUT_ROWS = set({sorted(heldout_rows)!r})\n")

    async def snoop() -> tuple[dict[str, Any], dict[str, Any]]:
        executor = KernelExecutor(run_dir, cell_timeout=120, setup_code=record.setup_sources())
        try:
            clean = await executor.arun(prelude + SNOOP)
            # control: a labelled copy planted in the workspace IS found by the same cell
            shutil.copy(heldout, workspace / "planted.csv")
            planted = await executor.arun(SNOOP)
        finally:
            await executor.ashutdown()
        return _snooped(clean), _snooped(planted)

    found, control = asyncio.run(snoop())
    assert found["cwd"] == str(workspace)
    files = found["files"]
    assert "workspace/test.csv" in files and "workspace/train.csv" in files  # it did look
    assert not any("heldout" in f for f in files)
    assert found["same_bytes"] == []
    assert set(found["leaked"]) <= legit  # only rows that are also training rows
    assert len(control["same_bytes"]) == 2 and len(control["leaked"]) > len(legit) + 100
    # the features copy is the test rows, in order, without their labels
    with open(heldout, newline="") as handle:
        labelled = list(csv.reader(handle))
    with open(workspace / "test.csv", newline="") as handle:
        features = list(csv.reader(handle))
    drop = labelled[0].index("target")
    assert features == [[v for k, v in enumerate(r) if k != drop] for r in labelled]


def _snooped(result: CellResult) -> dict[str, Any]:
    assert result.status == "ok", result.traceback
    line = next(x for x in result.stdout_text.splitlines() if x.startswith("SNOOP "))
    return json.loads(line.removeprefix("SNOOP "))  # type: ignore[no-any-return]
