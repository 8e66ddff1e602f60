"""The task brief a model needs for a real task, each part bounded in size.

What AIDE's ``data_preview`` and MLAgentBench's file tools give their models, as prompt fragments:
the workspace tree with sizes, an overview of every data file (shape, dtypes, ranges, missing
values, a few rows with the header apart from the rows), the scorer (``eval.py``) and the
submission format it reads, the baseline script with line numbers (whole, or in numbered chunks
that name any lines left out), and the label column (or candidates when the task does not say).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .task import Task

TREE_ENTRIES = 40
DATA_SUFFIXES = frozenset({".csv", ".tsv", ".jsonl", ".json", ".parquet"})
MAX_DATA_FILES = 6
OVERVIEW_CHARS = 6000  # all data files together
MAX_COLUMNS = 30
PREVIEW_ROWS = 3
SAMPLE_BYTES = 20 * 2**20  # larger files are overviewed from their first SAMPLE_ROWS rows
SAMPLE_ROWS = 20_000
LOW_CARDINALITY = 10
EVAL_CHARS = 6000
WHOLE_LINES = 200  # a baseline up to this many lines is shown whole
CHUNK_LINES = 100
BASELINE_LINES_CAP = 800
LINE_CHARS = 300
NOTES_CHARS = 3000
_SKIP_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", ".git"})
_LABEL_WORDS = re.compile(r"^(label|labels|target|y|class|score|rating|outcome|sentiment|"
                          r"answer|relatedness|similarity|is_\w+|has_\w+)$", re.IGNORECASE)
_NOTE_FILES = re.compile(r"(description|evaluation|readme|details)", re.IGNORECASE)
_VALID_NAMES = ("valid.csv", "validation.csv", "val.csv", "dev.csv")


def human_size(size: int) -> str:
    """``1234567`` -> ``"1.2 MB"``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def workspace_tree(root: Path, max_entries: int = TREE_ENTRIES) -> str:
    """The files under ``root`` with their sizes, one per line, at most ``max_entries`` lines."""
    if not root.is_dir():
        return f"(the workspace {root} does not exist yet)"
    lines: list[str] = []
    hidden = 0

    def walk(folder: Path, depth: int) -> None:
        nonlocal hidden
        try:
            entries = sorted(folder.iterdir(), key=lambda p: (p.is_dir(), p.name))
        except OSError:
            return
        for path in entries:
            if path.is_dir():
                if path.name in _SKIP_DIRS:
                    continue
                if len(lines) >= max_entries:
                    hidden += sum(1 for p in path.rglob("*") if p.is_file())
                    continue
                lines.append(f"{'    ' * depth}{path.name}/")
                walk(path, depth + 1)
            elif len(lines) >= max_entries:
                hidden += 1
            else:
                try:
                    size = human_size(path.stat().st_size)
                except OSError:
                    size = "unreadable"
                lines.append(f"{'    ' * depth}{path.name} ({size})")

    walk(root, 0)
    if hidden:
        lines.append(f"... and {hidden} more files not listed")
    return "\n".join(lines) or "(empty)"


# -- data overview ------------------------------------------------------------------------------
@dataclass
class DataFileInfo:
    """What the overview learnt of one data file: its text and its columns."""

    name: str
    text: str
    columns: list[str]


_overview_cache: dict[tuple[str, int, int], DataFileInfo] = {}


def _read_frame(path: Path) -> tuple[Any, bool]:
    """The file as a DataFrame (a sample of the first rows when it is large) and whether sampled."""
    import pandas as pd

    sampled = path.stat().st_size > SAMPLE_BYTES
    nrows = SAMPLE_ROWS if sampled else None
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        sep = "\t" if suffix == ".tsv" else ","
        return pd.read_csv(path, sep=sep, nrows=nrows, low_memory=False), sampled
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        return (frame.head(SAMPLE_ROWS) if sampled else frame), sampled
    try:  # JSON lines first (one record per line), then a whole JSON document
        return pd.read_json(path, lines=True, nrows=nrows), sampled
    except ValueError:
        if sampled:
            raise
        return pd.read_json(path), False


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _describe_column(series: Any) -> str:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    missing = int(series.isna().sum())
    miss = f", {missing} missing" if missing else ""
    values = series.dropna()
    unique = int(values.nunique())
    head = f"- `{series.name}` ({series.dtype})"
    if values.empty:
        return f"{head}: all missing"
    if is_bool_dtype(series):
        return f"{head}: {values.mean():.1%} true{miss}"
    if is_numeric_dtype(series):
        text = f"{head}: range {values.min():.4g} .. {values.max():.4g}, mean {values.mean():.4g}"
        if unique <= LOW_CARDINALITY:
            text += f", {unique} unique values {sorted(values.unique().tolist())[:LOW_CARDINALITY]}"
        return text + miss
    strings = values.astype(str)
    mean_len = strings.str.len().mean()
    if unique <= LOW_CARDINALITY:
        shown = [v[:40] for v in strings.value_counts().index.tolist()]
        return f"{head}: {unique} unique values {shown}{miss}"
    if mean_len > 30:
        return f"{head}: text, mean length {mean_len:.0f} chars, {unique} unique{miss}"
    examples = [v[:30] for v in strings.value_counts().index.tolist()[:4]]
    return f"{head}: {unique} unique values, e.g. {examples}{miss}"


