"""Idea-quality benchmark after MLR-Copilot's: the full IdeaAgent pipeline against a baseline that
prompts with the core paper alone, both scored by the same judge.

- **full**: the extracted research problem (method, reported results, gaps, limitations), the
  paper and related works ground the direction, hypothesis and plan prompts.
- **core paper only**: the same generator given nothing but the paper's title and abstract as
  the task definition (no extracted gaps, numbers, datasets or related works).

The judge is the LLM reviewer when one is configured, else the offline heuristic reviewer (the
table says which). Novelty is 1 - max cosine similarity to the paper and related works for both.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..aio import run_sync
from ..llm.base import Backend
from ..models import REVIEW_CRITERIA, Idea, Paper, RelatedWork, ResearchProblem
from .generate import agenerate_ideas
from .problem import extract_problem
from .review import areview_ideas
from .text import clip

ARMS = ("full", "core-paper")
COLUMNS = ("paper", "arm", "idea_id", "title", *REVIEW_CRITERIA, "novelty", "overall", "judge")
MEASURES = (*REVIEW_CRITERIA, "novelty", "overall")


@dataclass
class IdeaScore:
    paper: str
    arm: str
    idea: Idea
    judge: str

    def row(self) -> dict[str, object]:
        review = self.idea.review
        assert review is not None
        return {"paper": self.paper, "arm": self.arm, "idea_id": self.idea.id,
                "title": self.idea.title, **{c: review.scores.get(c) for c in REVIEW_CRITERIA},
                "novelty": review.novelty, "overall": review.overall, "judge": self.judge}


def core_problem(paper: Paper) -> ResearchProblem:
    """The baseline's only input: the paper's title and abstract, nothing extracted."""
    text = f"{paper.title}. {paper.abstract or paper.text[:2000]}".strip(". ")
    return ResearchProblem(task_definition=clip(text, 2000), engine="core-paper")


async def abench_paper(paper: Paper, backend: Backend, n: int,
                       related: Sequence[RelatedWork] = ()) -> list[IdeaScore]:
    """Generate and judge ``n`` ideas per arm for one paper."""
    problem = extract_problem(paper, backend)
    name = paper.title or paper.source
    out: list[IdeaScore] = []
    arms = {
        "full": await agenerate_ideas(problem, backend, n, related=related, paper=paper),
        "core-paper": await agenerate_ideas(core_problem(paper), backend, n),
    }
    for arm, ideas in arms.items():
        # the same judge and the same novelty references (paper + related works) for both arms
        reviewed = await areview_ideas(ideas, problem, backend, paper=paper, related=related)
        judge = (reviewed[0].review.reviewer if reviewed and reviewed[0].review else "")
        if reviewed and reviewed[0].review and reviewed[0].review.heuristic:
            judge = "heuristic judge (offline, no LLM)"
        out += [IdeaScore(name, arm, idea, judge) for idea in reviewed]
    return out


def bench_papers(papers: Sequence[Paper], backend: Backend, n: int = 5,
                 related: Sequence[RelatedWork] = (),
                 related_of: Callable[[Paper], Sequence[RelatedWork]] | None = None,
                 ) -> list[IdeaScore]:
    """Both arms for each paper; the full arm's related works are ``related`` (one corpus for
    all papers) or, without it, ``related_of(paper)`` (Semantic Scholar by default)."""
    scores: list[IdeaScore] = []
    for paper in papers:
        works = related or (related_of(paper) if related_of is not None else ())
        scores += run_sync(abench_paper(paper, backend, n, works))
    return scores


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def summary(scores: Sequence[IdeaScore]) -> dict[str, dict[str, tuple[float, float]]]:
    """measure -> arm -> (mean, standard error) over all ideas of all papers."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for measure in MEASURES:
        out[measure] = {}
        for arm in ARMS:
            values = [float(s.row()[measure]) for s in scores  # type: ignore[arg-type]
                      if s.arm == arm and s.row()[measure] is not None]
            if values:
                out[measure][arm] = mean_se(values)
    return out


def table(scores: Sequence[IdeaScore]) -> str:
    """Per criterion mean ± SE, full pipeline and core-paper baseline side by side."""
    stats = summary(scores)
    judge = scores[0].judge if scores else ""
    n_papers = len({s.paper for s in scores})
    lines = [f"Idea quality: full pipeline vs core-paper-only baseline ({n_papers} papers; "
             f"judge: {judge}; mean ± SE over ideas)", "",
             f"{'criterion':<18}{'full':>16}{'core-paper':>16}{'diff':>9}"]
    for measure, arms in stats.items():
        cells = [f"{arms[a][0]:.2f} ± {arms[a][1]:.2f}" if a in arms else "-" for a in ARMS]
        diff = (f"{arms['full'][0] - arms['core-paper'][0]:+.2f}"
                if len(arms) == len(ARMS) else "-")
        lines.append(f"{measure:<18}{cells[0]:>16}{cells[1]:>16}{diff:>9}")
    return "\n".join(lines)


def write_csv(scores: Sequence[IdeaScore], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        for s in scores:
            writer.writerow(s.row())
    return path
