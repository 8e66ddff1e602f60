"""Benchmark the ExperimentAgent: tasks x seeds, then success rate and mean relative improvement.

A run succeeds when its verified best result improves on the baseline by at least 10% relative
(MLAgentBench's criterion, arXiv 2310.03302, also used by MLR-Copilot, arXiv 2408.14033). A run
with no verified result counts as a failure with 0% improvement: the researcher keeps the baseline.
Files written to ``OUT``: ``bench.csv`` (one row per run), ``bench.md`` (per-task table, overall
line, the command) and ``bench.png`` (mean improvement per task with standard-error bars).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes, atomic_write_text
from .errors import InputError

SUCCESS_THRESHOLD = 0.10
CSV_FILE, MARKDOWN_FILE, PLOT_FILE = "bench.csv", "bench.md", "bench.png"


@dataclass
class BenchRun:
    """One run of the agent on one task with one seed."""

    task: str
    seed: int
    status: str
    metric: str = ""
    selection: str = ""
    baseline_metric: float | None = None  # the selection (validation) metric
    best_metric: float | None = None
    baseline_test: float | None = None  # the held-out test metric of the node selected
    best_test: float | None = None
    verified: bool = False
    validation_improvement: float | None = None
    relative_improvement: float | None = None  # on the test metric when the task has one
    success: bool = False
    steps: int = 0
    error: str = ""
    run_dir: str = ""

    @property
    def gain(self) -> float:
        """The improvement counted in the aggregates (0 when nothing verified beat the baseline)."""
        return self.relative_improvement if self.verified and self.relative_improvement is not None \
            else 0.0


@dataclass
class TaskScore:
    """Per-task aggregate over seeds."""

    task: str
    runs: int
    baseline_mean: float | None
    best_mean: float | None
    baseline_test_mean: float | None
    best_test_mean: float | None
    selection: str
    improvement_mean: float
    improvement_se: float | None
    success_rate: float


def mean_se(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and standard error of the mean (sample SD / sqrt(n)); SE is None for fewer than 2."""
    if not values:
        raise ValueError("mean_se needs at least one value")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    return mean, statistics.stdev(values) / math.sqrt(len(values))


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def score_tasks(runs: Sequence[BenchRun]) -> tuple[list[TaskScore], dict[str, Any]]:
    """Per-task scores (in first-seen task order) and the overall figures over all runs."""
    by_task: dict[str, list[BenchRun]] = {}
    for run in runs:
        by_task.setdefault(run.task, []).append(run)
    scores = []
    for task, group in by_task.items():
        mean, se = mean_se([r.gain for r in group])
        scores.append(TaskScore(
            task=task, runs=len(group),
            baseline_mean=_mean_or_none([r.baseline_metric for r in group]),
            best_mean=_mean_or_none([r.best_metric for r in group if r.verified]),
            baseline_test_mean=_mean_or_none([r.baseline_test for r in group]),
            best_test_mean=_mean_or_none([r.best_test for r in group if r.verified]),
            selection="/".join(sorted({r.selection for r in group if r.selection})) or "—",
            improvement_mean=mean, improvement_se=se,
            success_rate=sum(r.success for r in group) / len(group)))
    mean, se = mean_se([r.gain for r in runs]) if runs else (0.0, None)
    overall = {"runs": len(runs), "successes": sum(r.success for r in runs),
               "success_rate": sum(r.success for r in runs) / len(runs) if runs else 0.0,
               "improvement_mean": mean, "improvement_se": se}
    return scores, overall


def run_from_summary(task: str, seed: int, summary: dict[str, Any]) -> BenchRun:
    """One bench row; its improvement is on the held-out test metric when the task has one."""
    selection = summary.get("selection") or ""
    gain = summary.get("test_improvement") if selection in {"validation", "test"} \
        else summary.get("relative_improvement")
    verified = bool(summary.get("verified"))
    return BenchRun(task=task, seed=seed, status=summary.get("status", ""),
                    metric=summary.get("metric", ""), selection=selection,
                    baseline_metric=summary.get("baseline_metric"),
                    best_metric=summary.get("best_metric") if verified else None,
                    baseline_test=summary.get("baseline_test_metric"),
                    best_test=summary.get("best_test_metric") if verified else None,
                    verified=verified, relative_improvement=gain,
                    validation_improvement=summary.get("relative_improvement"),
                    success=verified and gain is not None and gain >= SUCCESS_THRESHOLD,
                    steps=summary.get("steps", 0), error=summary.get("message", ""),
                    run_dir=summary.get("run_dir", ""))


