"""A comparison's runs in the research state, without running one: ``run_record`` finds a run that
lives only in ``state.comparisons``, and the panel's "Insert winner" before the comparison's end
(or for an unknown comparison) says why in a notification, through a fake comm on the real
magics. The record path is where a run would write it; the inserts of a real run's lineage are in
tests/integration/test_compare_insert.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.jupyter_ui.comparison_ui import run_record, status_line, winner_cells
from mlr_copilot_jupyter.state import ResearchState
from tests.support.comm import HELLO, FakeComm
from tests.support.comparisons import comparison, with_comparison


@pytest.fixture
def record(tmp_path: Path) -> Path:
    """Where the winner's run writes its record (no run here: nothing reads it)."""
    return tmp_path / "cmp" / "cmp-1" / "idea-2" / "experiment.ipynb"


def test_run_record_looks_in_runs_then_comparisons(record: Path) -> None:
    state = ResearchState(comparisons=[comparison(record)])
    assert run_record(state, "idea-2") == record
    assert run_record(state, "nope") is None
    line = status_line(state.comparisons[0])
    assert line.startswith("comparison cmp-1 on wine: done, 2/2 ideas finished, winner idea-2")
    assert f"results in {record.parent.parent}" in line


def test_insert_winner_before_the_end_says_why_in_a_notification(ip: Any, record: Path) -> None:
    magics = with_comparison(ip, record, done=False)
    comm = FakeComm()
    magics.bridge._attach(comm)
    comm.deliver(HELLO)
    comm.deliver({"action": "insert_winner", "comparison_id": "cmp-1"})
    comm.deliver({"action": "insert_winner", "comparison_id": "cmp-9"})
    assert comm.actions("insert_cells") == []
    notes = [m["message"] for m in comm.actions("notify")]
    assert notes[0].startswith("Insert winner: comparison cmp-1 has no winner yet (running)")
    assert "no comparison 'cmp-9'" in notes[1] and "comparisons: cmp-1" in notes[1]
    assert {m["type"] for m in comm.actions("notify")} == {"warning"}
    with pytest.raises(Exception, match="no winner yet"):
        winner_cells(magics.copilot.state, "cmp-1")
