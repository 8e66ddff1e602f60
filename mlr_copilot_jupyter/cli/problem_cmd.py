"""``mlr-copilot problem SOURCE``: a paper's research problem."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..options_spec import MAX_PAGES, add_to_parser


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "problem",
        parents=[common],
        help="extract a paper's research problem (task, gaps, keywords)",
        description="Read a paper (PDF, .txt/.md, arXiv id or URL) and extract its research "
        "problem: task definition, research gaps, keywords and rationale.",
    )
    p.add_argument("source", metavar="SOURCE", help="PDF / text / markdown path, arXiv id or URL")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_to_parser(p, (MAX_PAGES,))
    p.add_argument("--deadline", type=float, metavar="SECONDS",
                   help="wall-clock seconds for the command; when reached it ends with one line "
                        "(exit 1)  [MLRCopilot.deadline]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..budget import check_deadline, stage_deadline
    from ..display import ProblemCard
    from .common import settings_overrides

    copilot = Copilot(**settings_overrides(args))
    with stage_deadline(args.deadline or copilot.settings.deadline or None):
        paper = copilot.read_paper(args.source, max_pages=args.max_pages)
        check_deadline("reading the paper")
        problem = copilot.extract_problem()
    if args.json:
        out = {"paper": {"source": paper.source, "title": paper.title, "n_pages": paper.n_pages,
                         "sections": list(paper.sections)},
               **problem.model_dump()}
        print(json.dumps(out, indent=2))
    else:
        print(repr(ProblemCard(problem, paper)))
    return 0