def run_dir_for(out: Path, task: str, seed: int) -> Path:
    return Path(out) / Path(task).name / f"seed{seed}"


def check_plan(tasks: Sequence[str], seeds: int, out: Path) -> None:
    """Refuse, before anything runs, a seed count below 1 or a run folder that already exists."""
    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    if not tasks:
        raise InputError("no tasks to benchmark", hint="name a task folder or a bundled task")
    taken = [run_dir_for(out, t, k) for t in tasks for k in range(seeds)
             if run_dir_for(out, t, k).exists()]
    if taken:
        raise InputError(f"{taken[0]} already exists", hint="choose a new --out folder")


@dataclass(frozen=True)
class BenchPlan:
    """Tasks x seeds to run into ``out`` with the same run options; checked when made (a bad
    ``max_steps``, metric override, seed count or an ``out`` that holds runs is refused)."""

    tasks: tuple[str, ...]
    seeds: int
    out: Path
    max_steps: int | None = None
    metric: str | None = None
    direction: str | None = None

    def __post_init__(self) -> None:
        from .experiment.options import check_max_steps
        from .experiment.task import check_metric_override

        check_max_steps(self.max_steps)
        check_metric_override(self.metric, self.direction)
        check_plan(self.tasks, self.seeds, self.out)

    @property
    def runs(self) -> int:
        return len(self.tasks) * self.seeds


