"""``mlr-copilot experiment``: run the ExperimentAgent on a task, headless."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..options_spec import (
    CELL_TIMEOUT,
    DIRECTION,
    MAX_STEPS,
    MEMORY_LIMIT,
    METRIC,
    MODE,
    NO_VERIFY,
    SANDBOX_SHARED,
    SEED,
    TASK,
    ExperimentOptions,
    add_to_parser,
    budget_options,
)


def add_metric_options(p: argparse.ArgumentParser) -> None:
    """``--metric NAME`` and ``--direction min|max``: override the task's metric."""
    add_to_parser(p, (METRIC, DIRECTION))


def add_budget_options(p: argparse.ArgumentParser, *, stage: str = "the run") -> None:
    """``--token-budget``, ``--cost-budget`` and ``--deadline`` (defaults: MLRCopilot settings)."""
    g = p.add_argument_group("budgets (a budget stop is a normal end: exit 0, the reason in the "
                             "summary)")
    add_to_parser(g, budget_options(stage))


def add_run_options(p: argparse.ArgumentParser, *, task_required: bool = True) -> None:
    task = TASK.but(required=task_required,
                    help=TASK.help + ("" if task_required else "; not needed with --resume"))
    add_to_parser(p, (task, MAX_STEPS, METRIC, DIRECTION, MODE, SEED, CELL_TIMEOUT,
                      *SANDBOX_SHARED, MEMORY_LIMIT, NO_VERIFY))
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    add_budget_options(p, stage="the experiment run")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "experiment",
        parents=[common],
        help="run an experiment on a task: cells are generated, run, debugged and verified",
        description="Turn a plan (an idea from 'mlr-copilot ideas', or free text) plus a task into "
        "notebook cells, run them in a Jupyter kernel, debug and improve, and verify the best "
        "result. OUT gets experiment.ipynb (the record), journal.json, report.md and metric.png.",
    )
    add_run_options(p, task_required=False)
    plan = p.add_mutually_exclusive_group()
    plan.add_argument("--idea", metavar="FILE#ID",
                      help="an idea from an ideas JSON (mlr-copilot ideas --out) or state.json; "
                           "without #ID the top-ranked one")
    plan.add_argument("--plan", metavar="TEXT", help="a free-text experiment plan")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="DIR", help="the new run's folder")
    where.add_argument("--resume", metavar="DIR", help="continue an interrupted run in DIR")
    p.set_defaults(func=run)


def load_idea(spec: str) -> Any:
    from ..errors import InputError
    from ..models import Idea

    path, _, idea_id = spec.partition("#")
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"idea file {file} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"idea file {file} is not JSON ({exc})") from None
    ideas = data.get("ideas") if isinstance(data, dict) else data
    if not isinstance(ideas, list) or not ideas:
        raise InputError(f"idea file {file} has no ideas", hint="make one with mlr-copilot ideas --out")
    chosen = next((i for i in ideas if i.get("id") == idea_id), None) if idea_id else ideas[0]
    if chosen is None:
        known = ", ".join(str(i.get("id")) for i in ideas)
        raise InputError(f"no idea {idea_id!r} in {file}", hint=f"known: {known}")
    return Idea.model_validate(chosen)


