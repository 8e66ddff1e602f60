"""The results of a batch: metrics per execution, a summary per configuration, a plot.

Metrics are the ``MLR_METRIC {...}`` lines a notebook prints (see
:mod:`mlr_copilot_jupyter.kernels.metric_line`). A notebook may report a metric many times — a
record notebook reports one per node — so each metric is reduced with ``metric_agg``:

- ``"last"`` (default): the last value in the notebook, i.e. what its final cell computed;
- ``"max"`` / ``"min"``: the best value for a metric to maximise / minimise (in a record
  notebook, the best node's result rather than the last node's).

pandas and matplotlib are imported inside the functions that need them: this module is also
imported by the batch workers, which only parse metrics.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..atomic import atomic_write_bytes
from ..kernels.metric_line import parse_metrics

if TYPE_CHECKING:
    import pandas as pd

MetricAgg = Literal["last", "max", "min"]
METRIC_AGGS: tuple[str, ...] = ("last", "max", "min")

#: Columns every results table has, besides the parameters and the metrics.
BASE_COLUMNS = ("notebook", "status", "error", "attempts", "elapsed_s", "output")
#: The parameter that varies between repeats of one configuration.
SEED = "seed"


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def notebook_metrics(nb: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every metric record printed by the notebook's code cells, in cell and output order."""
    records: list[dict[str, Any]] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                records.extend(parse_metrics(_text(output.get("text"))))
            elif output.get("output_type") in {"execute_result", "display_data"}:
                records.extend(parse_metrics(_text(output.get("data", {}).get("text/plain"))))
    return records


def aggregate(records: Iterable[Mapping[str, Any]], how: str = "last") -> dict[str, float]:
    """``{name: value}``, reducing repeated names with ``how`` ("last", "max" or "min")."""
    if how not in METRIC_AGGS:
        raise ValueError(f"metric_agg must be one of {', '.join(METRIC_AGGS)}, got {how!r}")
    out: dict[str, float] = {}
    for record in records:
        name, value = str(record["name"]), float(record["value"])
        if name not in out or how == "last":
            out[name] = value
        elif how == "max":
            out[name] = max(out[name], value)
        else:
            out[name] = min(out[name], value)
    return out


def results_table(rows: Sequence[Mapping[str, Any]], parameters: Sequence[str],
                  metrics: Sequence[str]) -> pd.DataFrame:
    """One row per execution: notebook, parameters, status, error, attempts, elapsed_s, output,
    then one column per metric. ``attrs`` records which columns are parameters and metrics."""
    import pandas as pd

    columns = ["notebook", *parameters, *BASE_COLUMNS[1:], *metrics]
    table = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    for name in metrics:
        table[name] = pd.to_numeric(table[name], errors="coerce")
    table.attrs.update(parameters=list(parameters), metrics=list(metrics))
    return table


def _configuration(parameters: Sequence[str]) -> list[str]:
    return ["notebook", *(p for p in parameters if p != SEED)]


def summary(table: pd.DataFrame, parameters: Sequence[str] | None = None,
            metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and standard error per configuration (notebook + every parameter except ``seed``).

    Columns: the configuration, ``n`` (completed executions), ``failed`` (failed or cancelled),
    then ``<metric>_mean`` and ``<metric>_sem`` for each metric, over completed executions.
    ``sem`` is ``std(ddof=1) / sqrt(n)``; it is NaN when a metric has a single value.
    ``parameters``/``metrics`` default to the ones :func:`results_table` stored in ``attrs``.
    """
    import pandas as pd

    parameters = list(parameters if parameters is not None else table.attrs.get("parameters", []))
    metrics = list(metrics if metrics is not None else table.attrs.get("metrics", []))
    keys = _configuration(parameters)
    rows = []
    for key, group in table.groupby(keys, dropna=False, sort=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        done = group[group["status"] == "completed"]
        row.update(n=len(done), failed=len(group) - len(done))
        for name in metrics:
            values = done[name].dropna().astype(float)
            count = len(values)
            row[f"{name}_mean"] = values.mean() if count else math.nan
            row[f"{name}_sem"] = values.std(ddof=1) / math.sqrt(count) if count > 1 else math.nan
        rows.append(row)
    columns = [*keys, "n", "failed", *(f"{m}_{s}" for m in metrics for s in ("mean", "sem"))]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs.update(configuration=keys, metrics=metrics)
    return out


def configuration_labels(summary_table: pd.DataFrame) -> list[str]:
    """``notebook name=value ...`` for each summary row (parameters that never vary are left out)."""
    from .grid import format_value

    keys = summary_table.attrs.get("configuration", ["notebook"])
    varying = [k for k in keys[1:] if summary_table[k].nunique(dropna=False) > 1]
    labels = []
    for _, row in summary_table.iterrows():
        parts = [str(row["notebook"])] if summary_table["notebook"].nunique() > 1 or not varying else []
        parts += [f"{k}={format_value(row[k])}" for k in varying]
        labels.append(" ".join(parts))
    return labels


def format_summary(summary_table: pd.DataFrame, digits: int = 4) -> str:
    """The summary as a plain-text table with ``mean ± sem`` per metric."""
    import pandas as pd

    metrics = summary_table.attrs.get("metrics", [])
    keys = summary_table.attrs.get("configuration", ["notebook"])
    shown = pd.DataFrame({k: summary_table[k] for k in [*keys, "n", "failed"]})
    for name in metrics:
        shown[name] = [
            "-" if pd.isna(mean) else f"{mean:.{digits}g}" + ("" if pd.isna(sem) else f" ± {sem:.2g}")
            for mean, sem in zip(summary_table[f"{name}_mean"], summary_table[f"{name}_sem"], strict=True)
        ]
    return shown.to_string(index=False)


def plot_summary(summary_table: pd.DataFrame, path: str | Path = "summary.png") -> Path | None:
    """``summary.png``: one bar per configuration and metric, with standard-error bars.

    Returns the path, or None when there is no metric to plot.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, safe in any thread

    metrics = summary_table.attrs.get("metrics", [])
    if not metrics or not summary_table[[f"{m}_mean" for m in metrics]].notna().any().any():
        return None
    labels = configuration_labels(summary_table)
    width = max(4.0, 0.8 * len(labels) + 2.0)
    fig = Figure(figsize=(width, 3.2 * len(metrics)), layout="constrained")
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    positions = list(range(len(labels)))
    for ax, name in zip(axes, metrics, strict=True):
        means = summary_table[f"{name}_mean"].astype(float).fillna(0.0)
        sems = summary_table[f"{name}_sem"].astype(float).fillna(0.0)
        ax.bar(positions, means, yerr=sems, capsize=4, color="tab:blue", alpha=0.8)
        ax.set_ylabel(f"{name} (mean ± SE)")
        ax.set_xticks(positions, labels, rotation=30 if len(labels) > 4 else 0, ha="right"
                      if len(labels) > 4 else "center")
        for x, (n, top) in enumerate(zip(summary_table["n"], means + sems, strict=True)):
            ax.annotate(f"n={n}", (x, float(top)), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=8)
    axes[0].set_title("Batch summary")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())
