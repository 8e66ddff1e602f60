"""Magics in a fresh kernel through nbclient; through an in-process IPython shell they are tested
in tests/unit/test_magics.py."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def test_fresh_kernel_load_ext_and_config(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlr_copilot_jupyter"),
        nbformat.v4.new_code_cell('%config MLRCopilot.model = "m"'),
        nbformat.v4.new_code_cell("%mlr_config"),
        nbformat.v4.new_code_cell("%mlr_config --json"),
    ]
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    table = nb.cells[2].outputs[0]["data"]
    assert "text/html" in table and "<td style='text-align:left'>m (unused" in table["text/html"]
    shown = json.loads(nb.cells[3].outputs[0]["text"])
    assert shown["model"] == "m" and shown["backend"] == "offline"