def terminal_approver(node: Any) -> Any:
    """Ask on the terminal whether to run a proposed cell (approve mode)."""
    from ..types import Approval

    print(f"\n--- {node.id} {node.kind}: {node.title}\n{node.plan}\n\n{node.code}", file=sys.stderr)
    while True:
        print("[a]pprove, [e]dit, [r]eject? ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer in {"a", "approve", ""}:
            return Approval("approve")
        if answer in {"r", "reject"}:
            print("comment for the agent: ", end="", file=sys.stderr, flush=True)
            return Approval("reject", comment=sys.stdin.readline().strip())
        if answer in {"e", "edit"}:
            editor = os.environ.get("EDITOR", "vi")
            with tempfile.NamedTemporaryFile("w+", suffix=".py", delete=False) as handle:
                handle.write(node.code)
            subprocess.call([editor, handle.name])
            code = Path(handle.name).read_text(encoding="utf-8")
            os.unlink(handle.name)
            return Approval("edit", code=code)


def progress_printer(event: str, data: dict[str, Any]) -> None:
    from ..llm.display import echo  # above any LLM progress line, not through it

    node = data.get("node")
    if event == "node_started" and node is not None:
        echo(f"[{node.id}] {node.kind}{' of ' + node.parent if node.parent else ''}: {node.title} ...")
    elif event == "node_finished" and node is not None:
        metric = f" {node.metric:.6g}" if node.metric is not None else ""
        detail = f" ({node.error})" if node.error else ""
        if node.status == "no_metric" and node.message:
            detail = f" ({node.message})"
        echo(f"[{node.id}] {node.status}{metric}{detail} in {node.elapsed:.1f}s")
    elif event == "verify_started":
        echo("verifying the best result in a fresh kernel and a fresh workspace ...")


def run_until_done(coro: Any) -> Any:
    """Run ``coro`` through :func:`~mlr_copilot_jupyter.aio.run_sync` (this thread's one event
    loop), where Ctrl-C or SIGTERM cancels the run (which saves its record first).

    A second Ctrl-C while the run is saving only prints a note: stopping the save half-way is
    what would lose the record.
    """
    from ..aio import run_sync

    async def main() -> Any:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        presses = 0

        def on_signal() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                task.cancel()
            else:
                print("(still saving the record; it takes a moment)", file=sys.stderr, flush=True)

        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread / not POSIX: default handling
            else:
                installed.append(sig)
        try:
            return await task
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        finally:  # the loop outlives the run: give the signals back (SIGINT raises again)
            for sig in installed:
                loop.remove_signal_handler(sig)

    try:
        return run_sync(main())
    except KeyboardInterrupt:
        from .common import ignore_ctrl_c

        ignore_ctrl_c()  # the loop's handler is gone: a second press would kill the process
        raise


def execute(copilot: Any, args: argparse.Namespace, **kwargs: Any) -> dict[str, Any]:
    from ..errors import InputError
    from ..types import Hooks

    options = ExperimentOptions.from_args(args)  # every run option, each checked once
    if options.mode == "approve" and not sys.stdin.isatty():
        raise InputError("--mode approve needs an interactive terminal",
                         hint="use the notebook (%mlr_experiment --mode approve) or --mode auto")
    hooks = Hooks(on_event=progress_printer,
                  approve=terminal_approver if options.mode == "approve" else None)
    agent = copilot.prepare_experiment(
        args.task, hooks=hooks, options=options, metric=getattr(args, "metric", None),
        direction=getattr(args, "direction", None), **kwargs)
    try:
        return run_until_done(copilot.arun_experiment(agent))
    except KeyboardInterrupt:
        from .common import Interrupted

        # printed by main() once the progress lines are gone; exit status 130
        raise Interrupted(f"mlr-copilot: interrupted; the record is saved. Resume with: "
                          f"mlr-copilot experiment --resume {agent.run_dir}") from None


def print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.6g}"

    gain, test_gain = summary["relative_improvement"], summary.get("test_improvement")
    which = "validation " if summary.get("selection") == "validation" else ""
    print(f"run {summary['run_id']}: {summary['status']}")
    if summary.get("message"):
        print(f"  note: {summary['message']}")
    for warning in summary.get("warnings") or []:
        print(f"  WARNING: {warning}")
    print(f"  sandbox: {summary.get('sandbox', 'not recorded')}")
    print(f"  metric: {summary['metric']} ({summary['direction']}); "
          f"{summary.get('metric_evidence') or 'given by the task'}")
    print(f"  selection: {summary.get('selection_note', '')}")
    if summary.get("validation"):
        print(f"  validation of the baseline: {summary['validation']}")
    if summary.get("answers_held_out"):
        print(f"  answers kept out of the workspace: {'; '.join(summary['answers_held_out'])}")
    print(f"  baseline {which}{summary['metric']}: {fmt(summary['baseline_metric'])}")
    print(f"  best verified {which}{summary['metric']}: {fmt(summary['best_metric'])} "
          f"(node {summary['best_node']})"
          + (f", {gain:+.1%} relative" if gain is not None else ""))
    if summary.get("selection") in {"validation", "test"}:
        print(f"  held-out test ({summary.get('test_source') or 'no scorer'}): "
              f"{fmt(summary.get('baseline_test_metric'))} -> "
              f"{fmt(summary.get('best_test_metric'))}"
              + (f", {test_gain:+.1%} relative" if test_gain is not None else ""))
    usage = summary.get("usage") or {}
    if usage.get("calls"):
        cost = usage.get("cost")
        print(f"  LLM usage: {usage['total_tokens']} tokens in {usage['calls']} calls"
              + (f", cost {cost:.4g}" if cost is not None else ""))
    print(f"  record: {summary['record']}\n  report: {summary['report']}")


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..errors import InputError
    from .common import settings_overrides

    if not args.task and not args.resume:
        raise InputError("--task is required to start a run", hint="or --resume DIR to continue one")
    copilot = Copilot(**settings_overrides(args))
    idea = load_idea(args.idea) if args.idea else None
    summary = execute(copilot, args, idea=idea, plan=args.plan or "", out=args.out,
                      resume=args.resume)
    print_summary(summary, args.json)
    return 0
