"""Magics that insert cells still work under nbclient, where no JupyterLab frontend answers:
they fall back to the next input (one joined cell), say so once, and the record is written."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

DEMO_PAPER = Path(__file__).resolve().parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


@pytest.mark.slow
def test_inserting_magics_fall_back_without_a_frontend(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    out = tmp_path / "run"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlr_copilot_jupyter"),
        nbformat.v4.new_code_cell(f"%mlr_experiment --task wine --max-steps 1 --insert --wait "
                                  f"--out {out}"),
        nbformat.v4.new_code_cell(f"%mlr_paper {DEMO_PAPER}\n%mlr_idea -n 2 --no-review"),
        nbformat.v4.new_code_cell("%mlr_idea --insert idea-1"),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") + json.dumps(o.get("data", {}))
                     for c in nb.cells for o in c.outputs)
    assert "error" not in {o["output_type"] for c in nb.cells for o in c.outputs}
    assert "JupyterLab extension not detected" in text
    assert "inserted the plan of idea-1 (fallback)" in text
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    assert any(c.metadata.get("mlr_copilot", {}).get("node_id") == "n1" for c in record.cells)
