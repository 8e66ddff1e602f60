"""Helpers shared by the tests (moved from ``tests/test_review_board.py``)."""

from __future__ import annotations

from mlr_copilot_jupyter.models import ExperimentPlan, Idea, Review


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