def describe_data_file(path: Path, name: str) -> DataFileInfo:
    """Shape, columns with dtypes and statistics, and a few rows of one data file."""
    try:
        stat = path.stat()
    except OSError as exc:
        return DataFileInfo(name, f"### {name}\ncannot read: {exc.strerror or exc}", [])
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _overview_cache:
        return _overview_cache[key]
    try:
        frame, sampled = _read_frame(path)
    except ImportError as exc:
        info = DataFileInfo(name, f"### {name}\ncannot be previewed here ({exc}); read it in "
                                  "code if you need it", [])
    except Exception as exc:  # a malformed file is described, never fatal to the prompt
        info = DataFileInfo(name, f"### {name}\nnot readable as a table by pandas: "
                                  f"{type(exc).__name__}: {str(exc)[:200]}", [])
    else:
        info = DataFileInfo(name, _render(frame, name, path, sampled), [str(c) for c in frame.columns])
    if len(_overview_cache) > 64:
        _overview_cache.clear()
    _overview_cache[key] = info
    return info


def _render(frame: Any, name: str, path: Path, sampled: bool) -> str:
    rows = len(frame)
    if sampled and path.suffix.lower() in {".csv", ".tsv"}:
        shape = (f"about {max(_count_lines(path) - 1, rows)} rows x {frame.shape[1]} columns "
                 f"(statistics from the first {rows} rows)")
    elif sampled:
        shape = f"{rows}+ rows x {frame.shape[1]} columns (statistics from the first {rows} rows)"
    else:
        shape = f"{rows} rows x {frame.shape[1]} columns"
    columns = [_describe_column(frame[c]) for c in frame.columns[:MAX_COLUMNS]]
    if frame.shape[1] > MAX_COLUMNS:
        rest = [str(c) for c in frame.columns[MAX_COLUMNS:]]
        more = ", ".join(rest[:40]) + (" ..." if len(rest) > 40 else "")
        columns.append(f"- ... and {len(rest)} more columns: {more}")
    table = frame.head(PREVIEW_ROWS).to_string(index=False, max_cols=12, max_colwidth=40)
    return (f"### {name}\n{shape}\n\nColumns:\n" + "\n".join(columns)
            + f"\n\nFirst {min(PREVIEW_ROWS, rows)} rows:\n```\n{table}\n```")


def data_files_of(task: Task, workspace: Path) -> list[str]:
    """Workspace-relative data files to overview: the task's data files and its test features."""
    names = list(task.data_files)
    if getattr(task, "heldout", False):
        names.append(str(getattr(task, "test_features", "test.csv")))
    found = [n for n in dict.fromkeys(names)
             if PurePosixPath(n).suffix.lower() in DATA_SUFFIXES and (workspace / n).is_file()]
    return found[:MAX_DATA_FILES]


def data_overview(task: Task, workspace: Path) -> tuple[str, list[DataFileInfo]]:
    """The overview text of the task's data files (bounded) and what was learnt of each."""
    infos = [describe_data_file(workspace / n, n) for n in data_files_of(task, workspace)]
    parts: list[str] = []
    used = 0
    for info in infos:
        text = info.text
        if used + len(text) > OVERVIEW_CHARS:
            text = f"### {info.name}\ncolumns: {', '.join(info.columns[:60])}"
        parts.append(text)
        used += len(text)
    return "\n\n".join(parts), infos


