"""``mlr-copilot bench``: the ExperimentAgent on tasks x seeds, scored as MLAgentBench does."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from ..options_spec import SANDBOX_SHARED, add_to_parser
from .experiment_cmd import add_metric_options


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bench",
        parents=[common],
        help="benchmark the experiment agent: success rate and mean improvement over seeds",
        description="Run the experiment agent with the configured backend on each TASK for seeds "
        "0..N-1 (runs in OUT/<task>/seed<k>/), then report per task the mean baseline, the mean "
        "best verified metric, the relative improvement (mean ± standard error) and the success "
        "rate (share of runs with >= 10% relative improvement, MLAgentBench's criterion). "
        "Writes OUT/bench.csv, OUT/bench.md and OUT/bench.png.",
    )
    p.add_argument("tasks", nargs="*", metavar="TASK",
                   help="task folders or bundled task names (default: every bundled task)")
    p.add_argument("--seeds", type=int, default=3, help="runs per task, seeds 0..N-1 (default 3)")
    p.add_argument("--max-steps", type=int, help="search steps after the baseline (default 10)")
    add_metric_options(p)
    add_to_parser(p, SANDBOX_SHARED)  # through the settings (cli.settings_overrides)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the runs and results")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def command_line(args: argparse.Namespace, tasks: list[str]) -> str:
    """The command that reproduces this benchmark (settings from the environment excluded)."""
    parts = ["mlr-copilot", "bench", *tasks, "--seeds", str(args.seeds)]
    if args.max_steps is not None:
        parts += ["--max-steps", str(args.max_steps)]
    for flag in ("metric", "direction", "sandbox"):
        if getattr(args, flag, None):
            parts += [f"--{flag}", str(getattr(args, flag))]
    if getattr(args, "allow_network", False):
        parts.append("--allow-network")
    for flag, name in (("--backend", "backend"), ("--model", "model"), ("--base-url", "base_url")):
        if getattr(args, name, None):
            parts += [flag, str(getattr(args, name))]
    return shlex.join([*parts, "--out", args.out])


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..api import Copilot
    from ..types import bundled_tasks
    from .common import settings_overrides

    copilot = Copilot(**settings_overrides(args))
    plan = copilot.prepare_bench(list(args.tasks) or bundled_tasks(), args.seeds, Path(args.out),
                                 max_steps=args.max_steps, metric=args.metric,
                                 direction=args.direction)
    copilot.backend  # noqa: B018  (announces the offline engine before the progress bar)
    with tqdm(total=plan.runs, desc="bench", unit="run", file=sys.stderr) as progress:

        def advance(result: Any) -> None:
            progress.set_postfix_str(f"{result.task}/seed{result.seed}: "
                                     f"{'success' if result.success else result.status}")
            progress.update()

        report = copilot.run_bench(plan, command=command_line(args, list(plan.tasks)),
                                   on_run=advance)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table)
        print()
        print(report.overall_line())
        files = report.files
        print(f"\nwrote {files['csv']}, {files['markdown']}, {files['plot']}")
    return 0
