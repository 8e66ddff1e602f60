"""``mlr-copilot run PAPER --task PATH --out DIR``: the whole pipeline, paper to verified result."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..options_spec import IDEAS_N, RELATED, add_to_parser
from .experiment_cmd import add_run_options


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="paper -> problem -> ideas -> top-ranked idea -> experiment -> report.md",
        description="Run all three MLR-Copilot stages: extract the paper's research problem, "
        "generate and review ideas, run the top-ranked idea as an experiment on the task, and "
        "write OUT/report.md with the problem, the ideas and the verified result.",
    )
    p.add_argument("paper", metavar="PAPER", help="PDF / text / markdown path, arXiv id or URL")
    add_to_parser(p, (IDEAS_N, RELATED))
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_run_options(p)
    p.set_defaults(func=run)


def pipeline(copilot: Any, args: argparse.Namespace) -> dict[str, Any]:
    from ..atomic import atomic_write_text
    from ..display import IdeaList, ProblemCard
    from ..types import RANKING_FORMULA
    from .experiment_cmd import execute

    out = Path(args.out)
    copilot.settings.run_dir = str(out)
    paper = copilot.read_paper(args.paper)
    problem = copilot.extract_problem()
    print(f"problem: {problem.task_definition[:200]}", file=sys.stderr)
    if args.related:
        copilot.find_related(args.related)
    else:
        copilot.related_by_default()
    for warning in copilot.warnings:
        print(f"mlr-copilot: warning: {warning}", file=sys.stderr)
    copilot.generate_ideas(args.n, task=args.task)  # plans fitted to the task
    ranked = copilot.review_ideas()
    # the best idea that applies to the task as stated (else the best one, via its variant)
    top = copilot.decide(copilot.top_idea().id, "accept", comment="top-ranked by mlr-copilot run")
    print(f"top idea: [{top.id}] {top.title}", file=sys.stderr)
    summary = execute(copilot, args, idea=top, out=out / "experiment")
    experiment_report = Path(summary["report"]).read_text(encoding="utf-8")
    report = "\n\n".join([
        f"# MLR-Copilot run: {paper.title or paper.source}",
        f"Engine: {copilot.backend.describe()}",
        "## 1. Research problem\n\n```text\n" + repr(ProblemCard(problem, paper)) + "\n```",
        f"## 2. Ideas (ranked: {RANKING_FORMULA})\n\n```text\n" + repr(IdeaList(ranked)) + "\n```",
        f"## 3. Experiment on the top idea ({top.id})\n\n" + experiment_report.replace(
            "](metric.png)", "](experiment/metric.png)"),
    ])
    atomic_write_text(out / "report.md", report + "\n")
    summary["pipeline_report"] = str(out / "report.md")
    summary["idea"] = top.model_dump()
    return summary


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from .common import settings_overrides
    from .experiment_cmd import print_summary

    copilot = Copilot(**settings_overrides(args))
    summary = pipeline(copilot, args)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary, False)
        print(f"  pipeline report: {summary['pipeline_report']}")
    return 0
