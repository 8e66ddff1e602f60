"""Seed re-runs: the two best ideas' records re-executed with papermill for seeds 1..N.

What is re-run is the record notebook cut down to the verified best node's lineage (parameters,
setup, then the cells that rebuild the best node), so the last metric each execution reports is
the best node's validation metric under that seed. Each (idea, seed) execution works in its own
fresh copy of the task's workspace: ``OUT/seeds/<idea-id>/workspace-seed<k>/``, given to the
record's ``data_dir`` parameter (relative: the kernel starts in the notebook's folder).
"""

from __future__ import annotations

import math
import shutil
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..state import ComparisonEntry

SEEDS_DIR = "seeds"


def better(a: float, b: float, direction: str) -> bool:
    return a < b if direction == "minimize" else a > b


def ranked(entries: Sequence[ComparisonEntry], direction: str) -> list[ComparisonEntry]:
    """Finished entries with a verified validation metric, best first."""
    done = [e for e in entries if e.status == "done" and e.best_metric is not None]
    sign = -1.0 if direction == "minimize" else 1.0
    return sorted(done, key=lambda e: -sign * float(e.best_metric))  # type: ignore[arg-type]


def lineage_notebook(record_path: Path, dest: Path) -> Path:
    """``dest``: the record with only parameters, setup and the best node's lineage cells."""
    import nbformat

    from ..atomic import atomic_write_text
    from ..experiment.journal import JOURNAL_FILE, Journal

    journal = Journal.load(record_path.parent / JOURNAL_FILE)
    if not journal.best_node:
        raise ValueError(f"run {journal.run_id} has no verified best node")
    keep = {n.id for n in journal.lineage(journal.best_node)}
    nb = nbformat.read(str(record_path), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("mlr_copilot", {})
        if cell.cell_type == "raw" or meta.get("stage") == "summary":
            continue
        if meta.get("node_id") and meta["node_id"] not in keep:
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    nbformat.validate(nb)
    return atomic_write_text(dest, nbformat.v4.writes_json(nb))


def seed_values(original: float | None, table: Any, label: str, metric: str) -> list[float]:
    """The original run's metric, then each completed seed execution's, for one notebook."""
    values = [float(original)] if original is not None else []
    if metric not in table.columns:
        return values
    rows = table[(table["notebook"] == label) & (table["status"] == "completed")]
    values += [float(v) for v in rows.sort_values("seed")[metric] if not math.isnan(float(v))]
    return values


def mean_se(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return mean, se


def run_seeds(entries: Sequence[ComparisonEntry], out_dir: Path, seeds: int, *, metric: str,
              direction: str, workers: int, scheduler: str | None, progress: bool) -> Any:
    """Re-run the top two entries' best lineages for seeds 1..``seeds``; fill their seed stats.

    Returns the :class:`~mlr_copilot_jupyter.batch.BatchResult`, or None when fewer than one
    idea finished. A failed seed execution is left out of the mean (the batch table says why).
    """
    from ..batch import run_batch
    from ..experiment.journal import JOURNAL_FILE, Journal
    from ..experiment.task import load_task

    top = ranked(entries, direction)[:2]
    if seeds < 1 or not top:
        return None
    root = out_dir / SEEDS_DIR
    notebooks: list[Path] = []
    for entry in top:
        folder = root / entry.idea_id
        if folder.exists():
            shutil.rmtree(folder)  # a fresh start: earlier seed workspaces hold old artifacts
        record = Path(entry.record_path)
        notebooks.append(lineage_notebook(record, folder / f"{entry.idea_id}.ipynb"))
        task = load_task(Journal.load(record.parent / JOURNAL_FILE).settings["task_path"])
        for seed in range(1, seeds + 1):
            task.prepare_workspace(folder, workspace=folder / f"workspace-seed{seed}")
    grid = [{"seed": seed, "data_dir": f"workspace-seed{seed}"} for seed in range(1, seeds + 1)]
    result = run_batch(notebooks, grid, root, workers=workers, scheduler=scheduler,
                       progress=progress)
    for entry in top:
        entry.seeds = seed_values(entry.best_metric, result.table, entry.idea_id, metric)
        entry.seed_mean, entry.seed_se = mean_se(entry.seeds)
    return result
