"""The researcher's notebook context, sent to the LLM only with consent (``--context notebook``).

Two parts: the schema of the data (columns, dtypes, ranges or top categories, missing counts, a
few rows) and the sources of the notebook's recent input cells, without this copilot's own magic
lines. Both are trimmed to a character budget and redacted (API-key shapes, ``*_KEY = "..."``
assignments) before they reach a prompt or the record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..llm.base import redact

CONTEXT_CHOICES = ("none", "notebook")
SCHEMA_CHARS = 2500
CELLS_CHARS = 4000
CELL_CHARS = 1200
RECENT_CELLS = 10
SAMPLE_ROWS = 5
_OWN_LINE = re.compile(r"^\s*(%{1,2}mlr_|%load_ext\s+mlr_copilot_jupyter|"
                       r".*get_ipython\(\)\.run_(line|cell)_magic\(\s*['\"]mlr_)")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(\b\w*(?:api_?key|token|secret|password|passwd)\w*\s*[=:]\s*)(['\"])[^'\"\n]{4,}\2")
_TOKEN_SHAPES = (re.compile(r"\bhf_[A-Za-z0-9]{16,}"), re.compile(r"\bgh[pousr]_[A-Za-z0-9]{16,}"),
                 re.compile(r"\bAKIA[0-9A-Z]{16}\b"))


def redact_context(text: str, *secrets: str | None) -> str:
    """``text`` with the given secrets, API-key shapes and secret assignments replaced by ***."""
    text = redact(text, *secrets)
    text = _SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}***{m.group(2)}", text)
    for pattern in _TOKEN_SHAPES:
        text = pattern.sub("***", text)
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 30].rstrip() + "\n[... trimmed]"


def _column_summary(series: Any) -> str:
    import pandas as pd

    values = series.dropna()
    if values.empty:
        return "all missing"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return f"min {values.min():.6g}, max {values.max():.6g}, {values.nunique()} distinct"
    top = values.astype(str).value_counts().head(3)
    shown = ", ".join(f"{str(k)[:30]!r} ({v})" for k, v in top.items())
    return f"{values.nunique()} distinct; top {shown}"


def schema_text(frame: Any, source: str, target: str | None = None,
                limit: int = SCHEMA_CHARS) -> str:
    """Columns, dtypes, ranges / top categories, missing counts and a few rows of ``frame``."""
    lines = [f"Data {source}: {len(frame)} rows x {frame.shape[1]} columns"
             + (f"; target `{target}`" if target else ""), "",
             "| column | dtype | missing | summary |", "|---|---|---|---|"]
    for name in list(frame.columns)[:40]:
        series = frame[name]
        lines.append(f"| {str(name)[:40]} | {series.dtype} | {int(series.isna().sum())} | "
                     f"{_column_summary(series)} |")
    if frame.shape[1] > 40:
        lines.append(f"| ... {frame.shape[1] - 40} more columns | | | |")
    sample = frame.head(SAMPLE_ROWS).to_csv(index=False)
    sample = "\n".join(line[:200] for line in sample.splitlines())
    lines += ["", f"First {min(SAMPLE_ROWS, len(frame))} rows:", "```csv", sample, "```"]
    return _clip("\n".join(lines), limit)


def recent_cells(inputs: Sequence[str], n: int = RECENT_CELLS, limit: int = CELLS_CHARS) -> str:
    """The last ``n`` non-empty input cells (this copilot's magic lines removed), oldest first;
    each cell is cut to ``CELL_CHARS`` so one long cell does not crowd out the others, and the
    newest cells are kept when the budget is short."""
    kept: list[str] = []
    used = 0
    for source in reversed(list(inputs)):
        lines = [ln for ln in str(source).splitlines() if not _OWN_LINE.match(ln)]
        text = "\n".join(lines).strip()
        if not text:
            continue
        block = f"```python\n{_clip(text, min(CELL_CHARS, limit - 20))}\n```"
        if used + len(block) > limit:
            break
        kept.append(block)
        used += len(block)
        if len(kept) >= n:
            break
    return "\n\n".join(reversed(kept))


def notebook_context(inputs: Sequence[str], *, frame: Any = None, source: str = "",
                     target: str | None = None, secrets: Sequence[str | None] = ()) -> str:
    """The whole context text (schema when a frame is given, then recent cells), redacted."""
    parts = []
    if frame is not None:
        parts.append("**Data schema**\n\n" + schema_text(frame, source, target))
    cells = recent_cells(inputs)
    parts.append("**Recent notebook cells (oldest first)**\n\n"
                 + (cells or "(no earlier input cells)"))
    return redact_context("\n\n".join(parts), *secrets)
