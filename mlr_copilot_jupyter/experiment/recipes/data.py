"""What the offline engine reads from a task's data: files, label, id and text columns, pairs.

The recipes decide from the data, not from ``task_type`` alone: a table whose string columns hold
sentences is a text task, and two of them with a numeric label make a sentence-pair task.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from ..task import Task, canonical_metric

CLASSIFICATION = "classification"
REGRESSION = "regression"
#: data-file suffix -> how the generated cell reads it
READERS: dict[str, str] = {
    ".csv": "pd.read_csv({path!r})",
    ".tsv": "pd.read_csv({path!r}, sep='\\t')",
    ".jsonl": "pd.read_json({path!r}, lines=True)",
    ".json": "pd.read_json({path!r})",
}
VALID_STEMS = ("valid", "validation", "val", "dev")
LABEL_NAMES = ("target", "label", "labels", "score", "similarity", "relatedness", "y", "class")
ID_NAMES = ("id", "idx", "index", "pair_id", "row_id", "sample_id", "uid", "guid")
REGRESSION_METRICS = frozenset({"mae", "mse", "rmse", "r2", "pearson", "spearman"})
CLASSIFICATION_METRICS = frozenset(
    {"accuracy", "balanced_accuracy", "f1", "f1_macro", "precision", "recall", "roc_auc",
     "log_loss"})  # fmt: skip
_SAMPLE_ROWS = 2000
_TEXT_MIN_CHARS = 20.0
_TEXT_MIN_WORDS = 3.0


@dataclass(frozen=True)
class DataLayout:
    """Where a recipe cell reads and writes, and what the columns are.

    ``evaluate`` is the file the metric is computed on (None: an 80/20 split of ``train``);
    ``legacy`` means a labelled ``test.csv`` of a task without held-out split is that file.
    """

    train: str
    evaluate: str | None
    test: str | None
    legacy: bool
    submission: str | None
    submission_columns: tuple[str, ...]
    submission_header: bool
    target: str
    ids: tuple[str, ...]
    text: tuple[str, ...]
    kind: str  # classification / regression
    label_values: int
    #: string columns a practitioner would not one-hot encode whole (see :func:`wide_columns`):
    #: near-unique ones dropped (IDs, names), structured codes split on their separator
    #: (column, separator, parts), high-cardinality categories capped to their top values
    dropped: tuple[str, ...] = ()
    codes: tuple[tuple[str, str, int], ...] = ()
    capped: tuple[str, ...] = ()

    @property
    def shape(self) -> str:
        """``classification``, ``regression`` or ``text_``/``pair_`` + one of them."""
        if len(self.text) >= 2:
            return f"pair_{self.kind}"
        if self.text:
            return f"text_{self.kind}"
        return self.kind


def _tokens(rel: str) -> list[str]:
    return [t for t in re.split(r"[^a-z]+", PurePosixPath(rel).stem.lower()) if t]


def _data_files(task: Task) -> list[str]:
    return [rel for rel in task.data_files if PurePosixPath(rel).suffix.lower() in READERS]


def _pick(files: list[str], words: tuple[str, ...]) -> str | None:
    exact = [f for f in files if PurePosixPath(f).stem.lower() in words]
    loose = [f for f in files if any(w in _tokens(f) for w in words)]
    found = exact or loose
    return found[0] if found else None


def read_frame(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/JSONL/JSON data file as the generated cells do."""
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t", nrows=nrows)
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, nrows=nrows)
    if suffix == ".json":
        return pd.read_json(path)
    return pd.read_csv(path, nrows=nrows)


def _label(task: Task, train: pd.DataFrame, test: pd.DataFrame | None) -> str | None:
    if task.target in train.columns:
        return task.target
    if test is not None:
        missing = [c for c in train.columns if c not in test.columns]
        if len(missing) == 1:
            return str(missing[0])
    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    for name in LABEL_NAMES:
        for column in numeric:
            if str(column).lower() == name:
                return str(column)
    return None


def _ids(frame: pd.DataFrame, target: str) -> tuple[str, ...]:
    found = []
    for column in frame.columns:
        name = str(column).lower()
        if column == target:
            continue
        if name in ID_NAMES or (name.endswith("_id") and frame[column].is_unique):
            found.append(str(column))
    return tuple(found)