def target_note(task: Task, infos: list[DataFileInfo]) -> str:
    """The label column, or, when no data file has the one the task names, candidate columns."""
    if not infos or all(not i.columns for i in infos):
        return f"`{task.target}` (not checked: no data file could be read as a table)"
    if any(task.target in i.columns for i in infos):
        return f"`{task.target}`"
    candidates = label_candidates(infos)
    said = ("the task does not name its label column (the default `target`)"
            if task.target == "target" else f"the task names `{task.target}`")
    listed = ", ".join(f"`{c}`" for c in candidates) or "none found"
    return (f"No data file has a column `{task.target}`: {said}. Candidate label columns: "
            f"{listed}. Check them against the task description, the baseline and the scorer.")


def label_candidates(infos: list[DataFileInfo]) -> list[str]:
    """Columns of the training data that look like labels: missing from the test file, or so named."""
    train = next((i for i in infos if "train" in i.name.lower() and i.columns), None)
    train = train or next(i for i in infos if i.columns)
    test = next((i for i in infos if "test" in i.name.lower() and i.columns and i is not train), None)
    candidates = [c for c in train.columns if test is not None and c not in test.columns]
    candidates += [c for c in train.columns if _LABEL_WORDS.match(c)]
    if not candidates and train.columns:
        candidates.append(train.columns[-1])
    return list(dict.fromkeys(candidates))[:5]


# -- the baseline ---------------------------------------------------------------------------------
def numbered_listing(source: str, *, whole_lines: int = WHOLE_LINES, chunk_lines: int = CHUNK_LINES,
                     cap_lines: int = BASELINE_LINES_CAP) -> str:
    """``source`` with line numbers: whole when short, else in numbered chunks.

    Every line up to ``cap_lines`` appears; lines past the cap are named as omitted, and a line
    longer than ``LINE_CHARS`` says how much of it was cut.
    """
    lines = source.splitlines()
    total = len(lines)
    width = len(str(total))

    def number(i: int) -> str:
        line = lines[i]
        if len(line) > LINE_CHARS:
            line = f"{line[:LINE_CHARS]} [... line cut: {len(line) - LINE_CHARS} more chars]"
        return f"{i + 1:>{width}} | {line}"

    if total <= whole_lines:
        return f"({total} lines, shown whole)\n```\n" + "\n".join(map(number, range(total))) + "\n```"
    shown = min(total, cap_lines)
    chunks = []
    for start in range(0, shown, chunk_lines):
        end = min(start + chunk_lines, shown)
        body = "\n".join(number(i) for i in range(start, end))
        chunks.append(f"Lines {start + 1}-{end} of {total}:\n```\n{body}\n```")
    if shown < total:
        chunks.append(f"Lines {shown + 1}-{total} of {total} are omitted here (the file is longer "
                      f"than {cap_lines} lines); read them from the file in a cell if you need them.")
    return "\n\n".join(chunks)


def baseline_source(task: Task, workspace: Path) -> str | None:
    """The baseline's code (a notebook's code cells joined), or None when it cannot be read."""
    path = workspace / task.baseline
    if not path.is_file():
        path = task.workspace_root / task.baseline
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if path.suffix != ".ipynb":
        return text
    try:
        cells = json.loads(text)["cells"]
        return "\n\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                           for c in cells if c.get("cell_type") == "code")
    except (ValueError, KeyError, TypeError):
        return None


