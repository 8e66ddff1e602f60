"""Idea generation: hypotheses first, then an experiment plan for each (as MLR-Copilot does).

With an LLM, one call first lists ``n`` distinct one-line directions; each is then a chain of two
structured calls — hypothesis, then plan — grounded in the paper (title, abstract, method,
reported results, gaps, limitations) and related works, and the ``n`` chains run concurrently. Near-duplicate hypotheses are dropped by similarity and replaced (bounded rounds).
Offline, the engine answers the directions call with the strategy catalog's ideas, complete
(:mod:`.offline_ideas` registers that solver).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from ..aio import run_sync
from ..llm.base import Backend
from ..llm.prompts import SYSTEM_RESEARCHER, compile_prompt_to_md
from ..llm.schema import text, texts
from ..models import ExperimentPlan, Idea, Paper, RelatedWork, ResearchProblem
from .grounding import TaskBrief, grounding
from .similarity import dedupe
from .task_fit import fit_to_task

#: Directions that keep concurrent chains from converging on the same idea.
ANGLES = (
    "a change to the model or its architecture",
    "a data-centric intervention (data selection, augmentation, cleaning or labelling)",
    "a change to the training objective or the optimisation procedure",
    "efficiency: the same quality at a lower compute or data cost",
    "robustness and generalisation to new settings or distribution shift",
    "evaluation: a sharper test of the paper's central claim",
    "transfer of the paper's method to a new domain or task",
    "combining the paper's method with a complementary technique from related work",
)
DUPLICATE_THRESHOLD = 0.75
MAX_EXTRA_ROUNDS = 2


class HypothesisDraft(BaseModel):
    title: str = Field(description="A short title for the idea (under 12 words).",
                       json_schema_extra=text(120))
    hypothesis: str = Field(description="A falsifiable hypothesis: what change leads to what effect.",
                            json_schema_extra=text(600))
    rationale: str = Field(description="Why it could work, grounded in the problem and related work.",
                           json_schema_extra=text(900))


class PlanDraft(BaseModel):
    objective: str = Field(json_schema_extra=text(400))
    method: str = Field(description="What is built or changed, concretely.",
                        json_schema_extra=text(900))
    datasets: list[str] = Field(json_schema_extra=texts(6, 100))
    baselines: list[str] = Field(json_schema_extra=texts(6, 120))
    metrics: list[str] = Field(json_schema_extra=texts(6, 80))
    steps: list[str] = Field(description="At least 3 numbered, executable steps.", min_length=3,
                             json_schema_extra=texts(8, 300))
    risks: list[str] = Field(default_factory=list, json_schema_extra=texts(5, 250))
    task_mapping: str = Field(default="", description="With a target task: how the hypothesis "
                              "maps onto its data, metric and budget.", json_schema_extra=text(600))
    applies_to_task: bool = Field(default=True, description="False if it cannot apply as is.")
    closest_variant: str = Field(default="", description="When it cannot apply: the closest "
                                 "variant that can be tested on the task.",
                                 json_schema_extra=text(400))


def _problem_block(problem: ResearchProblem, related: Sequence[RelatedWork],
                   paper: Paper | None = None) -> dict[str, object]:
    return grounding(problem, related, paper)


@dataclass(frozen=True)
class IdeaRequest:
    """What one generation works from (the offline engine's catalog reads it directly)."""

    problem: ResearchProblem
    n: int
    related: Sequence[RelatedWork] = ()
    paper: Paper | None = None
    existing: Sequence[Idea] = ()
    task: TaskBrief | None = None


class DirectionsDraft(BaseModel):
    directions: list[str] = Field(description="Distinct one-line research directions, each a "
                                              "different intervention (no two alike).",
                                  json_schema_extra=texts(12, 200))

    def distinct(self, n: int) -> list[str]:
        """``n`` distinct directions: these minus near duplicates, padded with the angles."""
        lines = [" ".join(d.split()) for d in self.directions if d.strip()]
        keep = dedupe(lines, threshold=DUPLICATE_THRESHOLD) if lines else []
        directions = [lines[k] for k in keep][:n]
        pad = [a for a in ANGLES if a not in directions]
        return directions + pad[: n - len(directions)]

    async def expand(self, backend: Backend, request: IdeaRequest) -> list[Idea]:
        """The ideas these directions lead to: each one a hypothesis-then-plan chain, all
        concurrently; near duplicates that slip through are replaced (bounded rounds, each
        asking for new directions)."""
        existing, n = request.existing, request.n
        start = len(existing) + 1
        kept: list[Idea] = []
        avoid = [i.title for i in existing]
        draft: DirectionsDraft | None = self
        for _ in range(1 + MAX_EXTRA_ROUNDS):
            missing = n - len(kept)
            if missing <= 0:
                break
            if draft is None:
                draft = await _directions(backend, request, missing,
                                          avoid + [i.title for i in kept])
            directions, draft = draft.distinct(missing), None
            chains = [
                _idea_chain(backend, request, direction,
                            [d for d in directions if d != direction] + [i.title for i in kept],
                            start + len(kept) + k)
                for k, direction in enumerate(directions)
            ]
            fresh = await asyncio.gather(*chains)
            candidates = [*existing, *kept, *fresh]
            keep = dedupe([f"{i.title}. {i.hypothesis}" for i in candidates],
                          threshold=DUPLICATE_THRESHOLD)
            kept = [candidates[k] for k in keep if k >= len(existing)]
        return kept


class CatalogIdeas(DirectionsDraft):
    """The offline engine's answer: the catalog's ideas, complete (their titles as directions)."""

    ideas: list[Idea]

    async def expand(self, backend: Backend, request: IdeaRequest) -> list[Idea]:
        return list(self.ideas)


def directions_prompt(problem: ResearchProblem, related: Sequence[RelatedWork], n: int,
                      paper: Paper | None = None, avoid: Sequence[str] = ()) -> list[dict[str, str]]:
    user = compile_prompt_to_md({
        "Task": (
            f"List {n} distinct one-line research directions that follow up this paper: each "
            "addresses a research gap or stated limitation, builds on or challenges the reported "
            "results, and differs from the others in what it changes. Cover different angles: "
            + "; ".join(ANGLES[:max(n, 3)]) + "."
        ),
        **grounding(problem, related, paper),
        "Do not repeat these ideas": list(avoid),
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


def hypothesis_prompt(problem: ResearchProblem, related: Sequence[RelatedWork], angle: str,
                      avoid: Sequence[str] = (), paper: Paper | None = None,
                      task: TaskBrief | None = None) -> list[dict[str, str]]:
    user = compile_prompt_to_md({
        "Task": (
            "Propose one new research hypothesis that addresses a research gap below and could be "
            "tested with an experiment. Develop this direction: " + angle + ". State a measurable "
            "expected effect relative to the paper's reported results."
        ),
        **grounding(problem, related, paper),
        "Target task": task.prompt_block() if task else None,
        "Other directions being developed (do not overlap)": list(avoid),
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


def plan_prompt(problem: ResearchProblem, related: Sequence[RelatedWork],
                hypothesis: HypothesisDraft, paper: Paper | None = None,
                task: TaskBrief | None = None) -> list[dict[str, str]]:
    how = ("Write a concrete experiment plan that tests the hypothesis below: objective, method, "
           "datasets, baselines, metrics, at least three executable steps, and risks.")
    if task is not None:
        how += (" The plan must run on the target task below: name its data files and its "
                "metric and direction, fit its compute budget, and say in task_mapping how the "
                "hypothesis maps onto the task. If the hypothesis cannot apply to this task, set "
                "applies_to_task to false and give the closest testable variant.")
    user = compile_prompt_to_md({
        "Task": how,
        **grounding(problem, related, paper),
        "Target task": task.prompt_block() if task else None,
        "Hypothesis": {"Title": hypothesis.title, "Statement": hypothesis.hypothesis,
                       "Rationale": hypothesis.rationale},
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


async def _idea_chain(backend: Backend, request: IdeaRequest, direction: str,
                      others: Sequence[str], index: int) -> Idea:
    problem, related, paper, task = request.problem, request.related, request.paper, request.task
    hyp_reply = await backend.aquery(
        hypothesis_prompt(problem, related, direction, others, paper=paper, task=task),
        schema=HypothesisDraft, label=f"hypothesis-{index}")
    hyp = hyp_reply.parsed
    assert hyp is not None
    plan_reply = await backend.aquery(plan_prompt(problem, related, hyp, paper=paper, task=task),
                                      schema=PlanDraft, temperature=0.3, label=f"plan-{index}")
    plan = plan_reply.parsed
    assert plan is not None
    idea = Idea(
        id=f"idea-{index}", title=hyp.title.strip(), hypothesis=hyp.hypothesis.strip(),
        rationale=hyp.rationale.strip(), plan=ExperimentPlan(**plan.model_dump()),
        engine=f"llm:{hyp_reply.model}",
    )
    return fit_to_task(idea, task) if task is not None else idea


async def _directions(backend: Backend, request: IdeaRequest, n: int,
                      avoid: Sequence[str]) -> DirectionsDraft:
    """One call for ``n`` directions (the offline engine answers it with complete ideas)."""
    reply = await backend.aquery(
        directions_prompt(request.problem, request.related, n, request.paper, avoid),
        schema=DirectionsDraft, label="directions", inputs=request)
    assert reply.parsed is not None
    return reply.parsed


async def agenerate_ideas(problem: ResearchProblem, backend: Backend, n: int = 5, *,
                          related: Sequence[RelatedWork] = (), paper: Paper | None = None,
                          existing: Sequence[Idea] = (),
                          task: TaskBrief | None = None) -> list[Idea]:
    """Generate ``n`` distinct ideas.

    One call lists ``n`` distinct directions. A language model's directions are then each
    expanded into a hypothesis and a plan, all chains concurrently, each told the other
    directions; near duplicates that still slip through are replaced (bounded rounds). The
    offline engine answers that call with its catalog's ideas, complete. With ``task``, every
    plan is fitted to that task (data files, metric, direction).
    """
    if n <= 0:
        return []
    request = IdeaRequest(problem, n, tuple(related), paper, tuple(existing), task)
    draft = await _directions(backend, request, n, [i.title for i in existing])
    ideas = (await draft.expand(backend, request))[:n]
    start = len(existing) + 1
    return [i.model_copy(update={"id": f"idea-{start + k}"}) for k, i in enumerate(ideas)]


def generate_ideas(problem: ResearchProblem, backend: Backend, n: int = 5, **kwargs: object) -> list[Idea]:
    """Sync twin of :func:`agenerate_ideas` (works inside a running Jupyter loop too)."""
    return run_sync(agenerate_ideas(problem, backend, n, **kwargs))  # type: ignore[arg-type]
