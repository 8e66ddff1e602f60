"""One comparison from start to verdict: runs, seed re-runs, table, plot, index notebook.

The comparison's :class:`~mlr_copilot_jupyter.state.ComparisonRef` is published (through the
``publish`` callback: upsert into the research state and save) when it starts, whenever an idea's
run changes status or metric, and when it ends, so the side panel shows live status.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..experiment.options import check_max_steps
from ..models import Idea
from ..options_spec import SEEDS, WORKERS
from ..state import ComparisonEntry, ComparisonRef
from . import notebook, runner, seeds, table

if TYPE_CHECKING:
    import pandas as pd

Publish = Callable[[ComparisonRef], None]
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")


@dataclass(repr=False)
class ComparisonResult:
    """A finished (or interrupted) comparison: its table, files, winner and verdict."""

    comparison: ComparisonRef
    table: pd.DataFrame
    out_dir: Path
    csv: Path
    plot: Path | None
    notebook: Path
    winner: str | None
    verdict: str
    seeds: Any = None  # the seed re-runs' BatchResult, when there were any

    @property
    def status(self) -> str:
        return self.comparison.status

    @property
    def failed(self) -> list[ComparisonEntry]:
        return [e for e in self.comparison.entries if e.status in ("failed", "stopped")]

    @property
    def insert_command(self) -> str | None:
        """The magic that inserts the winner's lineage into a notebook (None: no winner)."""
        run_id = self.comparison.winner_run_id
        return f"%mlr_experiment --insert-run {run_id}" if run_id else None

    def summary_lines(self) -> list[str]:
        """One plain line per idea: status, validation and test metrics, seeds, error."""
        return table.summary_lines(self.comparison.entries)

    def __repr__(self) -> str:
        lines = [f"Comparison {self.comparison.comparison_id} ({self.status}) of "
                 f"{len(self.comparison.entries)} ideas on {self.comparison.task}",
                 *self.summary_lines(),
                 f"verdict: {self.verdict}", f"notebook: {self.notebook}"]
        if self.insert_command:
            lines.append(f"insert the winner's cells: {self.insert_command}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        insert = (f"<p>Insert the winner's cells below a cell: "
                  f"<code>{html.escape(self.insert_command)}</code> (or <i>Insert winner</i> in "
                  "the MLR Copilot side panel)</p>" if self.insert_command else "")
        return (f"<p><b>Comparison {html.escape(self.comparison.comparison_id)}</b> "
                f"({html.escape(self.status)}) — {html.escape(self.verdict)}</p>"
                + self.table.to_html(index=False, na_rep="—")
                + f"<p>Notebook: <code>{html.escape(str(self.notebook))}</code></p>" + insert)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: status, winner, verdict, file paths and rows (NaN becomes null)."""
        return {
            "comparison_id": self.comparison.comparison_id, "status": self.status,
            "task": self.comparison.task, "metric": self.comparison.metric_name,
            "direction": self.comparison.direction, "winner": self.winner,
            "verdict": self.verdict, "out_dir": str(self.out_dir), "csv": str(self.csv),
            "plot": str(self.plot) if self.plot else None, "notebook": str(self.notebook),
            "executor": self.comparison.executor,
            "rows": table.to_jsonable(self.table),
        }


class ComparisonInterrupted(KeyboardInterrupt):
    """Ctrl-C (or ``stop()``) ended a comparison; ``result`` holds what was saved."""

    def __init__(self, result: ComparisonResult) -> None:
        self.result = result
        super().__init__("comparison interrupted")


def new_comparison_id() -> str:
    return f"compare-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def load_ideas_file(path: str | Path, ids: Sequence[str] = ()) -> list[Idea]:
    """The ideas of a file ``mlr-copilot ideas --out FILE`` wrote (or a JSON list of ideas);
    only ``ids`` (in that order) when given."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputError(f"ideas file {file} does not exist",
                         hint="write one with mlr-copilot ideas PAPER --out FILE")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        raw = data.get("ideas") if isinstance(data, dict) else data
        if not isinstance(raw, list):
            raise ValueError("no 'ideas' list")
        ideas = [Idea.model_validate(item) for item in raw]
    except (ValueError, UnicodeDecodeError) as exc:  # JSON and pydantic errors are ValueErrors
        first = " ".join(str(exc).split())[:160]
        raise InputError(f"ideas file {file} is not valid ({first})",
                         hint="expected the JSON that mlr-copilot ideas --out writes") from None
    if not ideas:
        raise InputError(f"ideas file {file} holds no ideas")
    if not ids:
        return ideas
    by_id = {i.id: i for i in ideas}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise InputError(f"no idea {', '.join(map(repr, unknown))} in {file}",
                         hint=f"known ids: {', '.join(by_id)}")
    return [by_id[i] for i in dict.fromkeys(ids)]