#: A string column with more distinct values than this share of its rows is an ID or a name.
_NEAR_UNIQUE = 0.5
#: More categories than this are capped to the most frequent ones.
_MAX_CATEGORIES = 50
_CODE_SEPARATORS = ("/", "-", "_", ":", "|")


def _code_parts(values: pd.Series) -> tuple[str, int] | None:
    """(separator, parts) when ``values`` are structured codes like ``B/0/P`` whose parts
    repeat: every value splits into the same number (2-5) of parts and one part has few values."""
    for sep in _CODE_SEPARATORS:
        split = values.str.split(sep, regex=False)
        counts = split.str.len()
        k = int(counts.mode().iloc[0]) if not counts.empty else 0
        if not 2 <= k <= 5 or (counts == k).mean() < 0.95:
            continue
        parts = split[counts == k]
        distinct = [parts.str[i].nunique() for i in range(k)]
        if min(distinct) <= _MAX_CATEGORIES and max(distinct) < len(parts):
            return sep, k
    return None


def wide_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()
                 ) -> tuple[tuple[str, ...], tuple[tuple[str, str, int], ...], tuple[str, ...]]:
    """String columns one-hot encoding would blow up: (dropped, codes, capped).

    Near-unique columns (IDs like ``0001_01``, names) are dropped, unless they are structured
    codes (``B/0/P``: deck / number / side), which are split into their parts; other columns with
    more than :data:`_MAX_CATEGORIES` categories are capped to their most frequent values.
    """
    dropped: list[str] = []
    codes: list[tuple[str, str, int]] = []
    capped: list[str] = []
    for column in frame.columns:
        if column in exclude or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = frame[column].dropna().astype(str)
        if len(values) < 20:
            continue
        distinct = values.nunique()
        if distinct <= _MAX_CATEGORIES:
            continue
        code = _code_parts(values)
        if code is not None:
            codes.append((str(column), *code))
        elif distinct / len(values) > _NEAR_UNIQUE:
            dropped.append(str(column))
        else:
            capped.append(str(column))
    return tuple(dropped), tuple(codes), tuple(capped)


def text_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """String columns that hold running text (on average >= 20 characters and >= 3 words)."""
    found = []
    for column in frame.columns:
        if column in exclude or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = frame[column].dropna().astype(str)
        if values.empty:
            continue
        chars = values.str.len().mean()
        words = values.str.split().str.len().mean()
        if chars >= _TEXT_MIN_CHARS and words >= _TEXT_MIN_WORDS:
            found.append(str(column))
    return tuple(found)


def _kind(task: Task, label: pd.Series) -> str:
    metric = canonical_metric(task.metric.name)
    if metric in {"pearson", "spearman"}:
        return REGRESSION
    declared = task.task_type.lower()
    if "regress" in declared:
        return REGRESSION
    if "classif" in declared or declared in {"binary", "multiclass"}:
        return CLASSIFICATION
    if metric in REGRESSION_METRICS:
        return REGRESSION
    if metric in CLASSIFICATION_METRICS:
        return CLASSIFICATION
    values = label.dropna()
    if not pd.api.types.is_numeric_dtype(values):
        return CLASSIFICATION
    fractional = bool((values.astype(float) % 1 != 0).any())
    return REGRESSION if fractional or values.nunique() > 20 else CLASSIFICATION


def _artifact_format(
    artifacts: Mapping[str, str], test_columns: list[str]
) -> tuple[str, tuple[str, ...], bool] | None:
    for rel, head in artifacts.items():
        suffix = PurePosixPath(rel).suffix.lower()
        if suffix not in {".csv", ".tsv"} or not head.strip():
            continue
        sep = "\t" if suffix == ".tsv" else ","
        first = next(csv.reader(io.StringIO(head.splitlines()[0]), delimiter=sep), [])
        numeric = all(re.fullmatch(r"-?[\d.eE+-]+", f.strip() or "x") for f in first)
        if first and not numeric:
            return rel, tuple(c.strip() for c in first), True
        if len(first) == 2 and test_columns:  # no header: an id column, then the prediction
            return rel, (test_columns[0], "prediction"), False
        return rel, ("prediction",), False
    return None


