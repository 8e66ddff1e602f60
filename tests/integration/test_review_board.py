"""The idea review board's decisions, saved to disk, are read back in a fresh kernel.

The board itself, driven through its widgets' Python API, is tested in-process in
tests/unit/test_review_board.py."""

from __future__ import annotations

from pathlib import Path

import nbformat

from mlr_copilot_jupyter.jupyter_ui.widgets import ReviewBoard
from mlr_copilot_jupyter.state import ResearchState
from tests.support import review as _review

state = _review.state  # the fixture
path = _review.path  # the fixture


def test_decisions_survive_into_a_fresh_kernel(state: ResearchState, path: Path) -> None:
    from nbclient import NotebookClient

    board = ReviewBoard(state, path)
    board.cards["idea-2"].accept_button.click()
    board.cards["idea-3"].reject_button.click()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from mlr_copilot_jupyter.state import ResearchState"),
        nbformat.v4.new_code_cell(
            f"s = ResearchState.load({str(path)!r})\nprint([(i.id, i.status) for i in s.ideas])"),
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert printed.strip() == str([("idea-1", "pending"), ("idea-2", "accepted"),
                                   ("idea-3", "rejected")])
