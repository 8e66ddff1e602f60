"""Related works by default: Semantic Scholar when reachable, cached on disk.

``MLR_COPILOT_SEMANTIC_SCHOLAR`` = ``auto`` (default: query, one warning line when unreachable)
or ``off`` (never query). ``MLR_COPILOT_S2_URL`` points at another Graph API host (tests, mirrors),
``S2_API_KEY`` raises the rate limit, ``MLR_COPILOT_CACHE_DIR`` moves the cache (default
``~/.cache/mlr-copilot-jupyter``). A cached answer is reused without the network.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import NetworkUnavailable
from ..models import RelatedWork
from ..paths import user_cache_dir
from .related import S2_BASE, SemanticScholarSource

SWITCH_ENV = "MLR_COPILOT_SEMANTIC_SCHOLAR"
URL_ENV = "MLR_COPILOT_S2_URL"
#: Seconds a default (not asked-for) search may wait: a missing network must not stall ideas.
DEFAULT_TIMEOUT = 6.0


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "auto").strip().lower() not in ("off", "0", "no", "false")


def cache_dir() -> Path:
    return user_cache_dir() / "semantic_scholar"


class CachedSemanticScholar:
    """A :class:`SemanticScholarSource` whose answers are kept on disk by query and limit."""

    name = "semantic_scholar"

    def __init__(self, source: SemanticScholarSource | None = None,
                 folder: Path | None = None) -> None:
        self.source = source or SemanticScholarSource(
            base_url=os.environ.get(URL_ENV) or S2_BASE, timeout=DEFAULT_TIMEOUT, max_retries=1,
            max_backoff=3.0)
        self.folder = folder or cache_dir()

    def _path(self, query: str, limit: int) -> Path:
        key = hashlib.sha256(f"{self.source.base_url}\n{limit}\n{query}".encode()).hexdigest()
        return self.folder / f"{key[:32]}.json"

    def search(self, query: str, *, limit: int = 10) -> list[RelatedWork]:
        path = self._path(query, limit)
        if path.is_file():
            try:
                return [RelatedWork(**w) for w in json.loads(path.read_text(encoding="utf-8"))]
            except (ValueError, TypeError):
                pass  # a damaged cache entry is fetched again
        works = self.source.search(query, limit=limit)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps([w.model_dump() for w in works]))
        except OSError:  # a read-only home must not cost the result
            pass
        return works


def unreachable_line(exc: NetworkUnavailable) -> str:
    return (f"related works: {exc.one_line()}; the ideas say no related works were available")


__all__ = ["CachedSemanticScholar", "enabled", "cache_dir", "unreachable_line",
           "NetworkUnavailable"]
