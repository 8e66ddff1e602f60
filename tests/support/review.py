"""Helpers shared by the tests (moved from ``tests/test_review_board.py``), and the fixtures of
the review-board tests (tests/unit/test_review_board.py, tests/unit/test_compare_board.py,
tests/integration/test_review_board.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter.models import ExperimentPlan, Idea, Review
from mlr_copilot_jupyter.state import ResearchState


def make_idea(n: int, *, heuristic: bool = True) -> Idea:
    return Idea(
        id=f"idea-{n}",
        title=f"Idea number {n}",
        hypothesis=f"Hypothesis {n} improves accuracy.",
        rationale=f"Because of reason {n}.",
        plan=ExperimentPlan(
            objective=f"objective {n}", method=f"method {n}", datasets=["digits"],
            baselines=["logistic regression"], metrics=["accuracy"],
            steps=[f"step {n}.1", f"step {n}.2"], risks=[f"risk {n}"],
        ),
        review=Review(
            scores={"clarity": 4, "validity": 3, "rigor": 3, "innovativeness": 2, "generalizability": 5},
            justifications={"clarity": f"clear statement {n}", "rigor": "one seed only"},
            novelty=0.4, overall=3.0 + n / 10, heuristic=heuristic, reviewer="offline",
        ),
    )



@pytest.fixture
def state() -> ResearchState:
    """Three ideas, none decided yet."""
    return ResearchState(ideas=[make_idea(1), make_idea(2), make_idea(3)])


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the board saves the state (its folder not made yet)."""
    return tmp_path / "run" / "state.json"


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """The IPython shell instance, cleared afterwards if this fixture made it."""
    existed = InteractiveShell.initialized()
    ip = InteractiveShell.instance()
    yield ip
    if not existed:
        InteractiveShell.clear_instance()