# -- the scorer -----------------------------------------------------------------------------------
def scorer_section(task: Task) -> str:
    """How results are scored: eval.py's source, or the held-out scoring, or the MLR_METRIC line."""
    if task.eval_script:
        path = task.root / task.eval_script
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"`{task.eval_script}` cannot be read: {exc.strerror or exc}"
        if len(source) > EVAL_CHARS:
            head = source[: EVAL_CHARS // 2].rsplit("\n", 1)[0]
            tail = source[-EVAL_CHARS // 2:].split("\n", 1)[-1]
            omitted = source.count("\n") - head.count("\n") - tail.count("\n")
            source = f"{head}\n# [... {omitted} lines of eval.py omitted here ...]\n{tail}"
        answers = task.answer_files() if hasattr(task, "answer_files") else []
        plan = task.validation_plan() if hasattr(task, "validation_plan") else None
        held = "".join(
            f" `{a.rel}` holds the test rows with column {', '.join(f'`{c}`' for c in a.labels)} "
            "blanked: the answers are held out, and eval.py reads the originals." for a in answers)
        where = (f"the labelled dev file `{plan.dev}`" if plan is not None and plan.dev else
                 f"a validation split you carve out of `{plan.train}`" if plan is not None
                 else "a validation split of the training data")
        return (f"The copilot calls `get_score(<workspace>)` from `{task.eval_script}` (outside "
                f"the workspace; you cannot run it) on the files your cell wrote, for the "
                f"baseline and the verified best node. The search compares nodes by the "
                f"VALIDATION metric your cell reports, computed on {where} (never on the test "
                f"rows).{held} Its source:\n```python\n{source.rstrip()}\n```")
    if getattr(task, "heldout", False):
        return ("The copilot scores your test predictions against held-out labels that are not in "
                "the workspace, once, for the verified best node. The search compares nodes by the "
                "validation metric your cells report.")
    return "Nodes are compared by the metric your cell reports with `report_metric`."


def submission_section(task: Task, artifacts: dict[str, str]) -> str:
    """The files the scorer reads and their format (what the baseline wrote, else the task's)."""
    if artifacts:
        parts = [f"`{name}`, which the baseline wrote; it starts:\n```\n{head.rstrip()}\n```"
                 for name, head in list(artifacts.items())[:4]]
        return ("Write these files in this format (the scorer reads them):\n\n" + "\n\n".join(parts))
    submission = getattr(task, "submission", None)
    if getattr(task, "heldout", False) and submission:
        features = getattr(task, "test_features", "test.csv")
        return (f"Write `{submission}`: one row per row of `{features}` (features only), in the "
                f"same order, with a column named `{task.target}` (or `prediction`) holding the "
                f"predictions; for log_loss one column per class named `proba_<class>`.")
    artifacts_of = getattr(task, "eval_artifacts", None)
    names = artifacts_of() if callable(artifacts_of) else []
    if names:
        return ("The scorer reads " + ", ".join(f"`{n}`" for n in names) + ", which your cell "
                "must write itself (see the scorer's source for the format).")
    return ""


# -- notes and the whole brief ----------------------------------------------------------------------
def task_notes(task: Task, workspace: Path) -> str:
    """Short descriptive text files of the workspace (data description, evaluation details)."""
    parts: list[str] = []
    used = 0
    for rel in task.data_files:
        path = workspace / rel
        if PurePosixPath(rel).suffix.lower() not in {".txt", ".md"} or not _NOTE_FILES.search(rel):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        room = NOTES_CHARS - used
        if room < 200:
            break
        if len(text) > room:
            text = text[:room] + f"\n[... {len(text) - room} more chars in {rel}]"
        parts.append(f"`{rel}`:\n```\n{text}\n```")
        used += len(text)
    return "\n\n".join(parts)


def validation_file(task: Task) -> str | None:
    """The workspace validation file (the task's own answer when it has one)."""
    method = getattr(task, "validation_file", None)
    if callable(method):
        result = method()
        return str(result) if result else None
    by_name = {PurePosixPath(p).name: p for p in task.data_files}
    return next((by_name[n] for n in _VALID_NAMES if n in by_name), None)


def task_brief(task: Task, workspace: Path, artifacts: dict[str, str] | None = None) -> dict[str, str]:
    """The brief as prompt fragments (title -> markdown); empty parts are left out."""
    overview, infos = data_overview(task, workspace)
    source = baseline_source(task, workspace)
    listing = numbered_listing(source) if source is not None else ""
    # The parts that never change during a run come first and the workspace listing (which
    # grows as cells write files) last: a local server (llama.cpp, vLLM) reuses the evaluated
    # prompt up to the first changed token, so a step prompt's stable head is not read again.
    return {
        "Data overview": overview,
        "Target column": target_note(task, infos),
        "Task notes": task_notes(task, workspace),
        "Scorer": scorer_section(task),
        "Submission format": submission_section(task, artifacts or {}),
        f"Baseline script `{task.baseline}`": listing,
        "Workspace files (the cell's working directory)": "```\n" + workspace_tree(workspace) + "\n```",
    }


__all__ = ["DataFileInfo", "data_overview", "describe_data_file", "label_candidates",
           "numbered_listing", "scorer_section", "submission_section", "target_note", "task_brief",
           "validation_file", "workspace_tree"]
