"""``mlr-copilot bench-ideas PAPER...``: full IdeaAgent pipeline vs a core-paper-only baseline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bench-ideas",
        parents=[common],
        help="benchmark idea quality: full pipeline vs a core-paper-only baseline",
        description="For each PAPER, generate N ideas with the full pipeline (extracted problem, "
        "reported results, related works) and N with a baseline prompted with the paper's title "
        "and abstract alone; score both with the same judge (the LLM reviewer when configured, "
        "else the offline heuristic reviewer, labelled so) on clarity, validity, rigor, "
        "innovativeness and generalizability plus similarity novelty; print mean ± SE side by "
        "side and write one row per idea to CSV.",
    )
    p.add_argument("papers", nargs="+", metavar="PAPER", help="PDF / text / markdown / arXiv id")
    p.add_argument("-n", type=int, default=5, help="ideas per arm and paper (default 5)")
    p.add_argument("--related", metavar="FILE",
                   help="local related-work corpus for the full arm (else Semantic Scholar)")
    p.add_argument("--no-semantic-scholar", action="store_true",
                   help="do not search Semantic Scholar for each paper's related works (it is "
                        "searched, cached on disk, when no --related is given; "
                        "$MLR_COPILOT_SEMANTIC_SCHOLAR=off does the same)")
    p.add_argument("--csv", metavar="FILE", default="bench_ideas.csv",
                   help="where to write the per-idea scores (default bench_ideas.csv)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..errors import InputError
    from ..types import bench_ideas_summary as summary
    from ..types import bench_ideas_table as table
    from ..types import write_bench_ideas_csv as write_csv
    from .common import settings_overrides

    if args.n < 1:
        raise InputError(f"-n must be at least 1, got {args.n}")
    copilot = Copilot(**settings_overrides(args))
    scores = copilot.bench_ideas(args.papers, args.n, related_corpus=args.related,
                                 semantic_scholar=not args.no_semantic_scholar)
    for warning in copilot.warnings:
        print(f"mlr-copilot: warning: {warning}", file=sys.stderr)
    path = write_csv(scores, Path(args.csv))
    if args.json:
        stats = summary(scores)
        print(json.dumps({"judge": scores[0].judge if scores else "", "csv": str(path),
                          "summary": {m: {a: {"mean": v[0], "se": v[1]} for a, v in arms.items()}
                                      for m, arms in stats.items()}}, indent=2))
    else:
        print(table(scores))
        print(f"\nper-idea scores: {path}")
    return 0