def _eval_format(
    task: Task, target: str, ids: tuple[str, ...]
) -> tuple[str, tuple[str, ...], bool] | None:
    if task.eval_script is None:
        return None
    try:
        source = (task.root / task.eval_script).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    scripts = (task.root / task.eval_script).parent
    own = {PurePosixPath(f).name for f in task.workspace_files()}
    literals = re.findall(r"""["']([\w./-]+\.(?:csv|tsv))["']""", source)
    written = [lit for lit in literals if PurePosixPath(lit).name not in own
               and not (scripts / lit).exists()]
    if not written:
        return None
    name = PurePosixPath(written[0]).name
    columns: list[str] = []
    for var in re.findall(rf"(\w+)\s*=\s*[^\n]*{re.escape(name)}", source):
        columns += re.findall(rf"""\b{re.escape(var)}\s*\[\s*["']([^"']+)["']\s*\]""", source)
    if not columns:
        columns = ["prediction" if re.search(r"""["']prediction["']""", source) else target]
    named = [i for i in ids if re.search(rf"""["']{re.escape(i)}["']""", source)]
    return written[0], tuple(dict.fromkeys([*named, *columns])), True


_CACHE: dict[tuple[object, ...], DataLayout | str] = {}


def _stamp(task: Task) -> tuple[object, ...]:
    stamps = []
    for rel in task.data_files:
        try:
            stat = (task.workspace_root / rel).stat()
            stamps.append((rel, stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append((rel, 0, 0))
    return (str(task.root), task.workspace_dir, task.target, task.layout, task.task_type,
            task.metric.name, task.eval_script, bool(getattr(task, "heldout", False)),
            str(getattr(task, "test_features", "")), str(getattr(task, "submission", "")),
            tuple(stamps))


def inspect(task: Task, artifacts: Mapping[str, str] | None = None) -> DataLayout | str:
    """The task's data layout, or one line saying why the offline recipes cannot use it."""
    key = (*_stamp(task), tuple(sorted((artifacts or {}).items())))
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = _inspect(task, artifacts)
    return _CACHE[key]


def _inspect(task: Task, artifacts: Mapping[str, str] | None) -> DataLayout | str:
    files = _data_files(task)
    train = _pick(files, ("train", "training"))
    found = ", ".join(task.data_files[:8]) or "none"
    if train is None:
        return f"no train/test data files it recognises (found: {found})"
    heldout = bool(getattr(task, "heldout", False))
    evaluate = _pick([f for f in files if f != train], VALID_STEMS)
    test = _pick([f for f in files if f not in {train, evaluate}], ("test",))
    root = task.workspace_root
    try:
        train_frame = read_frame(root / train, nrows=_SAMPLE_ROWS)
        test_frame = read_frame(root / test, nrows=50) if test else None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return f"cannot read {train if test is None else f'{train} / {test}'}: {exc}"[:300]
    target = _label(task, train_frame, test_frame)
    if target is None:
        return (f"{train} has no label column {task.target!r} and none could be detected "
                f"(columns: {', '.join(map(str, train_frame.columns[:8]))})")
    legacy = (not heldout and task.layout == "task.toml" and test is not None
              and evaluate is None and test_frame is not None and target in test_frame.columns)
    submission: str | None = None
    columns: tuple[str, ...] = (target,)
    header = True
    if heldout:
        test = str(getattr(task, "test_features", "test.csv"))
        submission = str(getattr(task, "submission", "submission.csv"))
    elif task.eval_script is not None:
        if test is None:
            return f"no test data file to predict for eval.py (found: {found})"
        test_cols = list(map(str, test_frame.columns)) if test_frame is not None else []
        fmt = _artifact_format(artifacts or {}, test_cols) or _eval_format(
            task, target, _ids(test_frame, target) if test_frame is not None else ())
        submission, columns, header = fmt or ("submission.csv", ("prediction",), True)
    elif not legacy:
        test = None
    if legacy and task.eval_script is None:
        submission = None
    label = train_frame[target]
    ids = _ids(train_frame if test_frame is None else test_frame, target)
    text = text_columns(train_frame, exclude=(target, *ids))
    dropped, codes, capped = wide_columns(train_frame, exclude=(target, *ids, *text))
    return DataLayout(
        train=train, evaluate=test if legacy else evaluate, test=None if legacy else test,
        legacy=legacy, submission=submission, submission_columns=columns,
        submission_header=header, target=target, ids=ids, text=text, kind=_kind(task, label),
        label_values=int(label.nunique()), dropped=dropped, codes=codes, capped=capped,
    )
