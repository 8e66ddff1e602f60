"""A comparison's runs back into the notebook: ``--insert-run`` and the panel's "Insert winner".

One real offline run (wine, one step) plays the winner of a comparison whose runs are only in
``state.comparisons`` (not in ``state.runs``); the panel's messages are played through a fake comm
on the real magics (the JupyterLab side is covered by tests/e2e/test_compare_browser.py). Finding
such a run, and the notification for a comparison without a winner, are tested without a run in
tests/unit/test_compare_insert.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from mlr_copilot_jupyter import Copilot
from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.experiment.record import RecordNotebook
from tests.support.comm import HELLO, FakeComm
from tests.support.comparisons import with_comparison

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cmp")
    out = base / "cmp-1" / "idea-2"
    copilot = Copilot(MLRCopilot(run_dir=str(base / "runs"), backend="offline"))
    summary = copilot.run_experiment("wine", max_steps=1, out=str(out))
    assert summary["status"] == "done", summary
    return out / "experiment.ipynb"


def test_insert_run_finds_a_run_that_lives_in_a_comparison(ip: Any, record: Path) -> None:
    with_comparison(ip, record)
    printed: list[str] = []
    ip.set_next_input = lambda text, replace=False: printed.append(text)
    ip.run_line_magic("mlr_experiment", "--insert-run idea-2")
    lineage = RecordNotebook.load(record).lineage_cells()
    code = [c["source"] for c in lineage if c["cell_type"] == "code"]
    assert printed and all(source.strip() in printed[0] for source in code)
    with pytest.raises(UsageError, match=r"no run 'other'.*runs: idea-1-run, idea-2"):
        ip.run_line_magic("mlr_experiment", "--insert-run other")


def test_insert_winner_from_the_panel_inserts_the_lineage_with_provenance(
    ip: Any, record: Path
) -> None:
    magics = with_comparison(ip, record)
    comm = FakeComm()
    magics.bridge._attach(comm)
    comm.deliver(HELLO)
    comm.deliver({"action": "insert_winner", "comparison_id": "cmp-1"})
    [insert] = comm.actions("insert_cells")
    cells = insert["cells"]
    head = cells[0]
    assert head["cell_type"] == "markdown"
    assert "Winner of comparison `cmp-1`: Tune the forest" in head["source"]
    assert "idea-2 wins by 0.1 accuracy" in head["source"]
    assert head["metadata"]["mlr_copilot"] == {
        "stage": "comparison", "comparison_id": "cmp-1", "idea_id": "idea-2",
        "run_id": "idea-2", "record_path": str(record)}
    lineage = RecordNotebook.load(record).lineage_cells()
    assert [c["source"] for c in cells[1:]] == [c["source"] for c in lineage]
    for cell in cells[1:]:
        meta = cell["metadata"]["mlr_copilot"]
        assert meta["comparison_id"] == "cmp-1" and meta["run_id"] == "idea-2"
    assert any(c["metadata"]["mlr_copilot"].get("node_id") == "n0" for c in cells[1:])
