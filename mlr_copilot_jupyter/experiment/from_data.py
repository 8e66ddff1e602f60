"""A task folder from the researcher's own data: a DataFrame or a CSV / Parquet file.

:func:`task_from_data` checks the table and the target, chooses the task type, metric and
direction from the target when they are not given (and says why in one line), splits the rows
train / valid / held-out test (stratified for classification, seed 0) and writes a ``task.toml``
folder like the bundled ones: ``train.csv``, ``valid.csv``, ``heldout/test.csv`` (labelled, never
copied into the agent's workspace), and a ``baseline.py`` that reports the validation metric and
writes ``submission.csv``. Every bad input is one :class:`~..errors.InputError` line.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .from_data_baseline import baseline_script, baseline_words
from .heldout import SUPPORTED
from .metric_infer import KNOWN_METRICS, REGRESSION_METRICS, canonical_metric, parse_direction
from .task import Budget, check_metric_override

#: a frame (or file) larger than this, by ``DataFrame.memory_usage(deep=True)``, is refused
MAX_FRAME_BYTES = 1 << 30
MIN_ROWS = 20
#: every class needs a member in train, valid and test
MIN_CLASS_ROWS = 3
#: an integer-valued target with at most this many distinct values is a classification target
MAX_INTEGER_CLASSES = 20
#: classes are imbalanced when the largest has at least this many times the rows of the smallest
IMBALANCE_RATIO = 2.0
DEFAULT_TEST_SIZE = 0.2
SEED = 0
READABLE = (".csv", ".tsv", ".parquet", ".pq")
_BUDGET = Budget()  # a written task.toml spells out the default budget


@dataclass
class TaskFromData:
    """What :func:`task_from_data` wrote and chose."""

    folder: Path
    name: str
    source: str
    target: str
    task_type: str
    metric: str
    direction: str
    reason: str
    rows: dict[str, int]
    columns: int
    classes: int | None = None
    notes: list[str] = field(default_factory=list)
    baseline: str = ""

    def choice_line(self) -> str:
        """One line: task type, metric and why, split sizes, baseline."""
        kind = self.task_type + (f" ({self.classes} classes)" if self.classes else "")
        split = "/".join(str(self.rows[k]) for k in ("train", "valid", "test"))
        how = "stratified, " if self.task_type == "classification" else ""
        notes = "".join(f"; {n}" for n in self.notes)
        return (f"task from {self.source}: {kind} of {self.target!r} — metric {self.metric} "
                f"({self.direction}): {self.reason}; split {split} train/valid/test "
                f"({how}seed {SEED}); baseline: {self.baseline}{notes}")

    def __repr__(self) -> str:
        return f"{self.choice_line()}\ntask folder: {self.folder}"


# -- reading ------------------------------------------------------------------------------------
def read_table(path: str | Path, *, max_bytes: int = MAX_FRAME_BYTES) -> Any:
    """The DataFrame of a CSV / TSV / Parquet file."""
    import pandas as pd

    file = Path(path).expanduser()
    suffix = file.suffix.lower()
    if not file.exists():
        raise InputError(f"data file {file} does not exist")
    if file.is_dir():
        raise InputError(f"data file {file} is a folder; give a .csv or .parquet file")
    if suffix not in READABLE:
        raise InputError(f"data file {file} has extension {suffix or '(none)'!r}; "
                         f"use one of {', '.join(READABLE)}")
    size = file.stat().st_size
    if size > max_bytes:
        raise InputError(f"data file {file} is {size / 2**30:.1f} GiB, over the "
                         f"{max_bytes / 2**30:.1f} GiB limit; sample it first")
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(file)
        return pd.read_csv(file, sep="\t" if suffix == ".tsv" else ",")
    except ImportError as exc:
        raise InputError(f"reading {file} needs a Parquet engine ({exc})",
                         hint="pip install pyarrow, or save the data as CSV") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"data file {file} is empty") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        why = " ".join(str(exc).split())[:160]
        raise InputError(f"data file {file} cannot be read as {suffix[1:]}: {why}") from None
    except Exception as exc:  # engines raise their own types (pyarrow.ArrowInvalid, ...)
        why = " ".join(str(exc).split())[:160]
        raise InputError(f"data file {file} cannot be read as {suffix[1:]}: "
                         f"{type(exc).__name__}: {why}") from None


def frame_bytes(frame: Any) -> int:
    """Memory of ``frame`` counting object contents (``memory_usage(deep=True)``)."""
    return int(frame.memory_usage(deep=True, index=True).sum())


def check_frame(frame: Any, source: str, *, max_bytes: int = MAX_FRAME_BYTES) -> Any:
    """``frame`` with string column names, after the shape and size checks."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{source} is a {type(frame).__name__}, not a pandas DataFrame")
    shallow = int(frame.memory_usage(deep=False, index=True).sum())
    size = shallow if shallow > max_bytes else frame_bytes(frame)  # deep only when it may pass
    if size > max_bytes:
        raise InputError(f"{source} uses {size / 2**30:.1f} GiB of memory, over the "
                         f"{max_bytes / 2**30:.1f} GiB limit; pass a sample, e.g. "
                         "df.sample(100_000, random_state=0)")
    names = [str(c) for c in frame.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{source} has duplicate column names: {', '.join(dupes[:5])}")
    return frame.set_axis(names, axis=1).reset_index(drop=True)


def check_test_size(value: float | str | None) -> float:
    """``--test-size`` as a fraction in (0, 0.5]."""
    if value is None:
        return DEFAULT_TEST_SIZE
    try:
        size = float(value)
    except (TypeError, ValueError):
        raise InputError(f"--test-size {value!r} is not a number; use a fraction such as 0.2") \
            from None
    if not (math.isfinite(size) and 0 < size <= 0.5):
        raise InputError(f"--test-size {value} is outside (0, 0.5]; use a fraction such as 0.2")
    return size


# -- choosing the task --------------------------------------------------------------------------
@dataclass
class Choice:
    task_type: str
    metric: str
    direction: str
    reason: str
    classes: int | None


def _integral(y: Any) -> bool:
    import pandas as pd

    if pd.api.types.is_integer_dtype(y):
        return True
    return bool(pd.api.types.is_float_dtype(y) and (y == y.round()).all())


def _looks_categorical(y: Any) -> bool:
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return True
    return _integral(y) and y.nunique() <= MAX_INTEGER_CLASSES


def choose_task(y: Any, target: str, metric: str | None, direction: str | None) -> Choice:
    """Task type, metric and direction for target values ``y`` (no NaN), with the reason."""
    import pandas as pd

    distinct = int(y.nunique())
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    wanted = parse_direction(direction) if direction else None
    if metric is not None:
        name = canonical_metric(metric)
        if name not in SUPPORTED:
            raise InputError(f"--metric {metric!r} is not a metric the held-out scorer knows; "
                             f"use one of {', '.join(SUPPORTED)}")
        regression = name in REGRESSION_METRICS
        if regression and not numeric:
            raise InputError(f"--metric {name} is a regression metric, but target {target!r} "
                             f"holds {y.dtype} values; use a classification metric such as "
                             "accuracy")
        if not regression and not _looks_categorical(y):
            raise InputError(f"--metric {name} is a classification metric, but target "
                             f"{target!r} holds {distinct} distinct numbers; use rmse or mae")
        known = KNOWN_METRICS[name]
        if wanted is not None and wanted != known:
            raise InputError(f"--direction {direction} contradicts --metric {name}, which is "
                             f"{'maximized' if known == 'maximize' else 'minimized'}")
        kind = "regression" if regression else "classification"
        return Choice(kind, name, known, "given by --metric",
                      None if regression else distinct)
    if _looks_categorical(y):
        counts = y.value_counts()
        ratio = counts.iloc[0] / counts.iloc[-1]
        what = (f"target is {y.dtype} with {distinct} classes"
                if not numeric else f"target has {distinct} distinct integer values")
        if wanted == "minimize":
            return Choice("classification", "log_loss", "minimize",
                          f"{what}; --direction min asks for a loss", distinct)
        if ratio >= IMBALANCE_RATIO:
            return Choice("classification", "balanced_accuracy", "maximize",
                          f"{what}, imbalanced (largest class {ratio:.1f}x the smallest), so "
                          "balanced accuracy rather than accuracy", distinct)
        return Choice("classification", "accuracy", "maximize",
                      f"{what}, roughly balanced (largest class {ratio:.1f}x the smallest)",
                      distinct)
    what = f"target is numeric with {distinct} distinct values"
    if wanted == "maximize":
        return Choice("regression", "r2", "maximize", f"{what}; --direction max asks for r2",
                      None)
    return Choice("regression", "rmse", "minimize", f"{what}, so regression on rmse", None)


# -- splitting and writing ----------------------------------------------------------------------
def task_name(source: str) -> str:
    stem = Path(source).stem if ("/" in source or "." in source) else source
    name = re.sub(r"\W+", "_", stem).strip("_").lower()
    return name[:40] or "data"


def _check_rows(frame: Any, y: Any, target: str, choice: Choice, test_size: float) -> None:
    if len(frame) < MIN_ROWS:
        raise InputError(f"only {len(frame)} rows with a {target!r} value; a task needs at "
                         f"least {MIN_ROWS} (train, valid and test splits)")
    if choice.task_type != "classification":
        return
    counts = y.value_counts()
    small = counts[counts < MIN_CLASS_ROWS]
    if len(small):
        shown = ", ".join(f"{k!r} ({v})" for k, v in small.head(3).items())
        raise InputError(f"target {target!r} has classes with fewer than {MIN_CLASS_ROWS} rows: "
                         f"{shown}; a stratified train/valid/test split needs {MIN_CLASS_ROWS} "
                         "per class (merge or drop rare classes)")
    n_test = math.ceil(test_size * len(frame))
    if n_test < len(counts):
        raise InputError(f"a test split of {n_test} rows cannot hold all {len(counts)} classes "
                         f"of {target!r}; raise --test-size or give more rows")


def _split(frame: Any, y: Any, stratify: bool, test_size: float) -> tuple[Any, Any, Any]:
    from sklearn.model_selection import train_test_split

    try:
        rest, test = train_test_split(frame, test_size=test_size, random_state=SEED,
                                      stratify=y if stratify else None)
        train, valid = train_test_split(rest, test_size=test_size, random_state=SEED,
                                        stratify=y.loc[rest.index] if stratify else None)
    except ValueError as exc:
        raise InputError(f"cannot split the rows: {' '.join(str(exc).split())}") from None
    return train, valid, test


def task_from_data(data: Any, target: str, out: str | Path, *, source: str | None = None,
                   metric: str | None = None, direction: str | None = None,
                   test_size: float | str | None = None,
                   max_bytes: int = MAX_FRAME_BYTES) -> TaskFromData:
    """Write a ``task.toml`` task folder in ``out`` from a DataFrame or a CSV / Parquet path."""
    import pandas as pd

    size = check_test_size(test_size)
    check_metric_override(None, direction)
    folder = Path(out).expanduser()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"output folder {folder} exists and is not empty; choose a new --out")
    if isinstance(data, (str, Path)):
        source = source or str(data)
        data = read_table(data, max_bytes=max_bytes)
    source = source or "the DataFrame"
    frame = check_frame(data, source, max_bytes=max_bytes)
    if target not in frame.columns:
        shown = ", ".join(list(frame.columns)[:8]) + (" ..." if frame.shape[1] > 8 else "")
        raise InputError(f"no column {target!r} in {source} (columns: {shown or 'none'})")
    if frame.shape[1] < 2:
        raise InputError(f"{source} has no feature columns besides the target {target!r}")
    notes = []
    missing = int(frame[target].isna().sum())
    if missing == len(frame):
        raise InputError(f"target {target!r} of {source} is missing (NaN) in every row")
    if missing:
        frame = frame[frame[target].notna()].reset_index(drop=True)
        notes.append(f"dropped {missing} rows with a missing {target!r}")
    y = frame[target]
    if y.nunique() < 2:
        raise InputError(f"target {target!r} of {source} has a single value "
                         f"({y.iloc[0]!r}); there is nothing to predict")
    choice = choose_task(y, target, metric, direction)
    if choice.task_type == "classification" and pd.api.types.is_float_dtype(y) and _integral(y):
        frame[target] = y = y.astype("int64")  # 1.0 -> 1 (NaN rows made the column float)
    _check_rows(frame, y, target, choice, size)
    train, valid, test = _split(frame, y, choice.task_type == "classification", size)
    name = task_name(source)
    result = TaskFromData(
        folder=folder.resolve(), name=name, source=source, target=target,
        task_type=choice.task_type, metric=choice.metric, direction=choice.direction,
        reason=choice.reason, rows={"train": len(train), "valid": len(valid), "test": len(test)},
        columns=frame.shape[1], classes=choice.classes, notes=notes,
        baseline=baseline_words(choice.task_type))
    (folder / "heldout").mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    valid.to_csv(folder / "valid.csv", index=False)
    test.to_csv(folder / "heldout" / "test.csv", index=False)
    (folder / "baseline.py").write_text(
        baseline_script(name=name, target=target, metric=choice.metric,
                        task_type=choice.task_type), encoding="utf-8")
    (folder / "task.toml").write_text(_task_toml(result, len(frame)), encoding="utf-8")
    return result


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a valid TOML basic string, escapes included


