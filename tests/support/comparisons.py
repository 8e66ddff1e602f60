"""A two-idea comparison on wine whose winner is idea-2, and a shell that knows it only through
that comparison (tests/unit/test_compare_insert.py and tests/integration/test_compare_insert.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlr_copilot_jupyter.jupyter_ui.magics import get_magics
from mlr_copilot_jupyter.state import ComparisonEntry, ComparisonRef


def comparison(record: Path, *, done: bool = True) -> ComparisonRef:
    """Comparison cmp-1 whose winner idea-2 wrote its record at ``record``; unfinished (no
    winner) unless ``done``."""
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
    """The magics of ``ip`` with :func:`comparison` saved in their state, and no run."""
    magics = get_magics(ip)
    magics.copilot.state.upsert_comparison(comparison(record, done=done))
    magics.copilot.save_state()
    assert magics.copilot.state.runs == []  # the run is known only through the comparison
    return magics
