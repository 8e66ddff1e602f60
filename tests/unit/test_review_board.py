"""The idea review board, driven through its widgets' Python API; decisions must reach the disk
(in this process; tests/integration/test_review_board.py reads them back in a fresh kernel)."""

from __future__ import annotations

import asyncio
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


@pytest.fixture
def no_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rb, "_current_shell", lambda: None)


def test_decisions_edits_and_order_are_saved_to_disk(state: ResearchState, path: Path) -> None:
    board = ReviewBoard(state, path)
    assert list(board.cards) == ["idea-1", "idea-2", "idea-3"]

    board.cards["idea-1"].accept_button.click()
    card2 = board.cards["idea-2"]
    card2.comment.value = "needs a GPU we do not have"
    card2.reject_button.click()

    card3 = board.cards["idea-3"]
    card3.edit_button.click()
    assert card3.title_input.value == "Idea number 3"
    assert card3.steps_input.value == "step 3.1\nstep 3.2"
    card3.title_input.value = "Sharper idea 3"
    card3.steps_input.value = "load data\n\n  tune C  \nreport accuracy\n"
    card3.save_button.click()
    card3.up_button.click()

    assert board.error_html.value == ""
    disk = ResearchState.load(path)
    assert [i.id for i in disk.ideas] == ["idea-1", "idea-3", "idea-2"]
    assert [i.status for i in disk.ideas] == ["accepted", "pending", "rejected"]
    assert disk.idea("idea-2").comment == "needs a GPU we do not have"
    assert disk.idea("idea-3").title == "Sharper idea 3"
    assert disk.idea("idea-3").plan.steps == ["load data", "tune C", "report accuracy"]
    assert disk.idea("idea-3").hypothesis == "Hypothesis 3 improves accuracy."  # untouched
    history = [(d.idea_id, d.action) for d in disk.decisions]
    assert history == [("idea-1", "accept"), ("idea-2", "reject"), ("idea-3", "edit"),
                       ("idea-3", "reorder")]
    assert disk.decisions[1].comment == "needs a GPU we do not have"
    assert disk.decisions[2].comment == "title, steps"

    # The board shows it too: order, badges, summary.
    assert board._cards_box.children == tuple(board.cards[i].widget
                                              for i in ("idea-1", "idea-3", "idea-2"))
    assert "accepted" in board.cards["idea-1"].status_label.value
    assert "rejected" in card2.status_label.value
    assert "Sharper idea 3" in card3.header.value
    assert "3 ideas" in board.summary_html.value and "1 accepted" in board.summary_html.value
    assert "1 rejected" in board.summary_html.value and "1 pending" in board.summary_html.value
    assert board.cards["idea-1"].up_button.disabled and card2.down_button.disabled
    assert not card3.up_button.disabled


def test_clicking_the_active_decision_again_resets_to_pending(state: ResearchState, path: Path) -> None:
    board = ReviewBoard(state, path)
    card = board.cards["idea-1"]
    card.accept_button.click()
    assert card.accept_button.button_style == "success"
    card.accept_button.click()
    disk = ResearchState.load(path)
    assert disk.idea("idea-1").status == "pending"
    assert [d.action for d in disk.decisions] == ["accept", "reset"]
    assert card.accept_button.button_style == ""
    card.accept_button.click()
    card.reject_button.click()  # switching decision is a reject, not a reset
    assert ResearchState.load(path).idea("idea-1").status == "rejected"


def test_cancel_discards_the_edit(state: ResearchState, path: Path) -> None:
    board = ReviewBoard(state, path)
    card = board.cards["idea-2"]
    card.edit_button.click()
    assert card.edit_box.layout.display != "none"
    card.title_input.value = "should not stick"
    card.cancel_button.click()
    assert card.edit_box.layout.display == "none"
    assert state.idea("idea-2").title == "Idea number 2"
    assert not path.exists()  # nothing changed, nothing written
    card.edit_button.click()  # reopening starts from the stored values
    assert card.title_input.value == "Idea number 2"


