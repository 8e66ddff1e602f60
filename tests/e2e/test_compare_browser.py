"""Issue #17 in a real JupyterLab + Chromium: compare the accepted ideas from the review board.

A research state with three accepted ideas for the bundled wine task is saved where the kernel
looks (``MLR_COPILOT_RUN_DIR``); ``%mlr_review`` shows the board, "Run accepted ideas" starts the
comparison (offline engine, one step per idea, no seed re-runs), the side panel follows every
idea's status while no cell runs, then shows the winner and the verdict; "Insert winner" puts the
winning run's lineage into the notebook with its provenance.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter import Copilot
from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.state import ResearchState
from tests.support.browser import CELLS, open_notebook, output_text, run_cell
from tests.support.lab_server import (  # noqa: F401  (fixtures)
    TREE_LABEXTENSION,
    LabServer,
    lab_page,
    lab_server,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAPER = Path(__file__).parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"
PATH = "compare_board.ipynb"
PANEL = "#mlr-copilot-panel"
COMPARE_TIMEOUT = 240.0

PANEL_COMPARISONS = """() => [...document.querySelectorAll(
    "#mlr-copilot-panel section[data-section='comparisons'] .mlr-copilot-comparison")].map(c => ({
    id: c.getAttribute('data-comparison-id'), status: c.getAttribute('data-status'),
    task: c.querySelector("[data-field='task']").textContent,
    winner: (c.querySelector("[data-field='winner']") || {}).textContent || null,
    verdict: (c.querySelector("[data-field='verdict']") || {}).textContent || null,
    insert_disabled: c.querySelector("button[data-action='insert_winner']").disabled,
    entries: [...c.querySelectorAll('li.mlr-copilot-comparison-entry')].map(e => ({
        idea: e.getAttribute('data-idea-id'), status: e.getAttribute('data-status'),
        winner: e.getAttribute('data-winner') === 'true',
        title: e.querySelector("[data-field='title']").textContent,
        best: (e.querySelector("[data-field='best']") || {}).textContent || null,
        test: (e.querySelector("[data-field='test']") || {}).textContent || null}))}))"""


def accepted_ideas_state(run_dir: Path) -> list[str]:
    """Three offline ideas fitted to wine, all accepted, saved as the kernel's research state."""
    copilot = Copilot(MLRCopilot(run_dir=str(run_dir), backend="offline"))
    copilot.read_paper(str(PAPER))
    ideas = copilot.generate_ideas(3, task="wine")
    for idea in ideas:
        copilot.decide(idea.id, "accept")
    copilot.save_state()
    assert len(ResearchState.load(run_dir / "state.json").accepted()) == 3
    return [i.id for i in ideas]


def test_run_accepted_ideas_from_the_board_then_insert_the_winner(
    lab_server: LabServer, lab_page: Any  # noqa: F811
) -> None:
    page = lab_page
    # the page runs the extension built from this source tree, not another installed copy
    served = page.evaluate("""() => JSON.parse(document.getElementById('jupyter-config-data')
        .textContent).federated_extensions.find(e => e.name === 'mlr-copilot-jupyter').load""")
    assert (TREE_LABEXTENSION / served).is_file(), served

    ids = accepted_ideas_state(lab_server.root / "runs")
    open_notebook(page, lab_server.root, PATH, 3)
    run_cell(page, 0, "%load_ext mlr_copilot_jupyter", PATH)
    run_cell(page, 1, "%mlr_review --task wine --max-steps 1 --seeds 0", PATH, timeout=60)
    page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
    page.wait_for_selector(f"{PANEL} section[data-section='comparisons']", timeout=30_000)
    assert page.text_content(f"{PANEL} section[data-section='comparisons'] h3") == "Comparisons (0)"

    button = page.locator(".jp-Notebook button:has-text('Run accepted ideas')")
    assert button.count() == 1 and button.is_enabled()
    started = time.monotonic()
    button.click()

    # the board says which comparison runs and where its results go
    status = wait_for(page, """() => { const s = document.querySelector(
        ".jp-Notebook [data-role='compare-status']"); return s && s.textContent; }""",
        timeout=60, what="the comparison's status line on the board")
    assert status.startswith("comparison compare-") and "on wine" in status, status

    # the panel follows the comparison live (no cell runs meanwhile) until it is done
    seen: set[tuple[str, str]] = set()
    comparisons: list[dict[str, Any]] = []
    deadline = started + COMPARE_TIMEOUT
    while time.monotonic() < deadline:
        comparisons = page.evaluate(PANEL_COMPARISONS)
        if comparisons:
            seen |= {(e["idea"], e["status"]) for e in comparisons[0]["entries"]}
            if comparisons[0]["status"] == "done" and comparisons[0]["winner"]:
                break
        time.sleep(0.3)
    print(f"comparison done after {time.monotonic() - started:.0f} s; statuses seen: "
          f"{sorted(seen)}")
    assert len(comparisons) == 1, comparisons
    cmp = comparisons[0]
    assert cmp["status"] == "done", f"not done in {COMPARE_TIMEOUT:.0f} s: {cmp}"
    assert cmp["id"] in status and cmp["task"] == "wine"
    assert [e["idea"] for e in cmp["entries"]] == ids
    assert any(status == "running" for _, status in seen), f"no live status seen: {seen}"
    assert all(e["status"] == "done" and e["best"] and e["best"].startswith("val ")
               and e["test"] for e in cmp["entries"]), cmp["entries"]
    [winner] = [e for e in cmp["entries"] if e["winner"]]
    assert cmp["winner"] == f"Winner: {winner['title']}"
    assert cmp["verdict"] and winner["idea"] in cmp["verdict"]
    assert not cmp["insert_disabled"]
    board_line = page.inner_text(".jp-Notebook [data-role='compare-status']")
    assert f"winner {winner['idea']}" in board_line and "results in" in board_line, board_line

    # "Insert winner": the winner's lineage arrives with its provenance
    n_before = len(page.evaluate(CELLS, PATH))
    page.click(f"{PANEL} .mlr-copilot-comparison button[data-action='insert_winner']")
    cells = wait_for(page, f"""(path) => {{ const c = ({CELLS})(path);
        return c.some(x => x.metadata.mlr_copilot && x.metadata.mlr_copilot.node_id) && c; }}""",
        PATH, timeout=60, what="the winner's cells")
    inserted = [c for c in cells if "mlr_copilot" in c["metadata"]]
    assert len(cells) == n_before + len(inserted)
    note, lineage = inserted[0], inserted[1:]
    state = json.loads((lab_server.root / "runs" / "state.json").read_text())
    ref = state["comparisons"][-1]
    assert note["type"] == "markdown" and ref["comparison_id"] in note["source"]
    assert note["metadata"]["mlr_copilot"]["stage"] == "comparison"
    assert note["metadata"]["mlr_copilot"]["run_id"] == ref["winner_run_id"]
    assert note["metadata"]["mlr_copilot"]["idea_id"] == winner["idea"]
    assert any(c["type"] == "code" and "report_metric" in c["source"] for c in lineage)
    for cell in lineage:
        meta = cell["metadata"]["mlr_copilot"]
        assert meta["run_id"] == ref["winner_run_id"], meta
        assert meta["comparison_id"] == ref["comparison_id"], meta
    assert "n0" in {c["metadata"]["mlr_copilot"].get("node_id") for c in lineage}
    review = page.evaluate(CELLS, PATH)[1]
    assert "Traceback" not in output_text(review)
