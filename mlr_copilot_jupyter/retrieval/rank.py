"""Ranking of model and dataset candidates: BM25 over id, tags and description, plus popularity.

``score = bm25 / max(bm25) + POPULARITY_WEIGHT * log1p(downloads) / log1p(max downloads)``
(popularity only for Hub results) ``+ TASK_BOOST`` when the candidate's task matches the
requested task type. Optional HyDE (:func:`hyde_query`): the LLM writes a hypothetical
description of the ideal model or dataset, and that text is the query the ranking uses.

>>> from mlr_copilot_jupyter.retrieval.rank import rank
>>> [c.id for c in rank("sentence similarity", candidates)]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..llm.base import Message
from ..llm.solvers import register_solver

if TYPE_CHECKING:
    from .candidate import Candidate

K1 = 1.5
B = 0.75
POPULARITY_WEIGHT = 0.3
TASK_BOOST = 0.5

_STOP = frozenset(
    "a an and are as at be by for from has in is it its of on or that the this to was were will "
    "with using use used model models dataset datasets data based via into".split()
)
# The project's task words for estimator kinds ("classifier" asks for "classification").
_TASK_ALIASES = {"classifier": "classification", "regressor": "regression",
                 "cluster": "clustering", "clusterer": "clustering"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stop words; CamelCase and ``snake-case`` ids are split."""
    words = re.findall(r"[A-Za-z0-9]+", _CAMEL.sub(" ", text or ""))
    return [_stem(w.lower()) for w in words if w.lower() not in _STOP]


def _stem(word: str) -> str:
    # Plural folding only: enough for "embeddings"/"embedding", safe for short ids like "bas".
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def bm25_scores(query: str, documents: Sequence[str], k1: float = K1, b: float = B) -> list[float]:
    """Okapi BM25 score of each document for ``query`` (IDF from ``documents`` themselves)."""
    docs = [tokenize(d) for d in documents]
    terms = set(tokenize(query))
    if not docs or not terms:
        return [0.0] * len(docs)
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n or 1.0
    df = Counter(t for d in docs for t in set(d) if t in terms)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    scores = []
    for doc in docs:
        tf = Counter(doc)
        norm = k1 * (1 - b + b * len(doc) / avgdl)
        scores.append(sum(idf[t] * tf[t] * (k1 + 1) / (tf[t] + norm) for t in terms if tf[t]))
    return scores


def document(candidate: Candidate) -> str:
    """The text BM25 indexes for a candidate: id, task, tags and description."""
    return " ".join([candidate.id, candidate.task or "", " ".join(candidate.tags),
                     candidate.description, candidate.search_text])


def task_matches(candidate: Candidate, task_type: str) -> bool:
    """Whether the candidate's task or tags name ``task_type`` ("classification" matches
    "text-classification"; "sentence similarity" matches "sentence-similarity")."""
    wanted = {_TASK_ALIASES.get(t, t) for t in tokenize(task_type)}
    if not wanted:
        return True
    labels = [candidate.task or "", *candidate.tags]
    return any(wanted <= set(tokenize(label)) for label in labels if label)


def rank(
    query: str,
    candidates: Sequence[Candidate],
    *,
    task_type: str | None = None,
    drop_unmatched: bool = False,
) -> list[Candidate]:
    """Candidates sorted best first, each a copy with its ``score`` set.

    With ``task_type``, candidates whose task matches get :data:`TASK_BOOST` and, when at least
    one matches, the others are left out. ``drop_unmatched`` leaves out candidates no query
    term matches (local sources use it; Hub results already matched the Hub's own search).
    """
    items = list(candidates)
    if not items:
        return []
    if task_type:
        matching = [c for c in items if task_matches(c, task_type)]
        items = matching or items
    bm25 = bm25_scores(query, [document(c) for c in items])
    drop_unmatched = drop_unmatched and bool(tokenize(query))
    top = max(bm25) or 1.0
    top_downloads = math.log1p(max((c.downloads or 0) for c in items)) or 1.0
    ranked: list[tuple[float, float, Candidate]] = []
    for candidate, relevance in zip(items, bm25, strict=True):
        if drop_unmatched and relevance <= 0:
            continue
        score = relevance / top
        if candidate.source == "hub":
            score += POPULARITY_WEIGHT * math.log1p(candidate.downloads or 0) / top_downloads
        if task_type and task_matches(candidate, task_type):
            score += TASK_BOOST
        ranked.append((score, relevance, candidate.model_copy(update={"score": round(score, 4)})))
    ranked.sort(key=lambda item: (-item[0], -item[1], item[2].id.lower()))
    return [c for _, _, c in ranked]


HYDE_PROMPT = """You help pick a {kind} for a machine-learning experiment. Here is the plan:

{plan}

Write a short description (3-5 sentences) of the ideal {kind} for this plan, as it would read on
its Hugging Face card: what it is, the task (e.g. text-classification, sentence-similarity), the
data or domain, and typical tags. Describe it; do not name a specific existing repository."""


def hyde_query(plan_text: str, backend: Any = None, *, kind: str = "model") -> str:
    """The query for re-ranking: a hypothetical description written by the backend, then the plan.

    Without a backend this returns ``plan_text`` unchanged, and so does the offline engine (its
    "hyde" solver writes nothing: it cannot describe a model it has not seen).
    LLM errors propagate (:func:`~mlr_copilot_jupyter.retrieval.retrieve` turns them into a
    warning and ranks with the plain query).
    """
    if backend is None or not plan_text.strip():
        return plan_text
    reply = backend.query(HYDE_PROMPT.format(kind=kind, plan=plan_text.strip()), label="hyde",
                          inputs=plan_text)
    hypothetical = (reply.text or "").strip()
    return f"{hypothetical}\n{plan_text}" if hypothetical else plan_text


def _solve_hyde(messages: list[Message], inputs: object) -> str:
    """Offline solver for the "hyde" call: no hypothetical description (the plan stays the query)."""
    return ""


register_solver("hyde", _solve_hyde)