def check_ideas(ideas: Sequence[Idea]) -> list[Idea]:
    if not ideas:
        raise InputError("no ideas to compare", hint="accept ideas on the review board, or give "
                         "idea ids or an ideas file")
    seen: set[str] = set()
    for idea in ideas:
        if not _SAFE_ID.fullmatch(idea.id):
            raise InputError(f"idea id {idea.id!r} cannot name a run folder",
                             hint="use letters, digits, '.', '_' and '-'")
        if idea.id in seen:
            raise InputError(f"idea {idea.id!r} is given twice")
        seen.add(idea.id)
    return list(ideas)


def check_numbers(workers: int, seeds_n: int, max_steps: int | None) -> None:
    WORKERS.check(workers)  # each option's one range check (options_spec)
    SEEDS.check(seeds_n)
    check_max_steps(max_steps)


def start_ref(comparison_id: str, ideas: Sequence[Idea], task: str, out_dir: Path) -> ComparisonRef:
    """The comparison as it starts: every idea pending, the task's metric and direction."""
    from ..experiment.task import load_task

    loaded = load_task(task)
    entries = [ComparisonEntry(idea_id=i.id, title=i.title,
                               record_path=str(runner.run_folder(out_dir, i.id) /
                                               "experiment.ipynb")) for i in ideas]
    return ComparisonRef(comparison_id=comparison_id, task=loaded.name, out_dir=str(out_dir),
                         metric_name=loaded.metric.name, direction=loaded.metric.direction,
                         entries=entries)


def run_comparison(ref: ComparisonRef, ideas: Sequence[Idea], task: str, *,
                   settings: dict[str, Any], facade: Callable[..., Any], publish: Publish,
                   workers: int = 2,
                   scheduler: str | None = None, seeds_n: int = 2,
                   options: dict[str, Any] | None = None,
                   progress: Callable[[str], None] | None = None,
                   stop: Callable[[], bool] = lambda: False) -> ComparisonResult:
    """Run the comparison ``ref`` describes; see :meth:`Copilot.compare`.

    ``facade`` builds each worker's facade from ``settings`` (the caller's facade class).
    """
    out_dir = Path(ref.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: dict[str, tuple[str, float | None]] = {}

    def notify(entry: ComparisonEntry | None) -> None:
        if entry is not None and progress is not None:
            key = (entry.status, entry.best_metric)
            if seen.get(entry.idea_id) != key:
                seen[entry.idea_id] = key
                metric = (f" ({ref.metric_name} {entry.best_metric:.4g})"
                          if entry.best_metric is not None else "")
                tail = f": {entry.error}" if entry.error else ""
                progress(f"{entry.idea_id} {entry.status}{metric}{tail}")
        publish(ref)

    batch = None
    try:  # a Ctrl-C anywhere from here on leaves an "interrupted" comparison, its files written
        jobs = [{"facade": facade, "settings": settings, "task": task,
                 "idea": idea.model_dump(mode="json"),
                 "out": str(runner.run_folder(out_dir, idea.id)),
                 "options": dict(options or {})} for idea in ideas]
        publish(ref)
        runner.run_ideas(ref, jobs, workers=workers, scheduler=scheduler, notify=notify,
                         stop=stop)
        if seeds_n and not stop() and seeds.ranked(ref.entries, ref.direction):
            say = progress or (lambda line: None)
            say(f"seed re-runs: the top two ideas, seeds 1..{seeds_n}")
            try:
                batch = seeds.run_seeds(ref.entries, out_dir, seeds_n, metric=ref.metric_name,
                                        direction=ref.direction, workers=workers,
                                        scheduler=scheduler, progress=False)
            except Exception as exc:  # the runs stand; the verdict says there are no seeds
                say(f"seed re-runs failed: {runner._one_line(exc)}")
            else:
                if batch is not None and len(batch.failed):
                    say(f"{len(batch.failed)} seed re-runs failed: {batch.failed_names()}")
        done = [e for e in ref.entries if e.status == "done"]
        ref.status = "done" if done else "failed"
        result = finish(ref, out_dir, batch)
        publish(ref)
    except KeyboardInterrupt:
        ref.status = "interrupted"
        result = finish(ref, out_dir, batch)
        publish(ref)
        raise ComparisonInterrupted(result) from None
    return result


def finish(ref: ComparisonRef, out_dir: Path, batch: Any) -> ComparisonResult:
    """Winner, verdict, comparison.csv / .png and compare.ipynb for what has finished."""
    winner, verdict = table.choose_winner(ref)
    if ref.status == "interrupted":
        verdict = f"interrupted before every idea finished; so far: {verdict}"
    ref.winner_idea_id = winner.idea_id if winner else None
    ref.winner_run_id = winner.run_id if winner else None
    ref.verdict = verdict
    frame = table.comparison_table(ref)
    csv = table.write_csv(frame, out_dir / "comparison.csv")
    plot = table.plot_comparison(ref, out_dir / "comparison.png")
    ref.csv, ref.plot = str(csv), str(plot) if plot else ""
    nb = notebook.write_notebook(ref, out_dir, plot)
    ref.notebook = str(nb)
    return ComparisonResult(ref, frame, out_dir, csv, plot, nb, ref.winner_idea_id, verdict,
                            seeds=batch)
