"""Helpers shared by the tests (moved from ``tests/test_labextension.py``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat

from tests.support.lab_server import wait_for

REPO = Path(__file__).resolve().parents[2]


NOTEBOOK = "copilot_test.ipynb"


FIND_NOTEBOOK = """() => { window.__mlrNotebook = path => {
    for (const w of window.jupyterapp.shell.widgets('main'))
        if (w.context && w.context.path === path) return w;
    return null; }; }"""


CELLS = """(path) => {
    const m = window.__mlrNotebook(path).content.model;
    const out = [];
    for (let i = 0; i < m.cells.length; i++) {
        const c = m.cells.get(i);
        out.push({type: c.type, source: c.sharedModel.getSource(),
                  metadata: c.sharedModel.getMetadata(),
                  execution_count: c.type === 'code' ? c.executionCount : null,
                  outputs: c.type === 'code' ? c.outputs.toJSON() : []});
    }
    return out;
}"""


RUN_CELL = """async ([path, index, source]) => {
    const app = window.jupyterapp;
    const panel = window.__mlrNotebook(path);
    app.shell.activateById(panel.id);
    const nb = panel.content;
    nb.model.cells.get(index).sharedModel.setSource(source);
    nb.activeCellIndex = index;
    await app.commands.execute('notebook:run-cell');
}"""


KERNEL_IDLE = """(path) => {
    const w = window.__mlrNotebook(path);
    const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle';
}"""


def output_text(cell: dict[str, Any]) -> str:
    return "".join(
        "".join(o.get("text", "")) if o.get("output_type") == "stream" else json.dumps(o)
        for o in cell["outputs"]
    )


def run_cell(page: Any, index: int, source: str, path: str = NOTEBOOK,
             timeout: float = 30.0) -> dict[str, Any]:
    """Set cell ``index``'s source through the model, run it and return it once executed."""
    page.evaluate(RUN_CELL, [path, index, source])
    wait_for(page, f"(path) => ({CELLS})(path)[{index}].execution_count !== null", path,
             timeout=timeout, what=f"cell {index} ({source}) to execute")
    wait_for(page, KERNEL_IDLE, path, timeout=timeout, what="the kernel to be idle")
    cell: dict[str, Any] = page.evaluate(CELLS, path)[index]
    assert not any(o.get("output_type") == "error" for o in cell["outputs"]), output_text(cell)
    return cell


def open_notebook(page: Any, root: Path, path: str, n_cells: int,
                  collapse_left: bool = False) -> str:
    """Write ``root/path`` with ``n_cells`` empty code cells, open it, wait for its kernel.

    Returns the notebook panel's DOM id.
    """
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("") for _ in range(n_cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # else a kernel-picker dialog
    nbformat.write(nb, root / path)
    page.evaluate(FIND_NOTEBOOK)
    panel_id: str = page.evaluate("""async ([path, collapseLeft]) => {
        const app = window.jupyterapp;
        const w = await app.commands.execute('docmanager:open', {path});
        await w.context.ready; await w.sessionContext.ready;
        if (collapseLeft) app.shell.collapseLeft();
        app.shell.activateById(w.id);
        return w.id;
    }""", [path, collapse_left])
    wait_for(page, KERNEL_IDLE, path, timeout=60, what="the notebook's kernel to be idle")
    return panel_id


def keep_screenshot(shot: Path) -> None:
    """With ``MLR_SAVE_SCREENSHOTS=1`` (``make screenshots``), copy ``shot`` to docs/screenshots."""
    if os.environ.get("MLR_SAVE_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots" / shot.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)

