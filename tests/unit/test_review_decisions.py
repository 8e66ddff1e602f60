"""Decisions without clicks: ``%mlr_review --accept/--reject/--comment`` and ``mlr-copilot review``
make the same decisions through ``Copilot`` and print the same lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from mlr_copilot_jupyter.api import Copilot
from mlr_copilot_jupyter.cli import main
from mlr_copilot_jupyter.models import ExperimentPlan, Idea, Review
from mlr_copilot_jupyter.state import ResearchState


def make_idea(n: int, overall: float, applies: bool | None = None) -> Idea:
    return Idea(id=f"idea-{n}", title=f"Idea {n}", hypothesis=f"Hypothesis {n}.",
                plan=ExperimentPlan(objective="o", method="m", applies_to_task=applies),
                review=Review(overall=overall, heuristic=True, reviewer="offline"))


@pytest.fixture
def saved_state(tmp_path: Path) -> Path:
    """Three ranked ideas in the run directory; the best-ranked one does not apply to the task."""
    path = tmp_path / "runs" / "state.json"
    ResearchState(ideas=[make_idea(1, 4.0, applies=False), make_idea(2, 3.5),
                         make_idea(3, 3.0)]).save(path)
    return path


def statuses(path: Path) -> dict[str, str]:
    return {i["id"]: i["status"] for i in json.loads(path.read_text())["ideas"]}


def test_magic_and_cli_make_the_same_decisions(ip: Any, saved_state: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    ip.run_line_magic("mlr_review", '--accept top --reject idea-3 --comment "looks solid"')
    magic_out = capsys.readouterr().out
    assert magic_out.splitlines() == ["accepted idea-2: Idea 2 (looks solid)",
                                      "rejected idea-3: Idea 3 (looks solid)"]
    assert statuses(saved_state) == {"idea-1": "pending", "idea-2": "accepted",
                                     "idea-3": "rejected"}
    decisions = json.loads(saved_state.read_text())["decisions"]
    assert [(d["idea_id"], d["action"]) for d in decisions] == [("idea-2", "accept"),
                                                                ("idea-3", "reject")]

    # the CLI on a fresh copy of the same state prints the same lines
    ResearchState(ideas=[make_idea(1, 4.0, applies=False), make_idea(2, 3.5),
                         make_idea(3, 3.0)]).save(saved_state)
    assert main(["review", "--accept", "top", "--reject", "idea-3",
                 "--comment", "looks solid"]) == 0
    assert capsys.readouterr().out == magic_out
    assert statuses(saved_state) == {"idea-1": "pending", "idea-2": "accepted",
                                     "idea-3": "rejected"}


def test_cli_review_lists_and_prints_json(saved_state: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review"]) == 0
    listing = capsys.readouterr().out
    assert "Idea 1" in listing and "Idea 3" in listing
    assert main(["review", "--accept", "idea-1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(i["id"], i["status"]) for i in out["ideas"]] == [("idea-1", "accepted")]
    assert out["state"] == str(saved_state)
    assert statuses(saved_state)["idea-1"] == "accepted"


@pytest.mark.parametrize(("line", "message"), [
    ("--comment alone", "--comment goes with --accept ID or --reject ID"),
    ("--accept idea-2 --reject idea-2", "cannot be both accepted and rejected"),
    ("--accept idea-2 --reject idea-9", "idea-9"),
])
def test_bad_decisions_give_one_line_and_change_nothing(
        ip: Any, saved_state: Path, capsys: pytest.CaptureFixture[str],
        line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("mlr_review", line)
    assert main(["review", *line.split()]) == 1
    assert message in capsys.readouterr().err
    assert set(statuses(saved_state).values()) == {"pending"}


def test_the_review_board_writes_through_the_copilot(saved_state: Path) -> None:
    from mlr_copilot_jupyter.jupyter_ui.widgets import ReviewBoard

    copilot = Copilot()
    board = ReviewBoard(copilot)
    assert board.state is copilot.state and board.state_path == saved_state
    board.cards["idea-3"].accept_button.click()
    board.move("idea-3", -2)
    assert [i.id for i in copilot.state.ideas] == ["idea-3", "idea-1", "idea-2"]
    assert statuses(saved_state)["idea-3"] == "accepted"
    assert [i["id"] for i in json.loads(saved_state.read_text())["ideas"]][0] == "idea-3"
