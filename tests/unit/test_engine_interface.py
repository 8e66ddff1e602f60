"""One engine interface: agents call query()/aquery(); the offline heuristics are solvers behind it."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import mlr_copilot_jupyter
from mlr_copilot_jupyter.errors import LLMError
from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.experiment.metric_infer import MetricConfirmation, confirm_metric
from mlr_copilot_jupyter.experiment.offline_steps import RecipeDraft
from mlr_copilot_jupyter.experiment.policies import StepDraft, StepPolicy, StepRequest
from mlr_copilot_jupyter.experiment.task import load_task
from mlr_copilot_jupyter.ideas.generate import DirectionsDraft, IdeaRequest, agenerate_ideas
from mlr_copilot_jupyter.ideas.offline_ideas import offline_ideas
from mlr_copilot_jupyter.ideas.problem import ProblemDraft, extract_problem, offline_problem
from mlr_copilot_jupyter.ideas.review import (
    ReviewDraft,
    ReviewRequest,
    heuristic_review,
    novelty_scores,
    review_ideas,
)
from mlr_copilot_jupyter.llm.base import Backend, Capabilities, Reply
from mlr_copilot_jupyter.llm.offline import OfflineBackend
from mlr_copilot_jupyter.llm.solvers import find_solver, solver_modules
from mlr_copilot_jupyter.models import Paper
from mlr_copilot_jupyter.retrieval.rank import hyde_query

PACKAGE = Path(mlr_copilot_jupyter.__file__).parent

PAPER = Paper(
    source="inline", title="Sparse attention for long documents",
    abstract=("We propose a sparse attention method for long document classification. "
              "However, current transformers remain limited by quadratic cost on long inputs. "
              "Our method improves accuracy on the Hyperpartisan dataset by 2 points."),
    text=("We propose a sparse attention method for long document classification. However, "
          "current transformers remain limited by quadratic cost on long inputs, and memory "
          "is a bottleneck for documents beyond 4,096 tokens. Our method improves accuracy on "
          "the Hyperpartisan dataset by 2 points over Longformer."),
)


def test_is_llm_appears_nowhere_outside_the_llm_package() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "llm" and path.parent.parent == PACKAGE:
            continue
        source = path.read_text(encoding="utf-8")
        names = {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)}
        names |= {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        if "is_llm" in names or "is_llm" in source:
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


AGENT_PACKAGES = {"ideas", "experiment", "retrieval", "papers", "compare", "batch"}


def test_llm_package_names_no_agent_code() -> None:
    """llm/ neither imports an agent package nor names one (not even as a module-name string)."""
    for path in sorted((PACKAGE / "llm").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        imported = [n.module for n in ast.walk(tree)
                    if isinstance(n, ast.ImportFrom) and n.module and n.level == 2]
        assert not [m for m in imported if m.split(".")[0] in AGENT_PACKAGES], path.name
        named = [pkg for pkg in AGENT_PACKAGES if f"mlr_copilot_jupyter.{pkg}" in source]
        assert named == [], path.name


def test_offline_solvers_come_from_the_entry_point_group() -> None:
    # the installed distribution names the modules that register the bundled heuristics
    modules = solver_modules()
    assert {"mlr_copilot_jupyter.ideas.problem", "mlr_copilot_jupyter.experiment.offline_steps",
            "mlr_copilot_jupyter.retrieval.rank"} <= set(modules)
    assert find_solver(ProblemDraft, "problem") is not None


def _mlab_task(tmp_path: Path) -> Path:
    """A minimal task folder in the MLAgentBench layout."""
    folder = tmp_path / "task"
    (folder / "env").mkdir(parents=True)
    (folder / "env" / "train.py").write_text("print('accuracy: 0.5')\n")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "research_problem.txt").write_text("Improve the accuracy.\n")
    return folder


def test_each_offline_solver_answers_its_call_with_a_reply_of_the_schema(tmp_path: Path) -> None:
    backend = OfflineBackend()
    problem_reply = backend.query("extract", schema=ProblemDraft, label="problem", inputs=PAPER)
    assert isinstance(problem_reply, Reply) and isinstance(problem_reply.parsed, ProblemDraft)
    assert problem_reply.backend == "offline" and problem_reply.usage.total_tokens == 0
    problem = problem_reply.parsed.to_problem(PAPER, problem_reply)
    assert problem == offline_problem(PAPER)

    request = IdeaRequest(problem=problem, n=2, paper=PAPER)
    ideas_reply = backend.query("list", schema=DirectionsDraft, label="directions",
                                inputs=request)
    assert isinstance(ideas_reply.parsed, DirectionsDraft)
    assert ideas_reply.parsed.directions == [i.title for i in offline_ideas(problem, PAPER, 2)]

    idea = offline_ideas(problem, PAPER, 1)[0]
    review_reply = backend.query("judge", schema=ReviewDraft, label=f"review-{idea.id}",
                                 inputs=ReviewRequest(idea, 0.4))
    assert isinstance(review_reply.parsed, ReviewDraft)
    assert review_reply.parsed.to_review(0.4, review_reply) == heuristic_review(idea, 0.4)
    assert review_reply.parsed.clarity.score == heuristic_review(idea, 0.4).scores["clarity"]

    task = load_task(_mlab_task(tmp_path))
    metric_reply = backend.query("check", schema=MetricConfirmation, label="metric-confirm",
                                 inputs=task)
    assert isinstance(metric_reply.parsed, MetricConfirmation)
    assert (metric_reply.parsed.name, metric_reply.parsed.direction) == (
        task.metric.name, task.metric.direction)
    assert asyncio.run(confirm_metric(task, backend)) == task

    hyde = backend.query("describe", label="hyde")
    assert hyde.parsed is None and hyde.text == ""
    assert hyde_query("Detect duplicate questions.", backend) == "Detect duplicate questions."


def test_callers_get_the_heuristic_results_through_the_one_interface() -> None:
    backend = OfflineBackend()
    problem = extract_problem(PAPER, backend)
    assert problem == offline_problem(PAPER) and problem.engine == "offline"
    ideas = asyncio.run(agenerate_ideas(problem, backend, 3, paper=PAPER))
    assert [i.title for i in ideas] == [i.title for i in offline_ideas(problem, PAPER, 3)]
    assert [i.id for i in ideas] == ["idea-1", "idea-2", "idea-3"]
    reviewed = review_ideas(ideas, problem, backend, paper=PAPER)
    novelty = dict(zip([i.id for i in ideas], novelty_scores(ideas, PAPER, ()), strict=True))
    assert all(i.review == heuristic_review(i.model_copy(update={"review": None}), novelty[i.id])
               for i in reviewed)
    assert all(i.review is not None and i.review.heuristic for i in reviewed)
    assert asyncio.run(agenerate_ideas(problem, backend, 0)) == []


class Unknown(BaseModel):
    x: int


def test_an_unregistered_call_is_a_clear_error_and_free_text_is_extractive() -> None:
    backend = OfflineBackend()
    assert find_solver(Unknown, "mystery") is None
    with pytest.raises(LLMError, match=r"no heuristic for Unknown \(call kind 'mystery'\)"):
        backend.query("anything", schema=Unknown, label="mystery-1")
    with pytest.raises(LLMError, match="needs the Paper as inputs= for the problem call"):
        backend.query("extract", schema=ProblemDraft, label="problem")
    reply = backend.query("Summarise these words for me please.", label="check")
    assert reply.text.startswith("[offline engine: extractive answer, no LLM]")


def test_engine_facts_are_on_the_backend() -> None:
    offline = OfflineBackend()
    assert offline.model_name is None and offline.describe() == "offline engine (no LLM)"
    assert offline.capabilities == Capabilities(repairs_code=False, reviews_every_step=False,
                                                writes_markdown_steps=False, reads_context=False)
    assert Backend.capabilities == Capabilities()  # a language model can do all of it


class _ScriptedModel(Backend):
    """A backend that reads prompts: its one step answer comes fenced and padded."""

    name = "scripted"

    async def aquery(self, messages: object, **kwargs: object) -> Reply[Any]:
        draft = StepDraft(title="  Scaled SVM  ", plan=" Scale, then fit. ",
                          code="```python\nprint(1)\n```")
        return Reply(text=draft.model_dump_json(), parsed=draft)


def test_the_step_policy_asks_the_backend_what_it_can_do(tmp_path: Path) -> None:
    offline, model = StepPolicy(OfflineBackend(), "markdown"), StepPolicy(_ScriptedModel(),
                                                                          "markdown")
    assert (offline.repairs_code, offline.reviews_every_step, offline.step_format) == (
        False, False, "json")
    assert (model.repairs_code, model.reviews_every_step, model.step_format) == (
        True, True, "markdown")
    model.step_format = "json"
    task = load_task(_mlab_task(tmp_path))
    journal = Journal(run_id="r", task=task.name, metric_name=task.metric.name,
                      direction=task.metric.direction)
    request = StepRequest(kind="draft", parent=None, journal=journal, task=task)
    proposal = asyncio.run(model.propose(request))
    # a model's draft is trimmed and unfenced ...
    assert (proposal.title, proposal.plan, proposal.code, proposal.recipe) == (
        "Scaled SVM", "Scale, then fit.", "print(1)\n", None)
    # ... a recipe draft is a finished step, taken as written with the recipe it names
    recipe = RecipeDraft(title=" t ", plan=" p ", code="```x```", recipe="svm_rbf",
                         retrieval={"query": "q"})
    taken = recipe.to_proposal(tokens=3, retrieval=None)
    assert (taken.title, taken.plan, taken.code, taken.recipe, taken.retrieval) == (
        " t ", " p ", "```x```", "svm_rbf", {"query": "q"})
