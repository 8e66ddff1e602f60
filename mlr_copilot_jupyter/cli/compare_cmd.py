"""``mlr-copilot compare``: several ideas as concurrent experiments on one task, one comparison."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from types import FrameType
from typing import Any

from ..options_spec import (
    CELL_TIMEOUT,
    COMPARE_SHARED,
    DIRECTION,
    MAX_STEPS,
    METRIC,
    SANDBOX_SHARED,
    SEED,
    ExperimentOptions,
    add_to_parser,
    budget_options,
)
from .outcome import report_failures

EPILOG = """\
examples:
  mlr-copilot ideas paper.pdf --task wine -n 3 --out ideas.json
  mlr-copilot compare --ideas ideas.json --task wine --out cmp1
  mlr-copilot compare --ideas ideas.json idea-1 idea-3 --task wine --max-steps 5 --out cmp2
  mlr-copilot compare --ideas ideas.json --task digits --scheduler local --workers 3 --out cmp3
  mlr-copilot compare --ideas ideas.json --task ./my_task --scheduler tcp://10.0.0.5:8786 \\
      --seeds 5 --out /shared/cmp4

Each idea runs as its own experiment (own kernel, record and run folder OUT/runs/<idea-id>/),
concurrently. Then the two best ideas by verified validation metric are re-run with seeds
1..N (OUT/seeds/). OUT gets comparison.csv, comparison.png and compare.ipynb (links to every
record, the plot and the verdict). Exit status 0 when the comparison finished (even if some ideas
failed: a warning names them), 1 if every idea failed, 130 on Ctrl-C (records stay valid)."""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "compare", parents=[common],
        help="run several ideas as parallel experiments on one task and compare them",
        description="Run each idea of an ideas file (mlr-copilot ideas --out FILE) as its own "
        "experiment on TASK, in parallel (local processes or Dask), and write one comparison: "
        "table, plot, index notebook and a verdict checked against seed re-runs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ideas", nargs="+", required=True, metavar=("FILE", "ID"),
                   help="the ideas file, then optionally the ids to compare (default: all)")
    p.add_argument("--task", required=True, metavar="PATH",
                   help="task folder, task.toml or bundled task name (e.g. wine, digits)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the comparison")
    add_to_parser(p, COMPARE_SHARED)  # --workers, --scheduler, --seeds (as %mlr_experiment's)
    add_to_parser(p, SANDBOX_SHARED)  # through the settings, to every worker's Copilot
    # each idea's run options: the same specs (flags, types, ranges) as mlr-copilot experiment
    add_to_parser(p, (
        MAX_STEPS.but(metavar="N", help="search steps after the baseline, per idea, 0..200 "
                                        "(default: the task's [budget] max_steps, else 10)"),
        CELL_TIMEOUT.but(metavar="S", help="seconds per cell (default: the task's)"),
        SEED, METRIC, DIRECTION))
    token_budget, cost_budget, deadline = budget_options("each idea's run")
    add_to_parser(p, (token_budget.but(help="LLM tokens per idea's run"), cost_budget,
                      deadline.but(help="wall-clock seconds per idea's run")))
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..types import ComparisonInterrupted, load_ideas_file
    from .common import settings_overrides

    options = ExperimentOptions.from_args(args)  # every run option, each checked once, first
    ideas = load_ideas_file(args.ideas[0], args.ideas[1:])
    copilot = Copilot(**settings_overrides(args))
    copilot.backend  # noqa: B018  (says "offline engine" once, here, not once per worker)

    def line(text: str) -> None:
        if not args.no_progress:
            print(f"mlr-copilot: {text}", file=sys.stderr, flush=True)

    line(f"comparing {len(ideas)} ideas on {args.task} ({args.workers} workers"
         f"{', ' + args.scheduler if args.scheduler else ''})")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly, as on Ctrl-C
    try:
        result = copilot.compare(ideas, args.task, out=args.out, workers=args.workers,
                                 scheduler=args.scheduler, seeds=args.seeds,
                                 options=options, metric=args.metric,
                                 direction=args.direction, progress=line)
    except ComparisonInterrupted as stopped:
        from .common import Interrupted

        raise Interrupted(f"mlr-copilot: interrupted; what finished is saved in "
                          f"{stopped.result.notebook}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print("\n".join(result.summary_lines()))
        print(f"\nverdict:  {result.verdict}\ntable:    {result.csv}")
        if result.plot:
            print(f"plot:     {result.plot}")
        print(f"notebook: {result.notebook}")
        if result.insert_command:
            print(f"insert the winner's cells in a notebook: {result.insert_command}")
    failed = [f"{e.idea_id} ({e.error})" for e in result.failed]
    return report_failures(len(failed), len(result.comparison.entries), "; ".join(failed),
                           noun="idea", where=result.csv)
