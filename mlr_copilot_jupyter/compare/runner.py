"""Each idea as its own experiment in a worker process (local pool or Dask), watched from here.

:func:`run_idea` is the unit of work: a picklable top-level function that builds its own facade
(the class the comparison was started from, :class:`~mlr_copilot_jupyter.Copilot`) from the
settings shipped to it (never an API key: the workers read it from their environment), runs one
experiment in ``OUT/runs/<idea-id>/`` and
returns a JSON-safe outcome. It never raises for a failing experiment. The driver
(:func:`run_ideas`) polls every run folder's ``journal.json`` for live status.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import queue
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from ..models import Idea
from ..state import ComparisonEntry, ComparisonRef

#: Seconds between two looks at the run folders' journals.
POLL_S = 1.0
#: Settings never shipped to a worker (the key itself is not a setting; this is belt and braces).
_SECRET_SETTINGS = frozenset({"api_key"})


def worker_settings(settings: Any) -> dict[str, Any]:
    """The configurable settings as plain values, for a worker's own ``Copilot``."""
    out: dict[str, Any] = {}
    for name in settings.trait_names(config=True):
        if name in _SECRET_SETTINGS:
            continue
        value = getattr(settings, name)
        if isinstance(value, (str, int, float, bool, dict)) or value is None:
            out[name] = value
    return out


#: Set in a pool worker when the pool's SIGTERM reached the job it runs (see :func:`run_idea`).
_stop_signalled = False


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    global _stop_signalled
    _stop_signalled = True
    raise KeyboardInterrupt


