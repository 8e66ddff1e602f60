"""What :meth:`Copilot.compare` and ``start_compare`` share: checked inputs, published status.

A comparison runs through the facade it is given (a :class:`ComparisonHost`, the
:class:`~mlr_copilot_jupyter.api.Copilot` that called it): it reads the research state, asks
the facade to check the sandbox, and hands every status change to
:meth:`ComparisonHost.record_comparison`; it never writes the research state itself. Each worker
builds its own facade of the same class from the shipped settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError
from ..models import Idea
from ..state import ComparisonRef, ResearchState, RunRef
from .runner import worker_settings
from .session import (
    ComparisonResult,
    check_ideas,
    check_numbers,
    new_comparison_id,
    run_comparison,
    start_ref,
)

Work = Callable[[Callable[[], bool]], ComparisonResult]


class ComparisonHost(Protocol):
    """The facade a comparison runs through; :class:`~mlr_copilot_jupyter.api.Copilot` is one.

    Its class, called with ``announce_to=`` and the settings of :func:`worker_settings`, builds
    each worker's facade (whose ``prepare_experiment`` sets up the idea's run).
    """

    @property
    def settings(self) -> Any: ...

    @property
    def state(self) -> ResearchState: ...

    def sandbox_options(self, options: dict[str, Any]) -> dict[str, Any]: ...

    def record_comparison(self, comparison: ComparisonRef, runs: Sequence[RunRef] = ()) -> None:
        ...


def finished_runs(comparison: ComparisonRef) -> list[RunRef]:
    """The research state's run entries of the ideas whose runs have ended."""
    return [RunRef(run_id=entry.run_id, idea_id=entry.idea_id, task=comparison.task,
                   status=entry.status, record_path=entry.record_path,
                   metric_name=comparison.metric_name, baseline_metric=entry.baseline_metric,
                   best_metric=entry.best_metric, best_test_metric=entry.best_test_metric,
                   baseline_test_metric=entry.baseline_test_metric, sandbox=entry.sandbox,
                   sandbox_active=entry.sandbox.startswith("bubblewrap")
                   if entry.sandbox else None)
            for entry in comparison.entries
            if entry.run_id and entry.status in ("done", "failed", "stopped")]


def resolve_ideas(copilot: ComparisonHost, ideas: str | Sequence[str | Idea]) -> list[Idea]:
    """``"accepted"``, idea ids of the research state, or Idea objects -> Idea objects."""
    if isinstance(ideas, str):
        if ideas != "accepted":
            ideas = [ideas]
        else:
            accepted = copilot.state.accepted()
            if not accepted:
                raise InputError("no accepted ideas in the research state",
                                 hint="accept ideas on the review board (%mlr_review) first")
            return check_ideas(accepted)
    return check_ideas([i if isinstance(i, Idea) else copilot.state.idea(str(i)) for i in ideas])


def prepare_comparison(copilot: ComparisonHost, ideas: str | Sequence[str | Idea],
                       task: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
                       workers: int = 2, scheduler: str | None = None, seeds: int = 2,
                       max_steps: int | None = None,
                       on_update: Callable[[ComparisonRef], Any] | None = None,
                       progress: Callable[[str], None] | None = None,
                       **options: Any) -> tuple[str, Work]:
    """Check everything, publish the comparison as ``running``; the id and the work to do."""
    check_numbers(workers, seeds, max_steps)
    from ..experiment.task import check_metric_override

    check_metric_override(options.get("metric"), options.get("direction"))  # here, not per idea
    options.update(copilot.sandbox_options(options))  # --sandbox require fails here, not per idea
    chosen = resolve_ideas(copilot, ideas)
    task = os.fspath(task)
    comparison_id = new_comparison_id()
    out_dir = Path(out).expanduser() if out else copilot.settings.run_path() / comparison_id
    out_dir = out_dir.resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file, not a folder")
    taken = [i.id for i in chosen if (out_dir / "runs" / i.id / "journal.json").exists()]
    if taken:
        raise InputError(f"{out_dir} already holds runs of {', '.join(taken)}",
                         hint="choose a new --out folder")
    ref = start_ref(comparison_id, chosen, task, out_dir)
    if max_steps is not None:
        options["max_steps"] = max_steps
    settings = worker_settings(copilot.settings)
    facade = type(copilot)  # each worker's own facade, built from ``settings``

    def publish(comparison: ComparisonRef) -> None:
        snapshot = comparison.model_copy(deep=True)  # readers never see it half-updated
        copilot.record_comparison(snapshot, finished_runs(snapshot))
        if on_update is not None:
            on_update(snapshot)

    publish(ref)  # the side panel shows it at once, every idea pending

    def work(stop: Callable[[], bool]) -> ComparisonResult:
        return run_comparison(ref, chosen, task, settings=settings, facade=facade,
                              publish=publish,
                              workers=workers, scheduler=scheduler, seeds_n=seeds,
                              options=options, progress=progress, stop=stop)

    return comparison_id, work


