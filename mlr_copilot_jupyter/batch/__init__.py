"""Batch runs: execute notebooks over a parameter grid with papermill, locally or on Dask.

Each (notebook, parameters) execution writes ``OUT/<notebook>/<notebook>__<name=value>....ipynb``;
``OUT/results.csv`` has one row per execution (parameters, status, error, metrics),
``OUT/summary.csv`` the mean and standard error per configuration, ``OUT/summary.png`` a bar plot.
A failing execution is a ``failed`` row, never a stop; Ctrl-C saves what finished and re-raises.
"""

from __future__ import annotations

import html
import queue
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write_text
from ..errors import InputError
from .executors import check_kernel, execute_job, job_for, make_executor, one_line
from .grid import Grid, cross, execution_name, format_value, load_grid, normalise_grid
from .results import BASE_COLUMNS, METRIC_AGGS, aggregate, plot_summary, results_table, summary

if TYPE_CHECKING:
    import pandas as pd

    from ..options_spec import BatchOptions

__all__ = ["BatchInterrupted", "BatchResult", "Execution", "batch", "run_batch", "run_options",
           "summary"]


@dataclass(frozen=True)
class Execution:
    """One notebook run with one set of parameters."""

    index: int
    notebook: Path
    label: str
    parameters: dict[str, Any]
    output: Path


@dataclass(repr=False)
class BatchResult:
    """The tables and files of a batch (``interrupted`` when Ctrl-C stopped it)."""

    table: pd.DataFrame
    summary: pd.DataFrame
    out_dir: Path
    results_csv: Path
    summary_csv: Path
    plot: Path | None
    executor: str = ""
    interrupted: bool = False

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of failed executions."""
        return self.table[self.table["status"] == "failed"]

    def failed_names(self, limit: int = 5) -> str:
        """The failed executions as ``name (error); ...``, at most ``limit`` of them."""
        failed = self.failed
        named = [f"{Path(row.output).stem} ({row.error})" for row in failed.head(limit).itertuples()]
        more = f"; and {len(failed) - limit} more" if len(failed) > limit else ""
        return "; ".join(named) + more

    def __repr__(self) -> str:
        return (f"BatchResult({len(self.table)} executions, {len(self.failed)} failed, "
                f"out_dir={str(self.out_dir)!r})")

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>{self.summary.to_html(index=False)}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: file paths, rows and summary (NaN becomes null)."""
        import json

        return {
            "out_dir": str(self.out_dir), "results_csv": str(self.results_csv),
            "summary_csv": str(self.summary_csv), "plot": str(self.plot) if self.plot else None,
            "executor": self.executor, "interrupted": self.interrupted,
            "rows": json.loads(self.table.to_json(orient="records")),
            "summary": json.loads(self.summary.to_json(orient="records")),
        }


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a batch; ``result`` holds the finished rows (the rest are ``cancelled``)."""

    def __init__(self, result: BatchResult) -> None:
        self.result = result
        super().__init__("batch interrupted")

    def report(self) -> str:
        """``interrupted; N of M executions finished, saved in results.csv``."""
        table = self.result.table
        done = int((table["status"] != "cancelled").sum())
        return (f"interrupted; {done} of {len(table)} executions finished, "
                f"saved in {self.result.results_csv}")


def check_notebook(path: str | Path) -> Path:
    """The absolute path of a readable ``.ipynb``; InputError naming the file otherwise."""
    import nbformat

    file = Path(path).expanduser()
    if not file.exists():
        raise InputError(f"notebook {file} does not exist")
    if not file.is_file() or file.suffix != ".ipynb":
        raise InputError(f"{file} is not a Jupyter notebook (.ipynb file)")
    try:
        nbformat.read(file, as_version=4)
    except Exception as exc:
        raise InputError(f"notebook {file} cannot be read ({one_line(exc, 120)})") from None
    return file.resolve()


def check_parameters(notebooks: Sequence[Path], grid: Grid) -> list[str]:
    """Warnings for grid names missing from a notebook's ``parameters`` cell (typos, mostly)."""
    import papermill

    names = list(dict.fromkeys(k for entry in grid for k in entry))
    warnings = []
    for notebook in notebooks:
        try:
            declared = papermill.inspect_notebook(str(notebook))
        except Exception:  # a language papermill cannot parse: nothing to check against
            continue
        missing = [n for n in names if n not in declared]
        if missing:
            where = "has no parameters cell" if not declared else "does not declare"
            warnings.append(f"{notebook.name} {where} {', '.join(missing)}; papermill injects "
                            "the value anyway")
    return warnings