def _task_toml(r: TaskFromData, rows: int) -> str:
    kind = r.task_type + (f" with {r.classes} classes" if r.classes else "")
    split = "/".join(str(r.rows[k]) for k in ("train", "valid", "test"))
    description = "\n".join([
        f"Predict the column `{r.target}` ({kind}) of the researcher's data {r.source}: "
        f"{rows} rows, {r.columns} columns (the target and {r.columns - 1} features).",
        *(f"Note: {n}." for n in r.notes),
        f"Metric: {r.metric} ({r.direction}), chosen because: {r.reason}.",
        f"Split {split} rows into train.csv / valid.csv / a held-out test split"
        + (" (stratified, seed 0)." if r.task_type == "classification" else " (seed 0)."),
        f"The baseline is {r.baseline}. Improve the {r.metric}.",
        "Select models on valid.csv (report the validation metric); the test labels are held "
        "out: predict the features-only test.csv and write submission.csv with a "
        f"`{r.target}` column, which the copilot scores once on the held-out labels.",
    ])
    return "\n".join([
        f"name = {_toml_string(r.name)}",
        f"description = {_toml_string(description)}",
        f"task_type = {_toml_string(r.task_type)}",
        f"target = {_toml_string(r.target)}",
        'data_files = ["train.csv", "valid.csv"]',
        'baseline = "baseline.py"',
        "",
        "[test]",
        'file = "heldout/test.csv"',
        'features = "test.csv"',
        'submission = "submission.csv"',
        "",
        "[metric]",
        f"name = {_toml_string(r.metric)}",
        f"direction = {_toml_string(r.direction)}",
        "",
        "[budget]",  # the defaults, written out for the researcher to edit
        f"max_steps = {_BUDGET.max_steps}",
        f"wall_time_s = {_BUDGET.wall_time_s:g}",
        f"cell_timeout_s = {_BUDGET.cell_timeout_s:g}",
        "",
    ])
