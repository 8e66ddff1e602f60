"""Screenshots of a real session as JupyterLab renders it: the review board, the live monitor and
the side panel.

A real JupyterLab page (tests/support/lab_server.py) runs the quick start's magics (`%mlr_paper` →
`%mlr_idea` → `%mlr_review` → `%mlr_experiment --insert`); the widgets must render (buttons, idea
cards, the monitor's result), the run's node cells must arrive in the notebook and the side panel
must show the run before each screenshot is taken. The PNGs go to the test's tmp_path; with
``MLR_SAVE_SCREENSHOTS=1`` (``make screenshots``) they are also copied to
docs/screenshots/review_board.png, experiment_monitor.png and side_panel.png.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import mlr_copilot_jupyter
from tests.support.browser import keep_screenshot, open_notebook, run_cell
from tests.support.lab_server import LabServer, lab_page, lab_server, wait_for  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO_PAPER = Path(mlr_copilot_jupyter.__file__).parent / "data" / "demo_paper.md"
NOTEBOOK = "copilot_tour.ipynb"
SOURCES = [
    "%load_ext mlr_copilot_jupyter",
    "%mlr_paper demo_paper.md",
    "%mlr_idea -n 3",
    "%mlr_review",
    "%mlr_experiment --task wine --max-steps 3 --insert",
]
REVIEW, EXPERIMENT = 3, 4

OUTPUT_TEXT = """([id, index]) => {
    const cell = document.querySelectorAll(`#${id} .jp-Notebook .jp-Cell`)[index];
    const area = cell && cell.querySelector('.jp-OutputArea');
    return area ? area.innerText : '';
}"""


def run_tour_cell(page: Any, index: int) -> dict[str, Any]:
    """Run the tour's cell ``index``; the cell once executed and the kernel idle again."""
    return run_cell(page, index, SOURCES[index], NOTEBOOK, timeout=120)


def test_review_board_and_experiment_monitor_render_in_jupyterlab(
    lab_server: LabServer, lab_page: Any, tmp_path: Path  # noqa: F811
) -> None:
    page = lab_page
    page.set_viewport_size({"width": 1280, "height": 2600})  # the whole board fits in the panel
    shutil.copyfile(DEMO_PAPER, lab_server.root / "demo_paper.md")
    panel_id = open_notebook(page, lab_server.root, NOTEBOOK, len(SOURCES), collapse_left=True)
    cells = page.locator(f"#{panel_id} .jp-Notebook .jp-Cell")

    for index in range(REVIEW + 1):
        run_tour_cell(page, index)
    board = cells.nth(REVIEW)
    board.locator(".widget-button").first.wait_for(state="visible", timeout=60_000)
    text = board.inner_text()
    assert "3 ideas" in text and text.count("Run experiment") == 3, text[:2000]
    assert "heuristic scores (offline engine)" in text
    # the cards' Accept buttons (not the board's "Run accepted ideas")
    accept = board.locator(".widget-button").filter(has_text=re.compile(r"^\s*Accept\s*$"))
    assert accept.count() == 3

    # Accept the top-ranked idea with a click: the kernel saves the decision to state.json.
    state_file = lab_server.root / "runs" / "state.json"
    ideas = json.loads(state_file.read_text())["ideas"]
    top = max(range(len(ideas)), key=lambda k: ideas[k]["review"]["overall"])
    accept.nth(top).click()
    wait_for(page, "(a) => (" + OUTPUT_TEXT + ")(a).includes('1 accepted')", [panel_id, REVIEW],
             what="the board to count the accepted idea")
    saved = json.loads(state_file.read_text())
    assert saved["ideas"][top]["status"] == "accepted", saved["ideas"]
    # Show the board again, so the Markdown summary under it agrees with the badges.
    run_tour_cell(page, REVIEW)
    board.locator(".widget-button").first.wait_for(state="visible", timeout=60_000)
    text = board.inner_text()
    assert "1 accepted" in text, text[:500]
    summary_row = re.search(rf"\b{ideas[top]['id']}\t[^\n]*\taccepted\t", text)  # Markdown table
    assert summary_row, text[-1500:]
    shot = tmp_path / "review_board.png"
    board.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000  # a rendered board, not an empty box
    keep_screenshot(shot)

    run_tour_cell(page, EXPERIMENT)  # returns at once: the run is in the background
    monitor = cells.nth(EXPERIMENT)
    assert "Result:" not in monitor.inner_text()
    done = wait_for(page, "(a) => { const t = (" + OUTPUT_TEXT + ")(a); "
                    "return t.includes('Result: done') && t.includes('relative improvement') && t; }",
                    [panel_id, EXPERIMENT], timeout=240, what="the monitor to show the result")
    assert "Stop" in done and "n3" in done, done[:2000]
    assert f"testing idea {ideas[top]['id']}" in monitor.inner_text()  # the accepted idea ran
    monitor.locator("img.widget-image").first.wait_for(state="visible", timeout=30_000)
    shot = tmp_path / "experiment_monitor.png"
    monitor.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    keep_screenshot(shot)

    # The run's nodes arrived in the notebook below the cell that started it, and the side
    # panel shows the paper, the ideas and the run: the screenshot of the whole session.
    inserted = wait_for(page, """(id) => {
        const cells = [...document.querySelectorAll(`#${id} .jp-Notebook .jp-Cell`)];
        return cells.length >= 5 + 8 && cells.length; }""", panel_id, timeout=120,
                        what="the run's node cells in the notebook")
    assert inserted >= len(SOURCES) + 8  # n0..n3, a plan and a code cell each
    page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
    side = "#mlr-copilot-panel"
    page.wait_for_selector(f"{side} div.mlr-copilot-run[data-status='done']", timeout=60_000)
    assert page.inner_text(f"{side} [data-field='paper-title']").strip()
    page.set_viewport_size({"width": 1400, "height": 900})
    # show the inserted node cells (the run's plan/code pairs) beside the panel
    page.evaluate("""(id) => {
        const cells = document.querySelectorAll(`#${id} .jp-Notebook .jp-Cell`);
        cells[cells.length - 6].scrollIntoView({block: 'start'}); }""", panel_id)
    page.wait_for_timeout(500)
    shot = tmp_path / "side_panel.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    keep_screenshot(shot)