def run_options(options: BatchOptions, warn: Callable[[str], None]) -> BatchResult:
    """:func:`run_batch` from the typed options that ``mlr-copilot batch``, ``%mlr_batch`` and
    the MCP server build (:class:`~..options_spec.BatchOptions`, already range-checked).
    ``warn`` gets each grid name a notebook does not declare.
    """
    from .grid import build_grid

    grid = build_grid([list(p) for p in options.params] or None, options.grid)
    notebooks = [check_notebook(nb) for nb in options.notebooks]
    for warning in check_parameters(notebooks, grid):
        warn(warning)
    mode = options.sandbox
    if not mode:  # not given: the setting ($MLR_COPILOT_SANDBOX, %config MLRCopilot.sandbox)
        from ..config import MLRCopilot

        mode = MLRCopilot().sandbox
    return run_batch(notebooks, grid, options.out, workers=options.workers,
                     scheduler=options.scheduler, kernel_name=options.kernel,
                     timeout=options.timeout, retries=options.retries,
                     progress=options.progress, metric_agg=options.metric_agg,
                     sandbox=mode, sandbox_network=options.sandbox_network, warn=warn)


def plan(notebooks: Sequence[Path], grid: Grid, out_dir: Path) -> list[Execution]:
    """The executions, notebook by notebook, with unique labels and output paths."""
    stems = [nb.stem for nb in notebooks]
    labels: list[str] = []
    for nb in notebooks:
        label = nb.stem if stems.count(nb.stem) == 1 else f"{nb.parent.name}-{nb.stem}"
        while label in labels:
            label += "-2"
        labels.append(label)
    executions: list[Execution] = []
    for nb, label in zip(notebooks, labels, strict=True):
        seen: set[str] = set()
        for params in grid:
            name, repeat = execution_name(label, params), 2
            while name in seen:
                name, repeat = f"{execution_name(label, params)}__run{repeat}", repeat + 1
            seen.add(name)
            executions.append(Execution(len(executions), nb, label, dict(params),
                                        out_dir / label / f"{name}.ipynb"))
    return executions


def _outcome(future: Any) -> dict[str, Any]:
    try:
        return dict(future.result())
    except (Exception, SystemExit) as exc:  # the worker itself failed (died, killed, broken pool)
        return _outcome_error(exc)


