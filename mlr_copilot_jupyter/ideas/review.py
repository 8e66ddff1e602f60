"""Review and ranking of ideas.

Each idea gets 1-5 scores on clarity, validity, rigor, innovativeness and generalizability with a
one-line justification each — from an LLM judge, or offline from stated heuristics (marked
``heuristic=True``). Novelty follows the MLR-Copilot paper's similarity measure:
``novelty = 1 - max cosine similarity`` between the idea and the source paper and related works.

Ranking formula (``Review.overall``, in [0, 1])::

    overall = 0.8 * mean((score - 1) / 4 for the five criteria) + 0.2 * novelty
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from ..aio import run_sync
from ..llm.base import Backend, Message, Reply
from ..llm.prompts import SYSTEM_RESEARCHER, compile_prompt_to_md
from ..llm.solvers import expect_inputs, register_solver
from ..models import REVIEW_CRITERIA, Idea, Paper, RelatedWork, ResearchProblem, Review
from .grounding import grounding
from .similarity import max_similarity

CRITERIA_WEIGHT = 0.8
NOVELTY_WEIGHT = 0.2
RANKING_FORMULA = "overall = 0.8 * mean((score - 1) / 4 over the five criteria) + 0.2 * novelty"


class CriterionScore(BaseModel):
    score: int = Field(ge=1, le=5)
    justification: str = Field(description="One line.", json_schema_extra={"maxLength": 240})


class ReviewDraft(BaseModel):
    clarity: CriterionScore
    validity: CriterionScore
    rigor: CriterionScore
    innovativeness: CriterionScore
    generalizability: CriterionScore

    def to_review(self, novelty: float, reply: Reply[Any]) -> Review:
        """The :class:`Review` these scores make, with ``novelty`` in the overall score."""
        scores = {c: getattr(self, c).score for c in REVIEW_CRITERIA}
        notes = {c: " ".join(getattr(self, c).justification.split()) for c in REVIEW_CRITERIA}
        return Review(scores=scores, justifications=notes, novelty=novelty,
                      overall=overall_score(scores, novelty), heuristic=False,
                      reviewer=f"llm:{reply.model}")


class HeuristicReviewDraft(ReviewDraft):
    """The offline engine's answer: the scores plus the labelled heuristic review itself."""

    review: Review

    def to_review(self, novelty: float, reply: Reply[Any]) -> Review:
        return self.review


@dataclass(frozen=True)
class ReviewRequest:
    """What the offline reviewer reads: the idea and its similarity novelty."""

    idea: Idea
    novelty: float


def idea_text(idea: Idea) -> str:
    p = idea.plan
    return " ".join([idea.title, idea.hypothesis, idea.rationale, p.objective, p.method, *p.steps])


def overall_score(scores: dict[str, int], novelty: float) -> float:
    mean = sum((scores[c] - 1) / 4 for c in REVIEW_CRITERIA) / len(REVIEW_CRITERIA)
    return round(CRITERIA_WEIGHT * mean + NOVELTY_WEIGHT * novelty, 4)


def novelty_scores(ideas: Sequence[Idea], paper: Paper | None,
                   related: Sequence[RelatedWork]) -> list[float]:
    """1 - max cosine similarity of each idea to the paper and the related works."""
    references = [f"{w.title}. {w.abstract}" for w in related]
    if paper is not None:
        references.append(paper.text or f"{paper.title}. {paper.abstract}")
    sims = max_similarity([idea_text(i) for i in ideas], references)
    return [round(max(0.0, min(1.0, 1.0 - s)), 4) for s in sims]


