"""The copilot in Notebook 7 (``jupyter notebook``), Jupyter's document-oriented front end built on
JupyterLab's components, which loads the same prebuilt extension (issue 27 item 6).

A real ``jupyter notebook`` server (tests/support/lab_server.py, ``app="notebook"``) and Chromium
open one notebook on its own page (``/notebooks/<path>``, Notebook 7's layout) and "Run All" the
quick start's magics: the review board's cards and buttons render, the background run's nodes
arrive as cells below the cell that started it while later cells still run, the monitor shows
the verified result and the side panel (the right sidebar there) shows the paper, the problem
and the run. The screenshot goes to the test's tmp_path and, with ``MLR_SAVE_SCREENSHOTS=1``, to
docs/screenshots/notebook7.png.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import mlr_copilot_jupyter
from tests.support.browser import CELLS, FIND_NOTEBOOK, KERNEL_IDLE, keep_screenshot, output_text
from tests.support.lab_server import LabServer, app_page, reset_lab, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO_PAPER = Path(mlr_copilot_jupyter.__file__).parent / "data" / "demo_paper.md"
PATH = "copilot_in_notebook7.ipynb"
BUSY = "import time\ntime.sleep(20)\nprint('later cell done')"
SOURCES = [
    "%load_ext mlr_copilot_jupyter",
    "%mlr_paper demo_paper.md",
    "%mlr_idea -n 2",
    "%mlr_review",
    "%mlr_experiment --task wine --max-steps 3 --insert",
    BUSY,
]
REVIEW, EXPERIMENT = 3, 4
NODES = ["n0", "n1", "n2", "n3"]

OUTPUT = """([index]) => {
    const cell = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')[index];
    const area = cell && cell.querySelector('.jp-OutputArea');
    return area ? area.innerText : '';
}"""


@pytest.fixture
def notebook7_page(_notebook7_for_session: LabServer, _chromium: Any) -> Iterator[Any]:
    """A Chromium page on Notebook 7 with the tour notebook open on its own page."""
    server = _notebook7_for_session
    reset_lab(server, "notebook7")
    shutil.copyfile(DEMO_PAPER, server.root / "demo_paper.md")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in SOURCES]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, server.root / PATH)
    with app_page(_chromium, server, f"/notebooks/{PATH}", viewport=(1400, 1800)) as page:
        page.evaluate(FIND_NOTEBOOK)
        wait_for(page, f"(p) => window.__mlrNotebook(p) !== null && ({KERNEL_IDLE})(p)", PATH,
                 timeout=90, what="Notebook 7's notebook and its idle kernel")
        yield page


def node_of(cell: dict[str, Any]) -> str | None:
    meta = cell["metadata"].get("mlr_copilot")
    return meta.get("node_id") if isinstance(meta, dict) else None


def test_the_whole_journey_runs_in_notebook_7(
    _notebook7_for_session: LabServer, notebook7_page: Any, tmp_path: Path,
) -> None:
    page, server = notebook7_page, _notebook7_for_session
    # Notebook 7 itself, not JupyterLab: its own application and its one-document layout
    app = page.evaluate("() => window.jupyterapp.name")
    assert app == "Jupyter Notebook", app
    assert page.evaluate("() => window.location.pathname").endswith(f"/notebooks/{PATH}")
    plugins = page.evaluate("() => window.jupyterapp.hasPlugin('mlr-copilot-jupyter:plugin')")
    assert plugins is True

    page.evaluate("""async (path) => {
        const panel = window.__mlrNotebook(path);
        window.jupyterapp.shell.activateById(panel.id);
        void window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""", PATH)

    # live inserts under Run All: the nodes come below the experiment cell while BUSY runs
    first = wait_for(page, f"""(path) => {{
        const cells = ({CELLS})(path);
        const i = cells.findIndex(c => c.metadata.mlr_copilot && c.metadata.mlr_copilot.node_id);
        return i >= 0 && {{index: i, busy_pending: cells[cells.length - 1].execution_count === null}};
    }}""", PATH, timeout=240, what="the first node's cells in Notebook 7")
    assert first["index"] == EXPERIMENT + 1, first
    cells = wait_for(page, f"""(path) => {{
        const cells = ({CELLS})(path);
        return cells.filter(c => c.type === 'code' && c.metadata.mlr_copilot
                                 && c.metadata.mlr_copilot.node_id).length >= {len(NODES)}
               && cells;
    }}""", PATH, timeout=240, what="all four nodes in Notebook 7")
    block = [c for c in cells[EXPERIMENT + 1:] if node_of(c)]
    assert [node_of(c) for c in block if c["type"] == "code"] == NODES
    assert cells[EXPERIMENT + 1 + len(block)]["source"] == BUSY  # below the run's cell, in order

    # the review board: one card per idea, with its buttons
    board = wait_for(page, "(a) => { const t = (" + OUTPUT + ")(a); "
                     "return t.includes('Run experiment') && t; }", [REVIEW], timeout=120,
                     what="the review board's cards")
    assert "2 ideas" in board and board.count("Run experiment") == 2, board[:1500]
    # the monitor of the background run: its verified result
    monitor = wait_for(page, "(a) => { const t = (" + OUTPUT + ")(a); "
                       "return t.includes('Result: done') && t; }", [EXPERIMENT], timeout=240,
                       what="the monitor's result")
    assert "relative improvement" in monitor and "n3" in monitor, monitor[:1500]
    cells = wait_for(page, f"(p) => {{ const c = ({CELLS})(p); "
                           "return c[c.length - 1].execution_count !== null && c; }",
                     PATH, timeout=90, what="the later cell to finish")
    assert "later cell done" in output_text(cells[-1])
    assert "JupyterLab extension not detected" not in output_text(cells[EXPERIMENT])

    # the side panel: Notebook 7's right sidebar, opened by the copilot's own command
    page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
    side = "#mlr-copilot-panel"
    page.wait_for_selector(f"{side} div.mlr-copilot-run[data-status='done']", timeout=60_000)
    assert page.is_visible(side)
    assert page.inner_text(f"{side} [data-field='paper-title']").strip()
    panel_text = page.inner_text(side)
    assert "Method" in panel_text, panel_text[:1500]  # the problem's sections (issue 27 item 2)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.evaluate(f"""() => {{
        const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell');
        cells[{EXPERIMENT}].scrollIntoView({{block: 'start'}}); }}""")
    page.wait_for_timeout(500)
    shot = tmp_path / "notebook7.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    keep_screenshot(shot)
    # saved, the notebook holds the nodes as Notebook 7 inserted them
    page.evaluate("async (p) => { await window.__mlrNotebook(p).context.save(); }", PATH)
    saved = nbformat.read(server.root / PATH, as_version=4)
    assert [node_of(c) for c in saved.cells if c.cell_type == "code" and node_of(c)] == NODES
