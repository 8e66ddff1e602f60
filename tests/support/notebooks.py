"""Helpers shared by the tests (moved from ``tests/test_example_notebooks.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]


EXAMPLES = REPO / "example_notebooks"


def tagged(nb: Any, tag: str) -> list[dict[str, Any]]:
    """The outputs of the cell tagged ``tag``."""
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag} expected, found {len(cells)}"
    return list(cells[0].outputs)


def text_of(outputs: list[dict[str, Any]], mime: str | None = None) -> str:
    """Streams and (one or every) rich representation of ``outputs``, concatenated."""
    parts = []
    for out in outputs:
        if out["output_type"] == "stream":
            if mime is None:
                parts.append(out["text"])
        elif "data" in out:
            data = out["data"]
            parts += [str(data[m]) for m in ([mime] if mime else list(data)) if m in data]
    return "\n".join(parts)


def execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
            offline: bool = True) -> Any:
    """Run ``name`` in a copy of example_notebooks/ as a new user would; the executed notebook."""
    from nbclient import NotebookClient

    work = tmp_path / "example_notebooks"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("runs", ".ipynb_checkpoints"))
    if offline:
        monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    monkeypatch.delenv("MLR_COPILOT_RUN_DIR", raising=False)  # the default: runs/ next to it
    monkeypatch.chdir(work)
    nb = nbformat.read(work / name, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o["output_type"] == "error"]
    assert not errors, errors
    return nb