@dataclass
class BenchReport:
    """What :func:`write_bench` wrote: scores per task, the overall line, the files."""

    data: dict[str, Any]

    @property
    def table(self) -> str:
        return str(self.data["table"])

    @property
    def files(self) -> dict[str, str | None]:
        return dict(self.data["files"])

    def overall_line(self) -> str:
        return overall_line(self.data["overall"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: tasks, overall, runs, command and files (not the markdown table)."""
        return {k: v for k, v in self.data.items() if k != "table"}


def run_bench(copilot: Any, plan: BenchPlan, *, command: str,
              on_run: Callable[[BenchRun], Any] | None = None) -> BenchReport:
    """Run ``plan`` with ``copilot`` and write bench.csv / .md / .png. Ctrl-C writes the runs
    that finished (the command marked ``# interrupted``) and re-raises."""
    from .aio import run_sync

    engine = copilot.backend.describe()
    done: list[BenchRun] = []

    def finished(run: BenchRun) -> None:
        done.append(run)
        if on_run is not None:
            on_run(run)

    try:
        run_sync(arun_bench(copilot, plan.tasks, plan.seeds, plan.out, max_steps=plan.max_steps,
                            metric=plan.metric, direction=plan.direction, on_run=finished))
    except KeyboardInterrupt:
        if done:  # keep what finished: the table of a partial benchmark is still useful
            write_bench(done, plan.out, command=command + "  # interrupted")
        raise
    return BenchReport(write_bench(done, plan.out, command=command, engine=engine))


async def arun_bench(copilot: Any, tasks: Sequence[str], seeds: int, out: Path, *,
                     max_steps: int | None = None, metric: str | None = None,
                     direction: str | None = None,
                     on_run: Callable[[BenchRun], Any] | None = None) -> list[BenchRun]:
    """Run the agent on every task x seed (seeds 0..seeds-1), one after the other.

    ``metric`` / ``direction`` override every task's metric (``--metric`` / ``--direction``).

    A run that raises is recorded as ``failed`` and the benchmark goes on; Ctrl-C stops it.
    """
    check_plan(tasks, seeds, out)
    runs: list[BenchRun] = []
    for task in tasks:
        name = Path(task).name
        for seed in range(seeds):
            run_dir = run_dir_for(out, task, seed)
            try:
                agent = copilot.prepare_experiment(task, out=run_dir, seed=seed,
                                                   max_steps=max_steps, metric=metric,
                                                   direction=direction)
                run = run_from_summary(name, seed, await copilot.arun_experiment(agent))
            except Exception as exc:
                run = BenchRun(task=name, seed=seed, status="failed",
                               error=f"{type(exc).__name__}: {exc}"[:300], run_dir=str(run_dir))
            runs.append(run)
            if on_run is not None:
                on_run(run)
    return runs


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def markdown_table(scores: Sequence[TaskScore]) -> str:
    lines = ["| task | runs | selected on | validation: baseline → best (mean) | "
             "test: baseline → best (mean) | test improvement (mean ± SE) | "
             "success rate (≥ 10%) |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for s in scores:
        se = "" if s.improvement_se is None else f" ± {s.improvement_se * 100:.1f}%"
        valid = (f"{_num(s.baseline_mean)} → {_num(s.best_mean)}" if s.selection == "validation"
                 else "—")
        test = (f"{_num(s.baseline_test_mean)} → {_num(s.best_test_mean)}"
                if s.selection in {"validation", "test"}
                else f"{_num(s.baseline_mean)} → {_num(s.best_mean)} (no held-out split)")
        lines.append(f"| {s.task} | {s.runs} | {s.selection} | {valid} | {test} | "
                     f"{_pct(s.improvement_mean)}{se} | {s.success_rate:.0%} |")
    return "\n".join(lines)


def overall_line(overall: dict[str, Any]) -> str:
    se = overall["improvement_se"]
    return (f"**Overall:** success rate {overall['success_rate']:.0%} "
            f"({overall['successes']}/{overall['runs']} runs), mean relative improvement "
            f"{_pct(overall['improvement_mean'])}"
            + ("" if se is None else f" ± {se * 100:.1f}% (SE over {overall['runs']} runs)"))


def bench_plot(scores: Sequence[TaskScore]) -> bytes:
    """PNG: mean relative improvement per task, SE error bars, dashed line at the 10% criterion."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(5.0, 1.2 * len(scores) + 2), 3.6), dpi=100)
    ax = fig.add_subplot()
    bars = ax.bar([s.task for s in scores], [s.improvement_mean * 100 for s in scores],
                  yerr=[(s.improvement_se or 0.0) * 100 for s in scores], capsize=4)
    ax.bar_label(bars, fmt="%+.1f%%", label_type="center", color="white", fontsize="small")
    ax.axhline(SUCCESS_THRESHOLD * 100, linestyle="--", color="tab:red",
               label=f"success criterion ({SUCCESS_THRESHOLD:.0%})")
    ax.set_ylabel("relative improvement (%)")
    ax.set_title("Improvement over the baseline (mean ± SE over seeds)", fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_bench(runs: Sequence[BenchRun], out: Path, *, command: str,
                engine: str = "") -> dict[str, Any]:
    """Write bench.csv, bench.md and bench.png to ``out``; return scores, overall and paths."""
    out = Path(out)
    scores, overall = score_tasks(runs)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(BenchRun)],
                            lineterminator="\n")
    writer.writeheader()
    for run in runs:
        writer.writerow(asdict(run))
    atomic_write_text(out / CSV_FILE, buffer.getvalue())
    table = markdown_table(scores)
    body = [f"# Benchmark: {len(scores)} task(s) x {len({r.seed for r in runs})} seed(s)", "",
            table, "", overall_line(overall), "",
            "The search selects on the validation metric the cells report; the node it selects "
            "is verified (replayed in a fresh kernel and workspace) and only then scored on the "
            "held-out test split. A run succeeds when that test score beats the baseline's by "
            "≥ 10% relative (MLAgentBench's criterion); a run with no verified result counts as "
            "0%. 'selected on: test' marks tasks without validation data (optimistic), "
            "'reported' tasks without a held-out split.", "",
            f"Command: `{command}`"]
    if engine:
        body += ["", f"Engine: {engine}"]
    atomic_write_text(out / MARKDOWN_FILE, "\n".join(body) + "\n")
    if scores:
        atomic_write_bytes(out / PLOT_FILE, bench_plot(scores))
    return {"tasks": [asdict(s) for s in scores], "overall": overall,
            "runs": [asdict(r) for r in runs], "table": table, "command": command,
            "files": {"csv": str(out / CSV_FILE), "markdown": str(out / MARKDOWN_FILE),
                      "plot": str(out / PLOT_FILE) if scores else None}}
