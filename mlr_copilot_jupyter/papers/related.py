"""Related works for a research problem: Semantic Scholar search or a local BibTeX/JSONL corpus.

>>> works, warnings = find_related(problem_text, [SemanticScholarSource(), LocalCorpusSource("refs.bib")])

A source that cannot reach the network adds a line to ``warnings`` instead of failing the search.
"""

from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt

from ..errors import ConfigError, InputError, MLRCopilotError, NetworkUnavailable
from ..http_retry import parse_retry_after
from ..ideas.similarity import Embedder, TfidfEmbedder, cosine, encode, similarity_matrix
from ..models import RelatedWork
from .corpus import BibEntry, latex_to_text, load_corpus, parse_bibtex  # noqa: F401  (re-exported)

log = logging.getLogger("mlr_copilot")

S2_BASE = "https://api.semanticscholar.org"
S2_FIELDS = "title,abstract,year,url,externalIds"
_OFFLINE_HINT = "pass --related FILE with a local corpus instead"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@runtime_checkable
class RelatedWorkSource(Protocol):
    """Anything that finds related works for a query."""

    name: str

    def search(self, query: str, *, limit: int = 10) -> list[RelatedWork]: ...


class SemanticScholarSource:
    """Keyword search on the Semantic Scholar Graph API (``/graph/v1/paper/search``).

    The key comes from ``api_key`` or ``S2_API_KEY`` / ``SEMANTIC_SCHOLAR_API_KEY`` and is sent as
    ``x-api-key``. HTTP 429 and 5xx are retried ``max_retries`` times (429 honours ``Retry-After``,
    bounded by ``max_backoff``); an unreachable or persistently failing service raises
    :class:`NetworkUnavailable`. Results keep the API's relevance order; ``score`` is left unset.
    """

    name = "semantic_scholar"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = S2_BASE,
        timeout: float = 15.0,
        max_retries: int = 3,
        *,
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = (
            api_key or os.environ.get("S2_API_KEY") or os.environ.get("SEMANTIC_SCHOLAR_API_KEY")
        )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the key
        return f"SemanticScholarSource(base_url={self.base_url!r}, key={'set' if self._api_key else 'unset'})"

    def search(self, query: str, *, limit: int = 10) -> list[RelatedWork]:
        """Papers matching ``query`` (hyphens become spaces, long queries are cut at 300 chars)."""
        q = " ".join(query.replace("-", " ").split())
        if len(q) > 300:  # long natural-language queries match nothing; cut at a word boundary
            q = q[:301].rsplit(" ", 1)[0]
        if not q:
            raise InputError(
                "the Semantic Scholar query is empty; give a research problem or keywords"
            )
        params = {"query": q, "limit": str(min(max(limit, 1), 100)), "fields": S2_FIELDS}
        payload = self._get_json("/graph/v1/paper/search", params)
        items = payload.get("data") or [] if isinstance(payload, dict) else []
        return [w for w in (_s2_work(item) for item in items if isinstance(item, dict)) if w]

    def _get_json(self, path: str, params: dict[str, str]) -> Any:
        url = self.base_url + path
        host = urlsplit(url).hostname or ""
        headers = {"User-Agent": "mlr-copilot-jupyter (related works)"}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        local = host in ("localhost", "127.0.0.1", "::1")  # never send loopback through a proxy
        try:
            with httpx.Client(timeout=self.timeout, headers=headers, trust_env=not local) as client:
                retrying = Retrying(  # only 429 and 5xx answers; a transport error ends at once
                    retry=retry_if_result(lambda r: r.status_code in _RETRY_STATUS),
                    stop=stop_after_attempt(self.max_retries + 1),
                    wait=self._wait, sleep=self._sleep,
                    before=lambda state: log.debug("GET %s query=%r (attempt %d)", url,
                                                   params["query"], state.attempt_number),
                    retry_error_callback=_last_answer,  # retries spent: judge the last answer
                )
                resp: httpx.Response = retrying(client.get, url, params=params)
        except (httpx.TransportError, OSError) as exc:  # refused, DNS, timeouts
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise NetworkUnavailable(
                f"cannot reach Semantic Scholar ({reason}); {_OFFLINE_HINT}"
            ) from None
        self._raise_for_status(resp)
        try:
            return resp.json()
        except ValueError:
            raise NetworkUnavailable(
                f"Semantic Scholar answered with something that is not JSON; {_OFFLINE_HINT}"
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt, after the answer of attempt ``state.attempt_number``."""
        return self._delay(_last_answer(state), state.attempt_number - 1)

    def _delay(self, resp: httpx.Response, attempt: int) -> float:
        retry_after = parse_retry_after(resp.headers)
        delay = retry_after if retry_after is not None else self.backoff_base * 2**attempt
        return min(max(delay, 0.0), self.max_backoff)

    def _raise_for_status(self, resp: httpx.Response) -> None:
        status, tries = resp.status_code, self.max_retries + 1
        if status < 400:
            return
        if status == 429:
            raise NetworkUnavailable(
                f"Semantic Scholar rate limit (HTTP 429) still hit after {tries} tries; wait a minute, "
                f"set S2_API_KEY for a higher limit, or {_OFFLINE_HINT}"
            )
        if status >= 500:
            raise NetworkUnavailable(
                f"Semantic Scholar failed (HTTP {status}) {tries} times; {_OFFLINE_HINT}"
            )
        if status in (401, 403):
            raise ConfigError(
                f"Semantic Scholar refused the request (HTTP {status}); check S2_API_KEY or unset it"
            )
        detail = ""
        try:
            body = resp.json()
            detail = (
                str(body.get("error") or body.get("message") or "")
                if isinstance(body, dict)
                else ""
            )
        except ValueError:
            pass
        cls = InputError if status == 400 else MLRCopilotError
        raise cls(
            f"Semantic Scholar rejected the search (HTTP {status}{': ' + detail[:200] if detail else ''})"
        )


def _last_answer(state: RetryCallState) -> httpx.Response:
    """The response of the attempt tenacity just made (it waits and gives up only after one)."""
    if state.outcome is None:
        raise RuntimeError("no attempt was made")
    answer: httpx.Response = state.outcome.result()
    return answer


class LocalCorpusSource:
    """Related works from a local ``.bib``, ``.jsonl`` or ``.json`` file, ranked by text similarity.

    The file is read when the source is made, so a bad file fails early with an :class:`InputError`
    naming the file and line. ``search`` ranks entries by cosine similarity of ``title + abstract``
    to the query (TF-IDF fitted on the corpus unless an ``embedder`` is given).
    """

    def __init__(self, path: str | os.PathLike[str], embedder: Embedder | None = None) -> None:
        self.path = Path(path)
        self.name = f"local:{self.path.name}"
        self.entries: list[RelatedWork] = load_corpus(self.path)
        self._embedder = embedder
        self._corpus_vectors: Any = None

    def search(self, query: str, *, limit: int = 10) -> list[RelatedWork]:
        """The ``limit`` entries most similar to ``query``, best first, each with its ``score``."""
        if not self.entries or not query.strip():
            return []
        if self._corpus_vectors is None:
            docs = [f"{w.title}. {w.abstract}" for w in self.entries]
            emb = self._embedder
            if emb is None or (isinstance(emb, TfidfEmbedder) and not emb.fitted):
                self._embedder = TfidfEmbedder(**(emb.options if emb else {})).fit(docs)
            self._corpus_vectors = encode(docs, self._embedder)
        scores = cosine(encode([query], self._embedder), self._corpus_vectors)[0]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: max(limit, 0)]
        return [
            self.entries[i].model_copy(update={"score": round(float(scores[i]), 4), "source": self.name})
            for i in order
            if scores[i] > 0
        ]


def find_related(
    problem_text: str,
    sources: list[RelatedWorkSource],
    limit: int = 8,
    *,
    embedder: Embedder | None = None,
) -> tuple[list[RelatedWork], list[str]]:
    """Search every source for ``problem_text``; merge, drop duplicate titles, rank by similarity.

    Every work is (re)scored by its similarity to ``problem_text`` so that sources compare. A
    source raising :class:`NetworkUnavailable` contributes a warning line instead of failing.
    """
    if not problem_text.strip():
        raise InputError("the research problem is empty; nothing to search related works for")
    found: dict[str, RelatedWork] = {}
    warnings: list[str] = []
    for source in sources:
        try:
            works = source.search(problem_text, limit=limit)
        except NetworkUnavailable as exc:
            log.info("related works: %s skipped: %s", source.name, exc.one_line())
            warnings.append(f"{source.name}: {exc.one_line()}")
            continue
        for work in works:
            key = normal_title(work.title)
            if not key:
                continue
            if key in found:
                found[key] = _merge(found[key], work)
            else:
                found[key] = work
    works = list(found.values())
    if not works:
        return [], warnings
    docs = [f"{w.title}. {w.abstract}" for w in works]
    scores = similarity_matrix([problem_text], docs, embedder)[0]
    ranked = sorted(
        (w.model_copy(update={"score": round(float(s), 4)}) for w, s in zip(works, scores, strict=True)),
        key=lambda w: -(w.score or 0.0),
    )
    return ranked[: max(limit, 0)], warnings


def normal_title(title: str) -> str:
    """A title reduced to lower-case words, for spotting the same paper from two sources."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _merge(first: RelatedWork, other: RelatedWork) -> RelatedWork:
    """Keep ``first`` and fill its gaps (abstract, year, url) from ``other``."""
    update: dict[str, Any] = {}
    if len(other.abstract) > len(first.abstract):
        update["abstract"] = other.abstract
    if first.year is None and other.year is not None:
        update["year"] = other.year
    if not first.url and other.url:
        update["url"] = other.url
    return first.model_copy(update=update) if update else first


def _s2_work(item: dict[str, Any]) -> RelatedWork | None:
    title = " ".join(str(item.get("title") or "").split())
    if not title:
        return None
    ids = item.get("externalIds") or {}
    url = item.get("url") or None
    if not url and isinstance(ids, dict):
        if ids.get("DOI"):
            url = f"https://doi.org/{ids['DOI']}"
        elif ids.get("ArXiv"):
            url = f"https://arxiv.org/abs/{ids['ArXiv']}"
    year = item.get("year")
    return RelatedWork(
        title=title,
        abstract=" ".join(str(item.get("abstract") or "").split()),
        year=year if isinstance(year, int) else None,
        url=url,
        source="semantic_scholar",
    )

