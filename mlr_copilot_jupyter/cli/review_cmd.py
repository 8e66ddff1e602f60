"""``mlr-copilot review [--accept ID|top] [--reject ID] [--comment TEXT]``: decide on ideas.

The same decisions as ``%mlr_review --accept/--reject/--comment`` (and the review board's
buttons), saved to the run directory's state.json; without a decision it lists the ideas.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..options_spec import REVIEW_DECISIONS, add_to_parser


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "review",
        parents=[common],
        help="list the ideas of the research state, or accept / reject one",
        description="Decide on the ideas of the run directory's research state (state.json) "
        "without the notebook's review board: --accept ID|top (top: the best-ranked idea that "
        "applies to the task), --reject ID, with --comment TEXT. Without a decision, list the "
        "ideas with their status.",
    )
    add_to_parser(p, REVIEW_DECISIONS)  # as %mlr_review's
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..display import IdeaList, decision_line
    from ..errors import InputError
    from .common import settings_overrides

    copilot = Copilot(**settings_overrides(args))
    if not copilot.state.ideas:
        raise InputError(f"no ideas in {copilot.state_path}",
                         hint="run mlr-copilot ideas (or %mlr_idea) with this --run-dir first")
    deciding = bool(args.accept or args.reject or args.comment)
    ideas = (copilot.apply_review(accept=args.accept, reject=args.reject, comment=args.comment)
             if deciding else copilot.state.ideas)
    if args.json:
        print(json.dumps({"ideas": [i.model_dump(mode="json") for i in ideas],
                          "state": str(copilot.state_path)}, indent=2))
    elif deciding:
        for idea in ideas:
            print(decision_line(idea))
    else:
        print(repr(IdeaList(ideas)))
    return 0
