"""The comparison table (``comparison.csv``), its bar plot (``comparison.png``) and the verdict.

The winner is chosen on the validation metric (the seed mean when both of the top two have
seed re-runs); the held-out test metric is reported beside it, never used to choose.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write_bytes, atomic_write_text
from ..state import ComparisonEntry, ComparisonRef
from .seeds import better, ranked

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("idea_id", "title", "status", "validation", "test", "baseline_validation",
           "improvement_pct", "test_improvement_pct", "steps", "tokens", "time_s", "seed_n",
           "seed_mean", "seed_se", "error")


def _gain(value: float | None, base: float | None, direction: str) -> float | None:
    if value is None or base is None or base == 0:
        return None
    delta = value - base if direction != "minimize" else base - value
    return round(100.0 * delta / abs(base), 2)


def comparison_table(comparison: ComparisonRef) -> pd.DataFrame:
    """One row per idea, in the comparison's order."""
    import pandas as pd

    d = comparison.direction
    rows = [{
        "idea_id": e.idea_id, "title": e.title, "status": e.status,
        "validation": e.best_metric, "test": e.best_test_metric,
        "baseline_validation": e.baseline_metric,
        "improvement_pct": _gain(e.best_metric, e.baseline_metric, d),
        "test_improvement_pct": _gain(e.best_test_metric, e.baseline_test_metric, d),
        "steps": e.steps, "tokens": e.tokens, "time_s": e.elapsed_s,
        "seed_n": len(e.seeds) or None, "seed_mean": e.seed_mean, "seed_se": e.seed_se,
        "error": e.error or None,
    } for e in comparison.entries]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _seed_text(e: ComparisonEntry) -> str:
    return _fmt(e.seed_mean) + ("" if e.seed_se is None else f" ± {e.seed_se:.2g}")


def choose_winner(comparison: ComparisonRef) -> tuple[ComparisonEntry | None, str]:
    """The winning entry (on validation; seed means when the top two both have them) and the
    verdict sentence."""
    direction, name = comparison.direction or "maximize", comparison.metric_name or "metric"
    order = ranked(comparison.entries, direction)
    if not order:
        failed = len([e for e in comparison.entries if e.status == "failed"])
        return None, f"no idea finished with a verified result ({failed} failed)"
    top = order[:2]
    by_seeds = len(top) == 2 and all(e.seed_mean is not None and len(e.seeds) > 1 for e in top)
    if by_seeds and better(top[1].seed_mean, top[0].seed_mean, direction):  # type: ignore[arg-type]
        top = [top[1], top[0]]
    win = top[0]
    test = f" (held-out test {_fmt(win.best_test_metric)})" if win.best_test_metric is not None \
        else ""
    base = _gain(win.best_metric, win.baseline_metric, direction)
    over_base = (f"; {base:+.1f}% over its baseline {_fmt(win.baseline_metric)}"
                 if base is not None else "")
    if len(top) == 1:
        return win, (f"{win.idea_id} wins, the only idea with a verified result: {name} "
                     f"{_fmt(win.best_metric)}{test}{over_base}")
    run = top[1]
    diff = float(win.best_metric) - float(run.best_metric)  # type: ignore[arg-type]
    tied = diff == 0 and (win.seed_mean is None or win.seed_mean == run.seed_mean)
    lead = (f"{win.idea_id} and {run.idea_id} tie ({win.idea_id} listed first)" if tied
            else f"{win.idea_id} wins")
    text = (f"{lead}: {name} {_fmt(win.best_metric)}{test} vs "
            f"{_fmt(run.best_metric)} for {run.idea_id} ({diff:+.4g}){over_base}")
    if win.seed_mean is not None and run.seed_mean is not None and len(win.seeds) > 1 \
            and len(run.seeds) > 1:
        text += (f"; over {len(win.seeds)} seeds {_seed_text(win)} vs {len(run.seeds)} seeds "
                 f"{_seed_text(run)}")
        noise = 2 * math.sqrt((win.seed_se or 0.0) ** 2 + (run.seed_se or 0.0) ** 2)
        gap = abs(win.seed_mean - run.seed_mean)
        if noise == 0 and gap == 0:
            text += ", identical on every seed, so this is a tie"
        elif gap > noise:
            text += (f", so the difference ({gap:.3g}) is larger than the seed noise (2 standard "
                     f"errors: {noise:.3g})")
        else:
            text += (f", so the difference ({gap:.3g}) is within the seed noise (2 standard "
                     f"errors: {noise:.3g}): not a reliable win")
    elif diff == 0:
        text += "; a tie on validation (no seed re-runs to separate them)"
    else:
        text += "; no seed re-runs, so how much of the gap is noise is unknown"
    return win, text


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    return atomic_write_text(path, table.to_csv(index=False))


def plot_comparison(comparison: ComparisonRef, path: Path) -> Path | None:
    """Bars of validation and test metric per idea, seed error bars, the baseline as a line."""
    from matplotlib.figure import Figure  # no pyplot: safe in any thread

    entries = [e for e in comparison.entries if e.best_metric is not None]
    if not entries:
        return None
    fig = Figure(figsize=(max(4.5, 1.3 * len(entries) + 2.5), 3.6), layout="constrained")
    ax = fig.add_subplot()
    xs = list(range(len(entries)))
    width = 0.38
    val = [float(e.seed_mean if e.seed_mean is not None else e.best_metric)  # type: ignore[arg-type]
           for e in entries]
    err = [e.seed_se or 0.0 for e in entries]
    ax.bar([x - width / 2 for x in xs], val, width, yerr=err, capsize=4,
           label="validation (seed mean ± se where re-run)")
    test = [e.best_test_metric if e.best_test_metric is not None else math.nan for e in entries]
    ax.bar([x + width / 2 for x in xs], test, width, label="held-out test")
    bases = [e.baseline_metric for e in entries if e.baseline_metric is not None]
    if bases:
        ax.axhline(sum(bases) / len(bases), color="grey", linestyle="--",
                   label="baseline (validation)")
    ax.set_xticks(xs, [e.idea_id for e in entries])
    ax.set_ylabel(comparison.metric_name or "metric")
    low = min([v for v in [*val, *test, *bases] if v is not None and not math.isnan(v)])
    high = max([v for v in [*val, *test, *bases] if v is not None and not math.isnan(v)])
    pad = (high - low) * 0.25 or abs(high) * 0.05 or 0.05
    ax.set_ylim(low - pad if low - pad > 0 or low < 0 else 0, high + pad)
    ax.set_title(f"{comparison.task}: {comparison.metric_name} ({comparison.direction})")
    ax.legend(fontsize="small", loc="lower right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())


def summary_lines(entries: Sequence[ComparisonEntry]) -> list[str]:
    """One plain line per idea (for the CLI and a terminal)."""
    out = []
    for e in entries:
        seeds = f", seeds {_seed_text(e)} (n={len(e.seeds)})" if e.seeds else ""
        tail = f": {e.error}" if e.error else ""
        out.append(f"  {e.idea_id:<10} {e.status:<8} validation {_fmt(e.best_metric)}, "
                   f"test {_fmt(e.best_test_metric)}{seeds}{tail}")
    return out


def to_jsonable(table: pd.DataFrame) -> list[dict[str, Any]]:
    import json

    return json.loads(table.to_json(orient="records"))  # type: ignore[no-any-return]