def _table_value(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else format_value(value)


def run_batch(notebooks: Sequence[str | Path], grid: Grid | Mapping[str, Any] | None,
              out_dir: str | Path, *, workers: int = 2, scheduler: str | None = None,
              kernel_name: str | None = None, timeout: float | None = None, retries: int = 0,
              progress: bool = True, metric_agg: str = "last", sandbox: str = "auto",
              sandbox_network: bool = False,
              warn: Callable[[str], None] | None = None) -> BatchResult:
    """Execute every notebook with every parameter dict of ``grid``; write and return the results.

    ``scheduler``: None runs a local process pool of ``workers``; ``"local"`` a new Dask
    LocalCluster with ``workers`` single-threaded processes; ``"tcp://host:port"`` an existing Dask
    scheduler (its workers must see the same paths). ``timeout`` is seconds per cell.
    ``retries`` re-runs a failed execution up to that many times. ``metric_agg`` reduces metrics
    reported several times in one notebook ("last", "max" or "min"; see :mod:`.results`).
    ``sandbox`` (auto, require, off) confines each kernel with bubblewrap, the notebook's folder
    its only writable place (see :mod:`..kernels.sandbox`); ``warn`` gets the line saying why
    ``auto`` runs unconfined. Raises :class:`BatchInterrupted` (a KeyboardInterrupt) after
    saving, on Ctrl-C.
    """
    from tqdm.auto import tqdm

    from ..kernels.sandbox import confine
    from ..options_spec import BATCH_RETRIES, BATCH_TIMEOUT, WORKERS

    # the options' one range check each (as --workers, --retries, --timeout), named as here
    WORKERS.check(workers, label="workers")
    BATCH_RETRIES.check(retries, label="retries")
    BATCH_TIMEOUT.check(timeout, label="timeout")
    if metric_agg not in METRIC_AGGS:
        raise InputError(f"metric_agg must be one of {', '.join(METRIC_AGGS)}, got {metric_agg!r}")
    if not notebooks:
        raise InputError("no notebook given")
    paths = [check_notebook(nb) for nb in notebooks]
    try:
        confined = confine(sandbox, sandbox_network, warn=warn)
    except ValueError as exc:  # an unknown mode given through the Python API
        raise InputError(str(exc)) from None
    grid = normalise_grid(grid)
    if kernel_name and scheduler in (None, "local"):
        check_kernel(kernel_name)
    out = Path(out_dir).expanduser().resolve()
    executions = plan(paths, grid, out)
    for execution in executions:
        execution.output.parent.mkdir(parents=True, exist_ok=True)

    outcomes: dict[int, dict[str, Any]] = {}
    attempts = dict.fromkeys(range(len(executions)), 0)
    finished: queue.Queue[tuple[int, Any]] = queue.Queue()
    executor = make_executor(workers, scheduler)
    bar = tqdm(total=len(executions), desc="batch", unit="run", disable=not progress)

    def submit(execution: Execution) -> None:
        attempts[execution.index] += 1
        job = job_for(execution.notebook, execution.output, execution.parameters, kernel_name,
                      timeout, sandbox=confined)
        try:
            future = executor.submit(execute_job, job)
        except Exception as exc:  # e.g. a broken process pool
            record(execution.index, _outcome_error(exc))
            return
        index = execution.index
        future.add_done_callback(lambda f: finished.put((index, f)))

    def record(index: int, outcome: dict[str, Any]) -> None:
        outcomes[index] = outcome
        bar.update(1)
        failed = sum(o["status"] == "failed" for o in outcomes.values())
        if failed:
            bar.set_postfix(failed=failed)

    interrupted = False
    try:
        for execution in executions:
            submit(execution)
        while len(outcomes) < len(executions):
            try:
                index, future = finished.get(timeout=0.5)
            except queue.Empty:
                continue
            outcome = _outcome(future)
            if outcome["status"] == "failed" and attempts[index] <= retries:
                submit(executions[index])
            else:
                record(index, outcome)
    except KeyboardInterrupt:
        interrupted = True
        executor.shutdown(cancel=True)
        while not finished.empty():  # finished before the interrupt, not yet collected
            index, future = finished.get_nowait()
            if index not in outcomes and not future.cancelled() and _finished_cleanly(future):
                record(index, _outcome(future))
    except BaseException:
        executor.shutdown(cancel=True)
        raise
    else:
        executor.shutdown()
    finally:
        bar.close()
    result = _save(executions, outcomes, attempts, out, metric_agg)
    result.executor, result.interrupted = executor.description, interrupted
    if interrupted:
        raise BatchInterrupted(result)
    return result


def _outcome_error(exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "error": one_line(f"{type(exc).__name__}: {exc}"),
            "elapsed_s": None, "metrics": []}


def _finished_cleanly(future: Any) -> bool:
    try:
        return future.exception() is None
    except BaseException:
        return False


def _save(executions: Sequence[Execution], outcomes: Mapping[int, dict[str, Any]],
          attempts: Mapping[int, int], out: Path, metric_agg: str) -> BatchResult:
    parameters = list(dict.fromkeys(k for e in executions for k in e.parameters))
    reserved = {*parameters, *BASE_COLUMNS}
    rows: list[dict[str, Any]] = []
    metrics: list[str] = []
    for e in executions:
        outcome = outcomes.get(e.index, {"status": "cancelled", "error": None,
                                         "elapsed_s": None, "metrics": []})
        values = {name if name not in reserved else f"metric_{name}": value
                  for name, value in aggregate(outcome["metrics"], metric_agg).items()}
        metrics.extend(name for name in values if name not in metrics)
        rows.append({"notebook": e.label,
                     **{p: _table_value(e.parameters.get(p)) for p in parameters},
                     "status": outcome["status"], "error": outcome["error"],
                     "attempts": attempts[e.index], "elapsed_s": outcome["elapsed_s"],
                     "output": str(e.output), **values})
    table = results_table(rows, parameters, metrics)
    summary_table = summary(table)
    results_csv = atomic_write_text(out / "results.csv", table.to_csv(index=False))
    summary_csv = atomic_write_text(out / "summary.csv", summary_table.to_csv(index=False))
    plot = plot_summary(summary_table, out / "summary.png")
    return BatchResult(table, summary_table, out, results_csv, summary_csv, plot)


def batch(notebooks: str | Path | Sequence[str | Path],
          params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None, *,
          out: str | Path, grid_file: str | Path | None = None, workers: int = 2,
          scheduler: str | None = None, kernel_name: str | None = None,
          timeout: float | None = None, retries: int = 0, metric_agg: str = "last",
          progress: bool = True, sandbox: str = "auto", sandbox_network: bool = False
          ) -> pd.DataFrame:
    """Run notebooks over a grid and return the results table (one row per execution).

    ``params`` is ``{name: [values]}`` (cartesian product; a scalar is one value) or a list of
    parameter dicts; ``grid_file`` (YAML/JSON) is crossed with it. ``summary(table)`` gives mean
    and standard error per configuration; see :func:`run_batch` for the other options.
    """
    if isinstance(notebooks, (str, Path)):
        notebooks = [notebooks]
    grid = normalise_grid(params)
    if grid_file is not None:
        grid = cross(load_grid(grid_file), grid, source=f"grid file {grid_file}")
    return run_batch(list(notebooks), grid, out, workers=workers, scheduler=scheduler,
                     kernel_name=kernel_name, timeout=timeout, retries=retries,
                     progress=progress, metric_agg=metric_agg, sandbox=sandbox,
                     sandbox_network=sandbox_network).table
