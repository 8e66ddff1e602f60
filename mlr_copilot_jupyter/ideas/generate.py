"""Idea generation: hypotheses first, then an experiment plan for each (as MLR-Copilot does).

With an LLM, each idea is a chain of two structured calls — hypothesis from problem + related
works + an angle, then plan from problem + related works + hypothesis — and the ``n`` chains run
concurrently. Near-duplicate hypotheses are dropped by similarity and replaced (bounded rounds).
Offline, the strategy catalog supplies the ideas (:mod:`.offline_ideas`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel, Field

from ..aio import run_sync
from ..llm.base import Backend
from ..llm.prompts import SYSTEM_RESEARCHER, compile_prompt_to_md
from ..models import ExperimentPlan, Idea, Paper, RelatedWork, ResearchProblem
from .similarity import dedupe
from .text import clip

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
    title: str = Field(description="A short title for the idea (under 12 words).")
    hypothesis: str = Field(description="A falsifiable hypothesis: what change leads to what effect.")
    rationale: str = Field(description="Why it could work, grounded in the problem and related work.")


class PlanDraft(BaseModel):
    objective: str
    method: str = Field(description="What is built or changed, concretely.")
    datasets: list[str]
    baselines: list[str]
    metrics: list[str]
    steps: list[str] = Field(description="At least 3 numbered, executable steps.", min_length=3)
    risks: list[str] = Field(default_factory=list)


def _problem_block(problem: ResearchProblem, related: Sequence[RelatedWork]) -> dict[str, object]:
    return {
        "Research problem": {
            "Task definition": problem.task_definition,
            "Research gaps": list(problem.research_gaps),
            "Keywords": ", ".join(problem.keywords),
        },
        "Related works": [
            f"{w.title}" + (f" ({w.year})" if w.year else "") + (f": {clip(w.abstract, 400)}" if w.abstract else "")
            for w in related
        ] or "none provided",
    }


def hypothesis_prompt(problem: ResearchProblem, related: Sequence[RelatedWork], angle: str,
                      avoid: Sequence[str] = ()) -> list[dict[str, str]]:
    user = compile_prompt_to_md({
        "Task": (
            "Propose one new research hypothesis that addresses a research gap below and could be "
            "tested with an experiment. Take this angle: " + angle + "."
        ),
        **_problem_block(problem, related),
        "Do not repeat these ideas": list(avoid),
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


def plan_prompt(problem: ResearchProblem, related: Sequence[RelatedWork],
                hypothesis: HypothesisDraft) -> list[dict[str, str]]:
    user = compile_prompt_to_md({
        "Task": (
            "Write a concrete experiment plan that tests the hypothesis below: objective, method, "
            "datasets, baselines, metrics, at least three executable steps, and risks."
        ),
        **_problem_block(problem, related),
        "Hypothesis": {"Title": hypothesis.title, "Statement": hypothesis.hypothesis,
                       "Rationale": hypothesis.rationale},
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


async def _idea_chain(backend: Backend, problem: ResearchProblem, related: Sequence[RelatedWork],
                      angle: str, avoid: Sequence[str], index: int) -> Idea:
    hyp_reply = await backend.aquery(hypothesis_prompt(problem, related, angle, avoid),
                                     schema=HypothesisDraft, label=f"hypothesis-{index}")
    hyp = hyp_reply.parsed
    assert hyp is not None
    plan_reply = await backend.aquery(plan_prompt(problem, related, hyp), schema=PlanDraft,
                                      temperature=0.3, label=f"plan-{index}")
    plan = plan_reply.parsed
    assert plan is not None
    return Idea(
        id=f"idea-{index}", title=hyp.title.strip(), hypothesis=hyp.hypothesis.strip(),
        rationale=hyp.rationale.strip(), plan=ExperimentPlan(**plan.model_dump()),
        engine=f"llm:{hyp_reply.model}",
    )


async def agenerate_ideas(problem: ResearchProblem, backend: Backend, n: int = 5, *,
                          related: Sequence[RelatedWork] = (), paper: Paper | None = None,
                          existing: Sequence[Idea] = ()) -> list[Idea]:
    """Generate ``n`` distinct ideas (concurrently with an LLM; from the catalog offline)."""
    start = len(existing) + 1
    if not backend.is_llm:
        from .offline_ideas import offline_ideas

        used = {i.strategy for i in existing if i.strategy}
        ideas = offline_ideas(problem, paper, n, related=list(related), exclude=used)
        return [i.model_copy(update={"id": f"idea-{start + k}"}) for k, i in enumerate(ideas)]

    kept: list[Idea] = []
    avoid = [i.title for i in existing]
    for round_ in range(1 + MAX_EXTRA_ROUNDS):
        missing = n - len(kept)
        if missing <= 0:
            break
        offset = round_ * n + len(kept)
        chains = [
            _idea_chain(backend, problem, related, ANGLES[(offset + k) % len(ANGLES)],
                        avoid + [i.title for i in kept], start + len(kept) + k)
            for k in range(missing)
        ]
        fresh = await asyncio.gather(*chains)
        candidates = [*existing, *kept, *fresh]
        keep = dedupe([f"{i.title}. {i.hypothesis}" for i in candidates],
                      threshold=DUPLICATE_THRESHOLD)
        kept = [candidates[k] for k in keep if k >= len(existing)]
    ideas = kept[:n]
    return [i.model_copy(update={"id": f"idea-{start + k}"}) for k, i in enumerate(ideas)]


def generate_ideas(problem: ResearchProblem, backend: Backend, n: int = 5, **kwargs: object) -> list[Idea]:
    """Sync twin of :func:`agenerate_ideas` (works inside a running Jupyter loop too)."""
    return run_sync(agenerate_ideas(problem, backend, n, **kwargs))  # type: ignore[arg-type]