def test_an_empty_title_is_refused_on_the_board(state: ResearchState, path: Path) -> None:
    board = ReviewBoard(state, path)
    card = board.cards["idea-1"]
    card.edit_button.click()
    card.title_input.value = "   "
    card.save_button.click()  # must not raise
    assert "title" in board.error_html.value
    assert state.idea("idea-1").title == "Idea number 1"
    assert state.decisions == []


def test_run_button_follows_acceptance_and_calls_on_run(state: ResearchState, path: Path) -> None:
    launched: list[Idea] = []
    board = ReviewBoard(state, path, on_run=launched.append)
    card = board.cards["idea-2"]
    assert card.run_button.disabled
    card.accept_button.click()
    assert not card.run_button.disabled
    card.run_button.click()
    assert [i.id for i in launched] == ["idea-2"]
    assert ResearchState.load(path).decisions[-1].action == "run"
    card.reject_button.click()
    assert card.run_button.disabled


def test_run_without_on_run_prepares_the_magic_in_the_next_cell(
    state: ResearchState, path: Path, shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[tuple[str, bool]] = []
    monkeypatch.setattr(shell, "set_next_input", lambda text, replace=False: prepared.append((text, replace)))
    board = ReviewBoard(state, path, task="wine")
    card = board.cards["idea-3"]
    card.accept_button.click()
    card.run_button.click()
    assert prepared == [("%mlr_experiment --idea idea-3 --task wine", False)]
    assert "prepared in the next cell" in card.note.value
    assert "%mlr_experiment --idea idea-3 --task wine" in card.note.value
    last = ResearchState.load(path).decisions[-1]
    assert (last.idea_id, last.action) == ("idea-3", "run")
    assert "%mlr_experiment --idea idea-3" in last.comment


def test_run_sets_next_input_on_a_real_shell(state: ResearchState, path: Path, shell: InteractiveShell) -> None:
    board = ReviewBoard(state, path)
    board.cards["idea-1"].accept_button.click()
    board.cards["idea-1"].run_button.click()
    assert shell.rl_next_input == "%mlr_experiment --idea idea-1 --task digits"


def test_run_outside_ipython_shows_the_command(state: ResearchState, path: Path, no_shell: None) -> None:
    board = ReviewBoard(state, path)
    card = board.cards["idea-1"]
    card.accept_button.click()
    card.run_button.click()
    assert "run this in a notebook cell" in card.note.value
    assert "%mlr_experiment --idea idea-1 --task digits" in card.note.value


def test_async_on_run_is_scheduled_on_the_running_loop(state: ResearchState, path: Path) -> None:
    started: list[str] = []

    async def on_run(idea: Idea) -> None:
        started.append(idea.id)
        raise RuntimeError("kernel busy")

    board = ReviewBoard(state, path, on_run=on_run)
    card = board.cards["idea-1"]
    card.accept_button.click()

    async def click() -> None:
        card.run_button.click()  # returns at once; the coroutine runs later on the loop
        assert started == []
        await asyncio.sleep(0.01)

    asyncio.run(click())
    assert started == ["idea-1"]
    assert "kernel busy" in board.error_html.value


def test_async_on_run_without_a_loop_is_reported(state: ResearchState, path: Path) -> None:
    async def on_run(idea: Idea) -> None:  # pragma: no cover - never awaited
        raise AssertionError

    board = ReviewBoard(state, path, on_run=on_run)
    board.cards["idea-1"].accept_button.click()
    board.cards["idea-1"].run_button.click()  # must not raise nor leave an un-awaited coroutine
    assert "no event loop is running" in board.error_html.value


def test_an_unwritable_state_path_shows_an_error_line(state: ResearchState, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    board = ReviewBoard(state, blocker / "state.json")
    card = board.cards["idea-1"]
    card.accept_button.click()  # must not raise
    assert "could not save the research state" in board.error_html.value
    assert str(blocker) in board.error_html.value
    assert "accepted" in card.status_label.value  # in memory, and the board says it is not saved
    card.down_button.click()
    assert "could not save" in board.error_html.value


def test_markdown_lists_every_idea_with_its_decision(state: ResearchState, path: Path) -> None:
    state.ideas[0].title = "A | pipe"
    board = ReviewBoard(state, path)
    board.cards["idea-1"].accept_button.click()
    board.cards["idea-2"].comment.value = "too costly"
    board.cards["idea-2"].reject_button.click()
    lines = board.markdown().splitlines()
    assert lines[0].startswith("| # | id | title | status | overall | comment |")
    assert len(lines) == 2 + 3
    assert "| idea-1 | A \\| pipe | accepted | 3.10 |" in lines[2]
    assert "| idea-2 | Idea number 2 | rejected | 3.20 | too costly |" in lines[3]
    assert "| idea-3 | Idea number 3 | pending |" in lines[4]


def test_cards_show_plan_review_and_escape_text(path: Path) -> None:
    risky = make_idea(1)
    risky.title = "<script>alert(1)</script>"
    plain = make_idea(2, heuristic=False)
    plain.review = plain.review.model_copy(update={"reviewer": "llm:gpt-test"})
    unreviewed = make_idea(3)
    unreviewed.review = None
    board = ReviewBoard(ResearchState(ideas=[risky, plain, unreviewed]), path)
    html1 = board.cards["idea-1"].header.value + board.cards["idea-1"].body.value
    assert "<script>" not in html1 and "&lt;script&gt;" in html1
    body = board.cards["idea-1"].body.value
    for text in ("Hypothesis 1", "Because of reason 1", "objective 1", "method 1", "digits",
                 "logistic regression", "accuracy", "<ol", "step 1.2", "risk 1",
                 "heuristic scores (offline engine)", "clarity", "4/5", "clear statement 1",
                 "title='one seed only'", "novelty", "0.40", "overall", "3.10"):
        assert text in body, text
    assert "heuristic scores" not in board.cards["idea-2"].body.value
    assert "reviewed by llm:gpt-test" in board.cards["idea-2"].body.value
    assert "not reviewed yet" in board.cards["idea-3"].body.value


def test_refresh_shows_changes_made_elsewhere(state: ResearchState, path: Path) -> None:
    board = ReviewBoard(state, path)
    first_card = board.cards["idea-1"]
    state.decide("idea-1", "reject", comment="by the CLI")
    state.ideas.append(make_idea(4))
    state.ideas.pop(1)  # idea-2 removed
    board.refresh()
    assert list(board.cards) == ["idea-1", "idea-3", "idea-4"]
    assert board.cards["idea-1"] is first_card  # kept, re-rendered
    assert "rejected" in first_card.status_label.value
    assert len(board._cards_box.children) == 3

    reloaded = ResearchState(ideas=[make_idea(9)])
    board.refresh(reloaded)
    assert list(board.cards) == ["idea-9"] and board.state is reloaded


def test_each_card_says_which_cited_results_of_the_paper_it_builds_on(
    state: ResearchState, path: Path,
) -> None:
    """Issue 27: a "Builds on" line per idea, with the page and quote of each result it uses."""
    from mlr_copilot_jupyter.models import ReportedResult, ResearchProblem

    state.problem = ResearchProblem(task_definition="Classify digits.", reported_results=[
        ReportedResult(metric="accuracy", dataset="digits", value="97.2%", page=4,
                       quote="Logistic regression reaches 97.2% accuracy on digits."),
        ReportedResult(metric="WER", dataset="LibriSpeech", value="7.4%", page=6,
                       quote="Our adapters reach a WER of 7.4% on LibriSpeech."),
    ])
    state.ideas[2].hypothesis, state.ideas[2].plan.metrics = "Speed it up.", ["latency"]
    state.ideas[2].plan.datasets = []
    board = ReviewBoard(state, path)
    first = board.cards["idea-1"].body.value
    assert "Builds on:" in first and "accuracy on digits: 97.2%" in first
    assert "p. 4: \u201cLogistic regression reaches 97.2% accuracy on digits.\u201d" in first
    assert "7.4%" not in first  # WER on LibriSpeech is not what idea 1 measures
    assert "none of the paper's 2 cited results" in board.cards["idea-3"].body.value
    state.problem = None
    board.refresh(state)
    assert "Builds on" not in board.cards["idea-1"].body.value
