"""The IdeaAgent magics in a real IPython shell: %mlr_paper, %mlr_problem, %mlr_idea, %mlr_review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

DEMO_PAPER = Path(__file__).resolve().parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"




def state(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "runs" / "state.json").read_text())


def test_paper_problem_idea_review_flow(ip: InteractiveShell, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("mlr_paper", str(DEMO_PAPER))
    saved = state(tmp_path)
    assert saved["paper"]["title"].startswith("How Far Can Shallow Models Go")
    assert saved["problem"]["task_definition"] and saved["problem"]["engine"] == "offline"

    capsys.readouterr()
    ip.run_line_magic("mlr_problem", "--json")
    assert json.loads(capsys.readouterr().out)["keywords"]

    # edit the problem through a %%mlr_problem cell
    ip.run_cell_magic("mlr_problem", "", "task_definition: Build strong tabular baselines.\n"
                                         "keywords: [tabular, baselines, random search]\n")
    saved = state(tmp_path)
    assert saved["problem"]["task_definition"] == "Build strong tabular baselines."
    assert saved["problem"]["engine"].endswith("+edited")

    ip.run_line_magic("mlr_idea", "-n 3")
    saved = state(tmp_path)
    assert len(saved["ideas"]) == 3 and all(i["review"] for i in saved["ideas"])
    ip.run_line_magic("mlr_idea", "-n 2 --more")
    assert len(state(tmp_path)["ideas"]) == 5

    ip.run_line_magic("mlr_review", "")  # displays the board; decisions are tested in its own tests
    first = state(tmp_path)["ideas"][0]["id"]
    ip.run_line_magic("mlr_idea", f"--insert {first}")  # no frontend: falls back to next input
    assert "Hypothesis" in ip.rl_next_input


def test_problem_edit_prepares_the_next_cell(ip: InteractiveShell) -> None:
    ip.run_line_magic("mlr_paper", str(DEMO_PAPER))
    ip.run_line_magic("mlr_problem", "--edit")
    assert ip.rl_next_input.startswith("%%mlr_problem\ntask_definition:")


def test_mistakes_are_one_line_usage_errors(ip: InteractiveShell, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist|not found|no such"):
        ip.run_line_magic("mlr_paper", str(tmp_path / "missing.pdf"))
    with pytest.raises(UsageError, match="no paper loaded"):
        ip.run_line_magic("mlr_idea", "-n 2")
    with pytest.raises(UsageError, match="no ideas yet"):
        ip.run_line_magic("mlr_review", "")
    with pytest.raises(UsageError):
        ip.run_line_magic("mlr_idea", "-n lots")
    ip.run_line_magic("mlr_paper", str(DEMO_PAPER))
    with pytest.raises(UsageError, match="not valid YAML"):
        ip.run_cell_magic("mlr_problem", "", "task_definition: [unclosed\n")
    with pytest.raises(UsageError, match="unknown problem fields: colour"):
        ip.run_cell_magic("mlr_problem", "", "colour: blue\n")
    with pytest.raises(UsageError, match="-n must be between 1 and 20, got 0"):
        ip.run_line_magic("mlr_idea", "-n 0")


def test_mlr_idea_task_fits_every_plan(ip: InteractiveShell, tmp_path: Path) -> None:
    ip.run_line_magic("mlr_paper", str(DEMO_PAPER))
    ip.run_line_magic("mlr_idea", "-n 3 --task digits")
    ideas = state(tmp_path)["ideas"]
    assert len(ideas) == 3
    for idea in ideas:
        plan = idea["plan"]
        assert plan["task"] == "digits" and plan["task_mapping"]
        assert plan["metrics"] == ["accuracy (maximize)"]
        assert any("train.csv" in d for d in plan["datasets"])
    with pytest.raises(UsageError):
        ip.run_line_magic("mlr_idea", "-n 1 --task no_such_task_here")