def run_idea(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run one idea's experiment; ``{"status", "error", "summary"}``, never an exception.

    ``job`` has ``facade`` (the facade class, called with ``announce_to=`` and the settings),
    ``settings`` (see :func:`worker_settings`), ``task``, ``idea`` (a dumped :class:`Idea`),
    ``out`` (the run folder) and ``options`` (of the facade's ``prepare_experiment``).
    """
    # A local pool stops its workers with SIGTERM: while this job runs, unwind, so the kernel is
    # shut down and the journal says "interrupted", instead of the pool's hard exit. Only while
    # it runs: a KeyboardInterrupt in the idle worker (waiting for its next job, sending this
    # one's outcome) would end it with a "SpawnProcess-1: Traceback" on the terminal.
    global _stop_signalled
    _stop_signalled = False
    installed = False
    previous: Any = None
    with contextlib.suppress(ValueError):  # not the main thread (a threaded Dask worker)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        installed = True
    try:
        return _run_idea(job)
    finally:
        if installed:  # None: a handler not set from Python, so none the pool relies on
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _run_idea(job: Mapping[str, Any]) -> dict[str, Any]:
    from ..aio import run_sync
    from ..experiment.runner import arun_to_report

    started = time.monotonic()
    try:
        copilot = job["facade"](announce_to=io.StringIO(), **job["settings"])
        agent = copilot.prepare_experiment(job["task"], idea=Idea.model_validate(job["idea"]),
                                           out=job["out"], **job["options"])
        summary = run_sync(arun_to_report(agent)).to_dict()
        status = "done" if summary.get("status") == "done" else "failed"
        error = "" if status == "done" else (summary.get("message") or summary.get("status", ""))
        if status == "failed" and _stop_signalled:
            return _stopped_by_signal(job, error, started)
        return {"status": status, "error": _one_line(error), "summary": _json_safe(summary),
                "elapsed_s": round(time.monotonic() - started, 3)}
    except KeyboardInterrupt:
        return {"status": "stopped", "error": "interrupted", "summary": None,
                "elapsed_s": round(time.monotonic() - started, 3)}
    except Exception as exc:  # a bad run folder, a dead kernel, a task error: one line
        if _stop_signalled:
            return _stopped_by_signal(job, f"{type(exc).__name__}: {exc}", started)
        return {"status": "failed", "error": _one_line(f"{type(exc).__name__}: {exc}"),
                "summary": None, "elapsed_s": round(time.monotonic() - started, 3)}


def _stopped_by_signal(job: Mapping[str, Any], error: str, started: float) -> dict[str, Any]:
    """The outcome of a run the pool's stop cut short. The interrupt can surface as another
    error (one that lands in a C extension's import reads ``ImportError: initialization
    failed``), which the run then recorded as its failure: it was stopped, and can resume."""
    _mark_interrupted(Path(job["out"]), also_failed=True)
    return {"status": "stopped", "error": _one_line(f"interrupted (during: {error})"),
            "summary": None, "elapsed_s": round(time.monotonic() - started, 3)}


def _one_line(text: Any, limit: int = 300) -> str:
    from ..errors import MLRCopilotError

    if isinstance(text, MLRCopilotError):
        text = text.one_line()
    return " ".join(str(text).split())[:limit]


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# -- driver ------------------------------------------------------------------------------------

def run_folder(out_dir: Path, idea_id: str) -> Path:
    return out_dir / "runs" / idea_id


def journal_view(run_dir: Path) -> dict[str, Any] | None:
    """Status, best metric and step count from a run's ``journal.json`` (None if unreadable)."""
    try:
        data = json.loads((run_dir / "journal.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    nodes = data.get("nodes", [])
    best = next((n for n in nodes if n.get("id") == data.get("best_node")), None)
    if best is None:  # still searching: the best so far
        good = [n for n in nodes if n.get("status") == "ok" and n.get("metric") is not None]
        sign = 1 if data.get("direction") == "maximize" else -1
        best = max(good, key=lambda n: sign * n["metric"], default=None)
    return {"run_id": data.get("run_id"), "status": data.get("status"),
            "metric_name": data.get("metric_name"), "direction": data.get("direction"),
            "best_metric": best.get("metric") if best else None,
            "steps": len([n for n in nodes if n.get("kind") != "baseline"])}


def apply_outcome(entry: ComparisonEntry, outcome: Mapping[str, Any]) -> None:
    """Fill ``entry`` from a worker's outcome (its run summary when it got that far)."""
    entry.status = str(outcome["status"])
    entry.error = str(outcome.get("error") or "")
    entry.elapsed_s = outcome.get("elapsed_s")
    summary = outcome.get("summary") or {}
    if summary:
        entry.run_id = summary.get("run_id") or entry.run_id
        entry.best_metric = summary.get("best_metric")
        entry.best_test_metric = summary.get("best_test_metric")
        entry.baseline_metric = summary.get("baseline_metric")
        entry.baseline_test_metric = summary.get("baseline_test_metric")
        entry.steps = summary.get("steps")
        entry.tokens = summary.get("tokens")
        entry.sandbox = str(summary.get("sandbox") or "")
        if entry.status == "done" and entry.best_metric is None:
            entry.status, entry.error = "failed", "no verified result (no working code)"


def run_ideas(comparison: ComparisonRef, jobs: Sequence[dict[str, Any]], *, workers: int,
              scheduler: str | None, notify: Callable[[ComparisonEntry | None], None],
              stop: Callable[[], bool] = lambda: False) -> None:
    """Run every job concurrently, updating ``comparison.entries`` as runs progress.

    ``notify(entry)`` is called after each change of an entry's status or metric (``None`` for
    the comparison as a whole). Raises KeyboardInterrupt after stopping every worker when
    interrupted, or when ``stop()`` becomes true.
    """
    from ..batch.executors import make_executor

    entries = {e.idea_id: e for e in comparison.entries}
    executor = make_executor(workers, scheduler)
    comparison.executor = executor.description
    finished: queue.Queue[tuple[str, Any]] = queue.Queue()
    pending = set(entries)
    try:
        for job in jobs:
            idea_id = job["idea"]["id"]
            try:
                future = executor.submit(run_idea, job)
            except Exception as exc:  # a broken pool
                apply_outcome(entries[idea_id], {"status": "failed", "error": _one_line(exc)})
                pending.discard(idea_id)
                notify(entries[idea_id])
                continue
            future.add_done_callback(_on_done(finished, idea_id))
        notify(None)
        last_poll = 0.0
        while pending:
            if stop():
                raise KeyboardInterrupt
            try:
                idea_id, future = finished.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() - last_poll >= POLL_S:
                    last_poll = time.monotonic()
                    _poll(comparison, [entries[i] for i in pending], notify)
                continue
            pending.discard(idea_id)
            _poll(comparison, [entries[idea_id]], notify)
            apply_outcome(entries[idea_id], _outcome(future))
            notify(entries[idea_id])
    except BaseException:
        executor.shutdown(cancel=True)
        for entry in entries.values():
            if entry.status in ("pending", "running"):
                entry.status, entry.error = "stopped", "interrupted"
                _mark_interrupted(Path(entry.record_path).parent)
        raise
    else:
        executor.shutdown()


def _on_done(finished: queue.Queue[tuple[str, Any]], idea_id: str) -> Callable[[Any], None]:
    def put(future: Any) -> None:
        finished.put((idea_id, future))

    return put


def _outcome(future: Any) -> dict[str, Any]:
    try:
        return dict(future.result())
    except (Exception, SystemExit) as exc:  # the worker process itself died
        return {"status": "failed", "error": _one_line(f"worker died: {type(exc).__name__}: {exc}")}


def _poll(comparison: ComparisonRef, entries: Sequence[ComparisonEntry],
          notify: Callable[[ComparisonEntry | None], None]) -> None:
    for entry in entries:
        view = journal_view(Path(entry.record_path).parent)
        if view is None:
            continue
        if not comparison.metric_name and view["metric_name"]:
            comparison.metric_name, comparison.direction = view["metric_name"], view["direction"]
        status = "running" if view["status"] == "running" else entry.status
        metric = view["best_metric"]
        if (status, metric, view["steps"]) != (entry.status, entry.best_metric, entry.steps):
            entry.status, entry.best_metric, entry.steps = status, metric, view["steps"]
            entry.run_id = view["run_id"] or entry.run_id
            notify(entry)


def _mark_interrupted(run_dir: Path, *, also_failed: bool = False) -> None:
    """A run stopped from outside still says "running" (or, ``also_failed``, "failed" from the
    stop's own interrupt): say "interrupted", so it can resume."""
    from ..experiment.journal import JOURNAL_FILE, Journal

    with contextlib.suppress(Exception):
        journal = Journal.load(run_dir / JOURNAL_FILE)
        if journal.status == "running" or (also_failed and journal.status == "failed"):
            journal.status, journal.message = "interrupted", "the comparison was interrupted"
            journal.save(run_dir / JOURNAL_FILE)


def finite(value: Any) -> float | None:
    """A float, or None for None / NaN."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