def review_prompt(idea: Idea, problem: ResearchProblem, paper: Paper | None = None,
                  related: Sequence[RelatedWork] = ()) -> list[dict[str, str]]:
    p = idea.plan
    user = compile_prompt_to_md({
        "Task": (
            "Review this research idea as a critical expert reviewer. Score each criterion from 1 "
            "(poor) to 5 (excellent) with a one-line justification: clarity (is it precisely "
            "stated?), validity (does the plan test the hypothesis?), rigor (controls, baselines, "
            "seeds, statistics), innovativeness (beyond incremental?), generalizability (beyond "
            "one dataset or setting?). Judge innovativeness against the paper's method and the "
            "related works below, and validity against its reported results."
        ),
        **grounding(problem, related, paper),
        "Idea": {
            "Title": idea.title, "Hypothesis": idea.hypothesis, "Rationale": idea.rationale,
            "Plan": {"Objective": p.objective, "Method": p.method,
                     "Datasets": ", ".join(p.datasets), "Baselines": ", ".join(p.baselines),
                     "Metrics": ", ".join(p.metrics), "Steps": list(p.steps),
                     "Risks": list(p.risks), "Task mapping": p.task_mapping},
        },
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


async def _review(idea: Idea, problem: ResearchProblem, backend: Backend,
                  novelty: float, paper: Paper | None,
                  related: Sequence[RelatedWork]) -> Review:
    reply = await backend.aquery(review_prompt(idea, problem, paper, related), schema=ReviewDraft,
                                 temperature=0.0, label=f"review-{idea.id}",
                                 inputs=ReviewRequest(idea, novelty))
    draft = reply.parsed
    assert draft is not None
    return draft.to_review(novelty, reply)


_MEASURABLE = re.compile(r"\b(improv|increas|reduc|decreas|outperform|higher|lower|gain|drop|"
                         r"match|beat|at least|%|percent|relative)\w*", re.I)
_QUANTIFIED = re.compile(r"\d+(?:\.\d+)?\s*(?:%|points?|pp|x|times)|\bby (?:at least )?\w+ "
                         r"(?:percent|points)", re.I)
_RIGOR_CUES = {
    "seeds": re.compile(r"\bseeds?\b|\brepeated runs\b|\bruns? per\b", re.I),
    "ablation": re.compile(r"\bablat\w*", re.I),
    "statistics": re.compile(r"\bsignifican\w*|\bconfidence interval|\bstandard error|"
                             r"\bt-test|\bbootstrap|\bvariance\b|\bmean (?:and|±)", re.I),
    "held-out": re.compile(r"\bheld-out\b|\bcross[- ]validation\b|\bvalidation split\b", re.I),
    "control": re.compile(r"\bcontrol\w*|\bsame (?:budget|compute|data|hyper)", re.I),
}
_GENERAL = re.compile(r"\b(across|several|multiple|other domains|transfer|generali[sz])\w*", re.I)
_DEFAULTS = ("the paper's benchmark", "the paper's main metric", "the paper's proposed method")


def _concrete(items: Sequence[str]) -> list[str]:
    return [x for x in items if x.strip() and x not in _DEFAULTS]


def heuristic_review(idea: Idea, novelty: float) -> Review:
    """Scores from observable properties of the idea text (offline; labelled heuristic).

    Each criterion counts concrete evidence, so ideas differ: a measurable (better: quantified)
    claim naming the metric, concrete datasets and baselines rather than placeholders, rigor cues
    (seeds, ablation, statistics, held-out data, controls), breadth, and similarity novelty.
    """
    p = idea.plan
    text = idea_text(idea)
    words = len(idea.hypothesis.split())
    measurable = bool(_MEASURABLE.search(idea.hypothesis))
    quantified = bool(_QUANTIFIED.search(idea.hypothesis))
    datasets, baselines, metrics = _concrete(p.datasets), _concrete(p.baselines), _concrete(p.metrics)
    names_metric = any(m.split(" (")[0].lower() in idea.hypothesis.lower() for m in metrics)
    clarity = (1 + (10 <= words <= 60) + measurable + (quantified or names_metric)
               + (bool(p.objective) and len(p.steps) >= 4))
    validity = 1 + bool(datasets) + bool(baselines) + bool(metrics) + (measurable and names_metric)
    rigor_found = [k for k, rx in _RIGOR_CUES.items() if rx.search(text)]
    rigor = 1 + min(3, len(rigor_found)) + bool(baselines)
    innovativeness = 1 + round(4 * max(0.0, min(1.0, (novelty - 0.5) / 0.5)))
    general = bool(_GENERAL.search(text))
    generalizability = 1 + (len(datasets) >= 2) + general + (len(metrics) >= 2) + (
        p.applies_to_task is not False)
    scores = {"clarity": clarity, "validity": validity, "rigor": rigor,
              "innovativeness": innovativeness, "generalizability": generalizability}
    scores = {k: int(max(1, min(5, v))) for k, v in scores.items()}
    notes = {
        "clarity": f"hypothesis of {words} words, {'a' if measurable else 'no'} measurable claim"
                   f"{', quantified' if quantified else ''}, {len(p.steps)} plan steps",
        "validity": f"plan names {len(datasets)} concrete datasets, {len(baselines)} baselines, "
                    f"{len(metrics)} metrics",
        "rigor": f"rigor cues: {', '.join(rigor_found) or 'none'}",
        "innovativeness": f"from novelty {novelty:.2f} (similarity to paper and related works)",
        "generalizability": f"{len(datasets)} datasets; "
                            f"{'mentions' if general else 'no'} transfer or multiple settings",
    }
    return Review(scores=scores, justifications=notes, novelty=novelty,
                  overall=overall_score(scores, novelty), heuristic=True,
                  reviewer="offline heuristics")


async def areview_ideas(ideas: Sequence[Idea], problem: ResearchProblem, backend: Backend, *,
                        paper: Paper | None = None,
                        related: Sequence[RelatedWork] = ()) -> list[Idea]:
    """Attach a review to every idea and return them ranked by ``overall``, best first."""
    novelty = novelty_scores(ideas, paper, related)
    reviews = await asyncio.gather(*(
        _review(i, problem, backend, nov, paper, related)
        for i, nov in zip(ideas, novelty, strict=True)))
    reviewed = [i.model_copy(update={"review": r}) for i, r in zip(ideas, reviews, strict=True)]
    return sorted(reviewed, key=lambda i: -(i.review.overall if i.review else 0.0))


def review_ideas(ideas: Sequence[Idea], problem: ResearchProblem, backend: Backend,
                 **kwargs: object) -> list[Idea]:
    """Sync twin of :func:`areview_ideas`."""
    return run_sync(areview_ideas(ideas, problem, backend, **kwargs))  # type: ignore[arg-type]


def _solve_review(messages: list[Message], inputs: object) -> HeuristicReviewDraft:
    """Offline solver for a review call: :func:`heuristic_review` of the idea given."""
    request = expect_inputs(inputs, ReviewRequest, "review")
    review = heuristic_review(request.idea, request.novelty)
    criteria = {c: CriterionScore(score=review.scores[c], justification=review.justifications[c])
                for c in REVIEW_CRITERIA}
    return HeuristicReviewDraft(**criteria, review=review)


register_solver(ReviewDraft, _solve_review)
