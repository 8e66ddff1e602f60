"""Creating, running and resuming experiment runs in ``<run_root>/<run-id>/``.

The runner owns what the agent is handed (aideml's shape): it fills the run's options with the
task's defaults (:func:`fill_task_defaults`, on new runs and on resume alike), builds the
:class:`~.runtime.TaskRuntime`, starts and stops the kernel the search runs in, and runs the
stages of a run (:func:`arun`): the agent's search, then verification of the best node.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import secrets
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import InputError, MLRCopilotError
from ..llm.base import Backend, usage_scope
from ..llm.budget import Spend
from ..models import Idea, Paper, ResearchProblem
from .agent import ExperimentAgent, Hooks, RunOptions
from .journal import JOURNAL_FILE, Journal
from .policies import policy_for
from .record import RECORD_FILE, RecordNotebook
from .report import RunSummary, write_report
from .runtime import TaskRuntime, run_sandbox
from .task import Task, load_task
from .verify import verify_best


def new_run_id(task_name: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{task_name}-{secrets.token_hex(2)}"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "mlr-copilot-jupyter": __version__}
    for name in ("numpy", "pandas", "scikit-learn", "nbclient", "openai"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


def fill_task_defaults(options: RunOptions, task: Task) -> RunOptions:
    """The run's options with the task's ``[budget]`` where the user gave none.

    The one place a run gets its step budget, per-cell timeout and wall time, on new runs and on
    resume. The result is checked again like any :class:`RunOptions` (one-line errors).
    """
    budget = task.budget
    return dataclasses.replace(
        options,
        max_steps=budget.max_steps if options.max_steps is None else options.max_steps,
        cell_timeout=budget.cell_timeout_s if options.cell_timeout is None else options.cell_timeout,
        wall_time=budget.wall_time_s if options.wall_time is None else options.wall_time)


def task_runtime(task: Task, run_dir: Path, record: RecordNotebook,
                 options: RunOptions) -> TaskRuntime:
    """The real runtime of a run: kernels (confined as ``options`` say), workspaces, scorers."""
    _, cell_timeout, _ = options.budgets()
    return TaskRuntime(
        task, run_dir, setup_code=record.setup_sources(),  # re-run after every restart
        kernel_name=options.kernel_name, cell_timeout=cell_timeout,
        memory_limit_mb=options.memory_limit_mb, cpu_time_limit_s=options.cpu_time_limit_s,
        env_deny=options.extra_env_deny,
        sandbox=run_sandbox(options.sandbox, options.sandbox_network))


def create_run(task: Task, backend: Backend, *, run_root: Path, options: RunOptions,
               idea: Idea | None = None, plan_text: str = "", paper: Paper | None = None,
               problem: ResearchProblem | None = None, hooks: Hooks | None = None,
               run_dir: Path | None = None, context: str = "") -> ExperimentAgent:
    """Make the run folder (workspace, record notebook, journal) and an agent ready to run it.

    ``context`` (the notebook context the researcher consented to send) goes into every step's
    prompt, and verbatim into the record and the journal.
    """
    options = fill_task_defaults(options, task)
    run_id = run_dir.name if run_dir else new_run_id(task.name)
    run_dir = (run_dir or Path(run_root) / run_id).resolve()
    if (run_dir / JOURNAL_FILE).exists():
        raise InputError(f"{run_dir} already holds a run", hint="use --resume to continue it")
    sandbox = run_sandbox(options.sandbox, options.sandbox_network, warn=True)  # before any file
    workspace = task.prepare_workspace(run_dir)
    held_out = [a.describe() for a in task.answer_files()]
    model = backend.model_name
    meta = {
        "run_id": run_id,
        "task": {"name": task.name, "path": str(task.root), "description": task.description,
                 "metric": task.metric.model_dump(), "layout": task.layout,
                 "metric_evidence": task.metric_evidence, "metric_origin": task.metric_origin,
                 "warnings": list(task.warnings)},
        "idea": idea.model_dump() if idea else None,
        "plan_text": plan_text or None,
        "paper": {"title": paper.title, "source": paper.source} if paper else None,
        "problem": problem.model_dump(exclude={"related_works"}) if problem else None,
        "backend": backend.name, "model": model, "engine": backend.describe(),
        "sandbox": sandbox.to_dict(),
        "answers_held_out": held_out,
        "versions": versions(),
    }
    title = f"Experiment {run_id}"
    what = idea.hypothesis if idea else (plan_text.strip()[:500] or task.description.strip()[:500])
    # the paper's cited results the idea builds on (issue 27): in the record and the report
    builds_on = ([r.line() for r in problem.results_used_by(idea)]
                 if idea is not None and problem is not None else [])
    evidence = task.metric_evidence or "given by the task"
    warnings = list(task.warnings)
    intro = (f"**Task:** {task.name} — metric {task.metric.name} ({task.metric.direction}; "
             f"{evidence}).\n\n"
             + "".join(f"**Warning:** {w}\n\n" for w in warnings) +
             f"**Testing:** {what}\n\n"
             + "".join(f"**Builds on the paper's result:** {line}\n\n" for line in builds_on)
             + f"**Sandbox:** {sandbox.describe()}.\n\n"
             + (f"**Answers kept out of the workspace:** {'; '.join(held_out)}: the agent's "
                "copy has them blanked, eval.py scores with the originals.\n\n"
                if held_out else "") +
             f"**Engine:** {backend.describe()}. Generated cells carry "
             "`mlr_copilot` metadata; failed attempts are kept as raw cells.")
    record = RecordNotebook.create(run_dir / RECORD_FILE, title=title, intro=intro, metadata=meta,
                                   seed=options.seed, data_dir=str(workspace))
    if context:
        record.record_context(context, read_by_llm=backend.capabilities.reads_context)
    journal = Journal(run_id=run_id, task=task.name, metric_name=task.metric.name,
                      direction=task.metric.direction, metric_evidence=evidence,
                      metric_origin=task.metric_origin, warnings=warnings,
                      sandbox=sandbox.to_dict(), answers_held_out=held_out,
                      settings={"task_path": str(task.root), "options": dataclasses.asdict(options),
                                "metric": {**task.metric.model_dump(),
                                           "origin": task.metric_origin},
                                "idea": meta["idea"], "plan_text": plan_text,
                                "builds_on": builds_on, "context": context or None})
    journal.save(run_dir / JOURNAL_FILE)
    return ExperimentAgent(task, run_dir, policy_for(backend),
                           runtime=task_runtime(task, run_dir, record, options),
                           journal=journal, record=record, options=options, idea=idea,
                           plan_text=plan_text, hooks=hooks, context=context)


def resume_run(run_dir: Path, backend: Backend, *, hooks: Hooks | None = None,
               max_steps: int | None = None,
               limits: dict[str, Any] | None = None) -> ExperimentAgent:
    """An agent that continues an interrupted run from its journal and record.

    ``limits`` (token_budget, cost_budget, deadline, prices) replace the run's own; the deadline
    counts from the resume, the budgets count the whole run's usage. A new ``max_steps`` is
    checked like a new run's.
    """
    run_dir = Path(run_dir).resolve()
    journal = Journal.load(run_dir / JOURNAL_FILE)
    record = RecordNotebook.load(run_dir / RECORD_FILE)
    settings = journal.settings
    task = load_task(settings["task_path"])
    chosen = settings.get("metric") or {}
    if chosen.get("origin") == "override":
        task = task.with_metric(chosen.get("name"), chosen.get("direction"))  # --metric/--direction
    fields = {f.name for f in dataclasses.fields(RunOptions)}
    raw = {k: v for k, v in settings.get("options", {}).items() if k in fields}
    if "extra_env_deny" in raw:
        raw["extra_env_deny"] = tuple(raw["extra_env_deny"])
    steps = {} if max_steps is None else {"max_steps": max_steps}
    options = fill_task_defaults(RunOptions(**{**raw, **(limits or {}), **steps}), task)
    journal.sandbox = run_sandbox(options.sandbox, options.sandbox_network, warn=True).to_dict()
    journal.settings.setdefault("options", {}).update(limits or {})  # a later resume keeps them
    for node in journal.nodes:  # a cell that was running when the run died did not finish
        if node.status == "pending":
            node.status, node.error = "error", "interrupted before the cell finished"
            record.record_node(node, outcome="**Interrupted** before the cell finished.")
    if journal.status == "done":
        journal.message = "resumed a finished run"
    idea = Idea.model_validate(settings["idea"]) if settings.get("idea") else None
    return ExperimentAgent(task, run_dir, policy_for(backend),
                           runtime=task_runtime(task, run_dir, record, options),
                           journal=journal, record=record, options=options, idea=idea,
                           plan_text=settings.get("plan_text") or "", hooks=hooks,
                           context=settings.get("context") or "",
                           lost_state=True)  # a new kernel: earlier variables are gone


async def arun(agent: ExperimentAgent) -> Journal:
    """The stages of a run: the agent's search in the run's kernel (started and stopped here),
    then verification of the best node; returns the journal (saved, whatever happened)."""
    executor = agent.runtime.executor(agent.workspace, label="main")
    try:
        async with agent.running():
            await executor.astart()
            await agent.search(executor)
            await _verify(agent)
    finally:
        await executor.ashutdown(now=agent.journal.status == "interrupted")
        await agent.emit("run_finished", status=agent.journal.status)
    return agent.journal


async def _verify(agent: ExperimentAgent) -> None:
    """Verification (:mod:`.verify`), unless it is off or a limit ended the run."""
    journal = agent.journal
    if not agent.options.verify or journal.stopped_by:
        agent.keep_unverified_best()
        return
    with usage_scope() as meter:
        try:
            await agent.emit("verify_started")
            await verify_best(agent)
            if journal.best_node is None:
                agent.note("no result could be verified")
            await agent.emit("verify_finished", best=journal.best_node)
        finally:
            journal.verify_usage += Spend.of(meter.total, agent.limits.prices)


async def arun_to_report(agent: ExperimentAgent) -> RunSummary:
    """Run the agent's stages (:func:`arun`), then write ``report.md``, the plot and the
    record's summary cell."""
    try:
        await arun(agent)
    except BaseException:
        with contextlib.suppress(MLRCopilotError):  # the first error is the one to report
            # interrupted: the user waits on it; the plot (~1 s of matplotlib) comes with --resume
            _finish_report(agent, plot=agent.journal.status != "interrupted")
        raise
    return _finish_report(agent)


def _finish_report(agent: ExperimentAgent, *, plot: bool = True) -> RunSummary:
    written = write_report(agent.journal, agent.run_dir, plot=plot)
    agent.record.set_summary(written.markdown, png=written.png)
    return written.summary
