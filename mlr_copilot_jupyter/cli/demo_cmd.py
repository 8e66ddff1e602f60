"""``mlr-copilot demo``: the whole pipeline on the bundled paper-like text and a bundled task."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

DEMO_PAPER = Path(__file__).resolve().parent.parent / "data" / "demo_paper.md"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the whole pipeline on a bundled paper and task (offline by default)",
        description="Read the bundled paper-like text (written for this project), extract its "
        "problem, generate and review ideas, and run the top idea as an experiment on a bundled "
        "task. Uses the configured backend; with none, the offline engine.",
    )
    p.add_argument("--task", default="digits", help="bundled task or task folder (default digits)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new temporary folder)")
    p.add_argument("--max-steps", type=int, default=6, help="experiment steps (default 6)")
    p.add_argument("-n", type=int, default=5, help="number of ideas (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from .common import settings_overrides
    from .experiment_cmd import print_summary
    from .run_cmd import pipeline

    copilot = Copilot(**settings_overrides(args))
    print(repr(copilot.status()))
    print()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mlr-copilot-demo-"))
    ns = argparse.Namespace(
        paper=str(DEMO_PAPER), n=args.n, related=None, out=str(out), task=args.task,
        max_steps=args.max_steps, mode="auto", seed=0, cell_timeout=None, memory_limit_mb=None,
        no_verify=False, json=False)
    summary = pipeline(copilot, ns)
    print_summary(summary, False)
    print(f"  pipeline report: {summary['pipeline_report']}")
    return 0
