"""Model and dataset retrieval for the ExperimentAgent: the Hugging Face Hub plus local options.

:func:`retrieve` asks the chosen sources, merges and re-ranks their candidates (BM25 + Hub
popularity, optional HyDE query from the LLM) and returns a :class:`RetrievalResult`. A Hub
that cannot be reached becomes a warning and the local candidates still come back.

>>> from mlr_copilot_jupyter.retrieval import retrieve
>>> result = retrieve("sentence similarity", "model", source="all", limit=5)
>>> result.candidates[0].usage, result.warnings
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InputError, MLRCopilotError
from .hub import HubSource
from .rank import bm25_scores, hyde_query, rank, tokenize
from .sources import Candidate, DatasetSource, LocalSource, ModelSource, check_kind

__all__ = [
    "SOURCES", "Candidate", "DatasetSource", "HubSource", "LocalSource", "ModelSource",
    "RetrievalResult", "bm25_scores", "hyde_query", "rank", "retrieve", "tokenize",
]

SOURCES: tuple[str, ...] = ("all", "hub", "local")
SourceName = Literal["all", "hub", "local"]


@dataclass
class RetrievalResult:
    """Ranked candidates (best first) and the warnings met on the way (e.g. Hub unreachable)."""

    query: str
    kind: str
    candidates: list[Candidate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ranking_query: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what ``--json`` prints)."""
        return {"query": self.query, "kind": self.kind,
                "candidates": [c.model_dump() for c in self.candidates],
                "warnings": list(self.warnings)}

    def table(self) -> str:
        """The candidates as a plain-text table (no warnings)."""
        if not self.candidates:
            return f"no {self.kind}s found for {self.query!r}"
        rows = [("#", "id", "source", "task", "downloads", "score", "description")]
        rows += [(str(i), c.id, c.source, c.task or "-", _count(c.downloads), f"{c.score:.3f}",
                  _clip(c.description, 60)) for i, c in enumerate(self.candidates, 1)]
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]) - 1)]
        return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[-1]
                         for row in rows)

    def __repr__(self) -> str:
        return "\n".join([*(f"warning: {w}" for w in self.warnings), self.table()])

    def _repr_html_(self) -> str:
        esc = html.escape
        warn = "".join(f"<div style='color:#b36b00'>warning: {esc(w)}</div>" for w in self.warnings)
        if not self.candidates:
            return warn + f"<p><i>no {esc(self.kind)}s found for {esc(self.query)!r}</i></p>"
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("#", "id", "source", "task", "downloads", "likes", "score", "description",
                        "usage"))
        body = []
        for i, c in enumerate(self.candidates, 1):
            name = (f"<a href='{esc(c.url)}' target='_blank'>{esc(c.id)}</a>" if c.url
                    else esc(c.id))
            body.append(
                f"<tr><td>{i}</td><td>{name}</td><td>{c.source}</td><td>{esc(c.task or '')}</td>"
                f"<td>{_count(c.downloads)}</td><td>{_count(c.likes)}</td><td>{c.score:.3f}</td>"
                f"<td style='text-align:left'>{esc(c.description)}</td>"
                f"<td style='text-align:left'><code>{esc(c.usage)}</code></td></tr>")
        return (f"{warn}<table class='mlr-retrieval'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")


def retrieve(
    query: str,
    kind: str = "model",
    *,
    task_type: str | None = None,
    source: str = "all",
    limit: int = 10,
    backend: Any = None,
    hub: HubSource | None = None,
    local: LocalSource | None = None,
) -> RetrievalResult:
    """Models or datasets for ``query``, ranked best first.

    ``source`` is ``"all"`` (Hub and local), ``"hub"`` or ``"local"``. With an LLM ``backend``
    the re-ranking uses a HyDE query (:func:`hyde_query`); the Hub is searched with ``query``.
    Hub failures become warnings; with ``source="hub"`` the result is then empty.
    """
    kind = check_kind(kind)
    if source not in SOURCES:
        raise InputError(f"unknown source {source!r}; use one of: {', '.join(SOURCES)}")
    if limit < 1:
        raise InputError(f"limit must be >= 1, got {limit}")
    result = RetrievalResult(query=query, kind=kind, ranking_query=query)
    try:
        result.ranking_query = hyde_query(query, backend, kind=kind)
    except MLRCopilotError as exc:
        result.warnings.append(f"HyDE query failed, ranking with the plain query: {exc.one_line()}")
    found: list[Candidate] = []
    if source in ("all", "hub"):
        hub = hub or HubSource(kind)
        try:
            found += hub.search(query, task_type=task_type, limit=limit)
            result.warnings += hub.warnings
        except MLRCopilotError as exc:
            result.warnings.append(exc.one_line())
    if source in ("all", "local"):
        local = local or LocalSource(kind)
        found += local.search(result.ranking_query, task_type=task_type, limit=limit)
    result.candidates = rank(result.ranking_query, found, task_type=task_type)[:limit]
    return result


def _count(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
