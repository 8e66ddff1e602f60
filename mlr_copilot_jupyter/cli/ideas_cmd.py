"""``mlr-copilot ideas SOURCE``: problem -> hypotheses with plans -> review and ranking."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..options_spec import IDEAS_N, IDEAS_TASK, RELATED, SEMANTIC_SCHOLAR, add_to_parser


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ideas",
        parents=[common],
        help="generate and review research ideas for a paper",
        description="Read a paper, extract its research problem, generate N hypotheses with "
        "experiment plans and review them (clarity, validity, rigor, innovativeness, "
        "generalizability, novelty). Ideas are ranked by the review's overall score.",
    )
    p.add_argument("source", metavar="SOURCE", help="PDF / text / markdown path, arXiv id or URL")
    add_to_parser(p, (IDEAS_N, RELATED, SEMANTIC_SCHOLAR))
    p.add_argument("--no-semantic-scholar", action="store_true",
                   help="do not search Semantic Scholar by default (it is searched, cached on "
                        "disk, when no --related is given; $MLR_COPILOT_SEMANTIC_SCHOLAR=off "
                        "does the same)")
    add_to_parser(p, (IDEAS_TASK,))
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--out", metavar="FILE", help="also write the JSON result to FILE")
    p.add_argument("--deadline", type=float, metavar="SECONDS",
                   help="wall-clock seconds for the whole command; when reached it ends with one "
                        "line (exit 1), keeping what finished in the research state; --timeout "
                        "stays per request  [MLRCopilot.deadline]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..atomic import atomic_write_text
    from ..budget import check_deadline, stage_deadline
    from ..display import IdeaList, ProblemCard
    from ..types import RANKING_FORMULA
    from .common import settings_overrides

    IDEAS_N.check(args.n)
    copilot = Copilot(**settings_overrides(args))
    with stage_deadline(args.deadline or copilot.settings.deadline or None):
        paper = copilot.read_paper(args.source)
        check_deadline("reading the paper")
        problem = copilot.extract_problem()
        check_deadline("extracting the research problem")
        if args.related or args.semantic_scholar:
            copilot.find_related(args.related, semantic_scholar=args.semantic_scholar)
        elif not args.no_semantic_scholar:
            copilot.related_by_default()
        problem = copilot.state.problem or problem
        check_deadline("finding related works")
        copilot.generate_ideas(args.n, task=args.task)
        check_deadline("generating ideas")
        ranked = copilot.review_ideas()
    for warning in copilot.warnings:
        print(f"mlr-copilot: warning: {warning}", file=sys.stderr)
    result = {
        "paper": {"source": paper.source, "title": paper.title},
        "problem": problem.model_dump(),
        "ranking": RANKING_FORMULA,
        "backend": copilot.backend.describe(),
        "usage": copilot.usage.total.model_dump(),
        "ideas": [i.model_dump() for i in ranked],
        "state": str(copilot.state_path),
    }
    text = json.dumps(result, indent=2)
    if args.out:
        atomic_write_text(Path(args.out), text)
    if args.json:
        print(text)
    else:
        print(repr(ProblemCard(problem, paper)))
        print(f"\nIdeas, ranked ({RANKING_FORMULA}):\n")
        print(repr(IdeaList(ranked)))
    return 0
