"""The review board's "Run accepted ideas": a comparison of the accepted ideas, or its magic."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter.jupyter_ui.widgets import ReviewBoard
from mlr_copilot_jupyter.jupyter_ui.widgets import review_board as rb
from mlr_copilot_jupyter.models import Idea
from mlr_copilot_jupyter.state import ResearchState
from tests.support import review as _review
from tests.support.review import make_idea

state = _review.state  # the fixture
path = _review.path  # the fixture
shell = _review.shell  # the fixture


def test_button_needs_two_accepted_ideas_and_says_so(state: ResearchState, path: Path) -> None:
    compared: list[list[str]] = []
    board = ReviewBoard(state, path, on_run_accepted=lambda ideas: compared.append(
        [i.id for i in ideas]))
    assert board.compare_button.disabled
    assert "at least 2 accepted ideas (0 accepted)" in board.compare_html.value
    board.cards["idea-1"].accept_button.click()
    assert board.compare_button.disabled
    assert "(1 accepted)" in board.compare_html.value
    board.compare_button.click()  # a disabled button clicked from code: refused with one line
    assert compared == []
    assert "comparing needs at least 2 accepted ideas, 1 accepted" in board.error_html.value
    board.cards["idea-3"].accept_button.click()
    assert not board.compare_button.disabled
    assert "compares the 2 accepted ideas on digits" in board.compare_html.value
    board.compare_button.click()
    assert board.error_html.value == ""
    assert compared == [["idea-1", "idea-3"]]
    assert "comparison of idea-1, idea-3 requested" in board.compare_html.value
    saved = ResearchState.load(path).decisions
    runs = [(d.idea_id, d.action) for d in saved if d.action == "run"]
    assert runs == [("idea-1", "run"), ("idea-3", "run")]
    assert all("compare on digits: on_run_accepted" == d.comment for d in saved[-2:])


def test_callback_status_replaces_the_request_line(state: ResearchState, path: Path) -> None:
    board: ReviewBoard

    def start(ideas: list[Idea]) -> None:
        board.show_compare_status("comparison cmp-1 running · results in /tmp/x")

    board = ReviewBoard(state, path, on_run_accepted=start)
    for idea_id in ("idea-1", "idea-2"):
        board.cards[idea_id].accept_button.click()
    board.compare_button.click()
    assert "comparison cmp-1 running · results in /tmp/x" in board.compare_html.value
    assert "requested" not in board.compare_html.value
    board.cards["idea-2"].reject_button.click()  # the status of the comparison stays shown
    assert "cmp-1" in board.compare_html.value


def test_without_callback_the_comparison_magic_is_prepared(
    state: ResearchState, path: Path, shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[tuple[str, bool]] = []
    monkeypatch.setattr(shell, "set_next_input",
                        lambda text, replace=False: prepared.append((text, replace)))
    board = ReviewBoard(state, path, task="wine", compare_args="--max-steps 2")
    for idea_id in ("idea-1", "idea-2", "idea-3"):
        board.cards[idea_id].accept_button.click()
    board.compare_button.click()
    command = "%mlr_experiment --ideas accepted --task wine --max-steps 2"
    assert prepared == [(command, False)]
    assert f"prepared in the next cell: <code>{command}</code>" in board.compare_html.value
    last = ResearchState.load(path).decisions[-1]
    assert last.action == "run" and command in last.comment


def test_outside_ipython_the_command_is_shown(
    state: ResearchState, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rb, "_current_shell", lambda: None)
    board = ReviewBoard(state, path)
    board.cards["idea-1"].accept_button.click()
    board.cards["idea-2"].accept_button.click()
    board.compare_button.click()
    assert ("run this in a notebook cell: <code>%mlr_experiment --ideas accepted --task digits"
            "</code>") in board.compare_html.value


def test_review_magic_refuses_bad_comparison_options_in_one_line(ip: object) -> None:
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.jupyter_ui.magics import get_magics

    copilot = get_magics(ip).copilot
    copilot.state.ideas = [make_idea(1), make_idea(2)]
    for line, message in (("--max-steps -1", "--max-steps must be between 0 and 200, got -1"),
                          ("--seeds -2", r"--seeds must be >= 0 \(0 disables the seed re-runs\), got -2")):
        with pytest.raises(UsageError, match=message):
            ip.run_line_magic("mlr_review", f"--task wine {line}")  # type: ignore[attr-defined]
