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
from mlr_copilot_jupyter.jupyter_ui.magics import get_magics
from mlr_copilot_jupyter.state import ComparisonEntry, ComparisonRef, ResearchState
from tests.support.comm import HELLO, FakeComm


@pytest.fixture
def record(tmp_path: Path) -> Path:
    """Where the winner's run writes its record (no run here: nothing reads it)."""
    return tmp_path / "cmp" / "cmp-1" / "idea-2" / "experiment.ipynb"


def comparison(record: Path, *, done: bool = True) -> ComparisonRef:
    entries = [
        ComparisonEntry(idea_id="idea-1", title="Scale the features", run_id="idea-1-run",
                        status="done" if done else "running", best_metric=0.9,
                        record_path=str(record.parent.parent / "idea-1" / "experiment.ipynb")),
        ComparisonEntry(idea_id="idea-2", title="Tune the forest", run_id="idea-2",
                        status="done" if done else "running", best_metric=1.0,
                        best_test_metric=0.97, record_path=str(record)),
    ]
    return ComparisonRef(
        comparison_id="cmp-1", task="wine", out_dir=str(record.parent.parent),
        metric_name="accuracy", direction="maximize", status="done" if done else "running",
        entries=entries, winner_idea_id="idea-2" if done else None,
        winner_run_id="idea-2" if done else None,
        verdict="idea-2 wins by 0.1 accuracy over 2 seeds" if done else "")


def with_comparison(ip: Any, record: Path, *, done: bool = True) -> Any:
    magics = get_magics(ip)
    magics.copilot.state.upsert_comparison(comparison(record, done=done))
    magics.copilot.save_state()
    assert magics.copilot.state.runs == []  # the run is known only through the comparison
    return magics


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
