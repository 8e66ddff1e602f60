"""``OUT/compare.ipynb``: the index notebook of a comparison (table with links, plot, verdict)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from ..atomic import atomic_write_text
from ..state import ComparisonRef
from .table import _fmt, _seed_text

NOTEBOOK_FILE = "compare.ipynb"


def _link(target: str, out_dir: Path) -> str:
    if not target:
        return "—"
    rel = Path(os.path.relpath(target, out_dir)).as_posix()
    return f"[{rel}]({rel.replace(' ', '%20')})"


def _cell_text(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def markdown_table(comparison: ComparisonRef, out_dir: Path) -> str:
    name = comparison.metric_name or "metric"
    lines = [f"| idea | title | status | validation {name} | held-out test | baseline | "
             "seeds (mean ± se) | record |",
             "|---|---|---|---|---|---|---|---|"]
    for e in comparison.entries:
        mark = " 🏆" if e.idea_id == comparison.winner_idea_id else ""
        record = _link(e.record_path, out_dir) if Path(e.record_path).is_file() else "—"
        status = e.status + (f" ({_cell_text(e.error)[:120]})" if e.error else "")
        seeds = f"{_seed_text(e)} (n={len(e.seeds)})" if e.seeds else "—"
        lines.append(f"| {e.idea_id}{mark} | {_cell_text(e.title)} | {status} | "
                     f"{_fmt(e.best_metric)} | {_fmt(e.best_test_metric)} | "
                     f"{_fmt(e.baseline_metric)} | {seeds} | {record} |")
    return "\n".join(lines)


def write_notebook(comparison: ComparisonRef, out_dir: Path, plot: Path | None) -> Path:
    """Build and atomically write ``compare.ipynb`` (validated) into ``out_dir``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["mlr_copilot"] = {"comparison": comparison.model_dump(mode="json")}
    head = nbformat.v4.new_markdown_cell(
        f"# Comparison {comparison.comparison_id}\n\n"
        f"**Task:** {comparison.task} — {comparison.metric_name} ({comparison.direction}); "
        f"each idea ran as its own experiment ({comparison.executor or 'local'}), its own "
        f"kernel and record. Status: **{comparison.status}**.\n\n"
        f"**Verdict:** {comparison.verdict or '—'}\n\n"
        "The winner is chosen on the validation metric (the seed mean where the top two were "
        "re-run with other seeds); the held-out test metric is reported beside it."
        + (f"\n\nTo bring the winner's cells into your notebook, run "
           f"`%mlr_experiment --insert-run {comparison.winner_run_id}` there (or use *Insert "
           "winner* in the MLR Copilot side panel)." if comparison.winner_run_id else ""))
    head.id = "compare-header"
    table = nbformat.v4.new_markdown_cell("## Ideas\n\n" + markdown_table(comparison, out_dir))
    table.id = "compare-table"
    cells = [head, table]
    if plot is not None and plot.is_file():
        figure = nbformat.v4.new_markdown_cell(
            "## Validation and test metric per idea\n\n![comparison](attachment:comparison.png)")
        figure.attachments = {"comparison.png": {
            "image/png": base64.b64encode(plot.read_bytes()).decode()}}
        figure.id = "compare-plot"
        cells.append(figure)
    reload = nbformat.v4.new_code_cell(
        "import pandas as pd\n\npd.read_csv('comparison.csv')")
    reload.id = "compare-csv"
    cells.append(reload)
    nb.cells = cells
    nbformat.validate(nb)
    return atomic_write_text(out_dir / NOTEBOOK_FILE, nbformat.v4.writes_json(nb))
