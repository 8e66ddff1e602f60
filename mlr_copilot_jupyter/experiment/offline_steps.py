"""The offline engine's experiment steps: solvers for :class:`StepDraft` and :class:`ReviewReply`.

A step comes from the recipe catalog (experiment/recipes.py): the first untried recipe, in an
order set once per run by a local model retrieval (no network) made at the first draft and by the
idea's strategy; an "improve" step prefers tuning and ensembling recipes, and a "debug" step falls
back to the next recipe (the offline engine cannot repair code). The answer is a
:class:`RecipeDraft` naming the recipe and carrying that retrieval. When nothing is left,
:class:`Exhausted` is raised through the backend to the agent.

A review is the labelled heuristic readout of validation lines (``heuristic_review``).

Per-run state (recipes tried, the retrieval's order, whether the retrieval was made) is kept per
journal object, so a resumed run (a journal loaded afresh) starts as a new policy did.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..llm.base import Message
from ..llm.solvers import expect_inputs, register_solver
from .journal import Journal
from .policies import Exhausted, Proposal, StepDraft, StepRequest
from .review import ExecutionRequest, HeuristicReviewReply, ReviewReply, heuristic_review
from .task import Task

#: scikit-learn estimator names (as in retrieval candidate ids) -> offline recipe keys.
ESTIMATOR_RECIPES: tuple[tuple[str, str], ...] = (
    ("SVC", "svm_rbf"), ("SVR", "svm_rbf"), ("RandomForest", "random_forest"),
    ("ExtraTrees", "extra_trees"), ("HistGradientBoosting", "hist_gradient_boosting"),
    ("GradientBoosting", "hist_gradient_boosting"), ("LogisticRegression", "scaled_linear"),
    ("Ridge", "scaled_linear"), ("KNeighbors", "knn_scaled"), ("Voting", "voting_ensemble"),
    ("Stacking", "stacking_ensemble"), ("PCA", "pca_model"),
)
IMPROVE_FAMILIES = ("hyperparameter_search", "ensembling")


class RecipeDraft(StepDraft):
    """The offline engine's answer: a step from the recipe catalog, and the retrieval it made.

    It is a finished step: the policy takes it as written (nothing to trim or unfence), with the
    recipe it names and the retrieval the engine made.
    """

    recipe: str
    retrieval: dict[str, Any] | None = None

    def to_proposal(self, *, tokens: int, retrieval: dict[str, Any] | None) -> Proposal:
        return Proposal(title=self.title, plan=self.plan, code=self.code, recipe=self.recipe,
                        tokens=tokens, retrieval=self.retrieval)


@dataclass
class RunState:
    """What the offline engine remembers about one run (one journal object)."""

    tried: set[str] = field(default_factory=set)
    #: recipe keys whose estimators the local retrieval found
    preferred: list[str] = field(default_factory=list)
    retrieval: dict[str, Any] | None = None


_states: dict[int, RunState] = {}
_states_lock = threading.Lock()


def run_state(journal: Journal) -> RunState:
    """The state of the run ``journal`` records (dropped when the journal is)."""
    key = id(journal)
    with _states_lock:
        state = _states.get(key)
        if state is None:
            state = _states[key] = RunState()
            weakref.finalize(journal, _states.pop, key, None)
        return state


def _retrieve(state: RunState, task: Task) -> dict[str, Any]:
    """Ask the local model source (no network) which estimators fit the task."""
    from ..retrieval import retrieve

    query = f"{task.task_type} {task.metric.name} {task.description[:300]}"
    result = retrieve(query, "model", task_type=task.task_type, source="local", limit=8)
    ids = [c.id for c in result.candidates]
    preferred = [key for cid in ids for est, key in ESTIMATOR_RECIPES if est in cid]
    state.preferred = list(dict.fromkeys(preferred))
    why = ("recipes whose estimators the local model source ranked for this task are tried "
           f"first: {', '.join(state.preferred) or 'none matched, catalog order kept'}")
    return {"query": query, "source": "local", "candidates": ids[:8], "chosen": why,
            "warnings": result.warnings}


def _ordered(state: RunState, request: StepRequest) -> list:
    from .recipes import recipes_for

    recipes = recipes_for(request.task)
    if state.preferred:
        recipes.sort(key=lambda r: r.key not in state.preferred)  # stable: catalog order kept
    if request.idea is not None and request.idea.strategy:
        from ..ideas.catalog import CATALOG

        preferred = next((s.recipe_keys for s in CATALOG if s.key == request.idea.strategy), ())
        recipes.sort(key=lambda r: (r.key not in preferred,
                                    preferred.index(r.key) if r.key in preferred else 0))
    return recipes


def propose_recipe(request: StepRequest) -> RecipeDraft:
    """The next step from the recipe catalog; :class:`Exhausted` when none is left."""
    state = run_state(request.journal)
    retrieval = None
    if state.retrieval is None and request.kind == "draft":
        state.retrieval = retrieval = _retrieve(state, request.task)
    state.tried |= {n.recipe for n in request.journal.nodes if n.recipe}
    from .recipes import unsupported_reason

    reason = unsupported_reason(request.task)
    if reason:
        raise Exhausted(f"the offline engine cannot experiment on task {request.task.name!r}: "
                        f"{reason}; configure an LLM endpoint for this task")
    recipes = [r for r in _ordered(state, request) if r.key not in state.tried]
    if not recipes:
        raise Exhausted("the offline recipe catalog has no untried recipe for this task")
    if request.kind == "improve":
        tuned = [r for r in recipes if r.family in IMPROVE_FAMILIES]
        recipe = (tuned or recipes)[0]
        why = (f"Improve on the best node so far ({request.parent.id if request.parent else '-'}) "
               f"with {recipe.family.replace('_', ' ')}: {recipe.rationale}")
    elif request.kind == "debug":
        recipe = recipes[0]
        failed = request.parent
        why = (f"The offline engine cannot repair code, so after the failure of "
               f"{failed.id if failed else 'the previous step'} "
               f"({failed.error or failed.status if failed else ''}) it falls back to the next "
               f"recipe: {recipe.rationale}")
    else:
        recipe = recipes[0]
        why = recipe.rationale
    state.tried.add(recipe.key)
    plan = f"{why}\n\n*Offline engine (no LLM): recipe `{recipe.key}`.*"
    return RecipeDraft(title=recipe.title, plan=plan,
                       code=recipe.code(request.task, seed=0, artifacts=request.artifacts,
                                        cell_timeout=request.cell_timeout),
                       recipe=recipe.key, retrieval=retrieval)


def _solve_step(messages: list[Message], inputs: object) -> RecipeDraft:
    return propose_recipe(expect_inputs(inputs, StepRequest, "step"))


def _solve_review(messages: list[Message], inputs: object) -> HeuristicReviewReply:
    """A labelled heuristic readout of validation lines (no LLM; the code is not read)."""
    request = expect_inputs(inputs, ExecutionRequest, "review")
    review = heuristic_review(request.output, request.task)
    return HeuristicReviewReply(is_bug=review.is_bug, summary=review.summary, metric=review.metric,
                                metric_name=review.metric_name,
                                metric_split="none" if review.metric is None else "validation",
                                review=review)


# a run's usage counts model calls; these catalog steps and readouts never counted as calls
register_solver(StepDraft, _solve_step, counted=False)
register_solver(ReviewReply, _solve_review, counted=False)
