"""Semantic Scholar's Retry-After really waited for, against the local fake (the rest of the
client, and local corpora, are tested in-process in tests/unit/test_related.py: those tests record
the waits instead of sleeping)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mlr_copilot_jupyter.papers.related import (
    SemanticScholarSource,
)
from tests.support.s2 import ANSWER, S2Server


@pytest.fixture
def s2(monkeypatch: pytest.MonkeyPatch) -> Iterator[S2Server]:
    monkeypatch.delenv("S2_API_KEY", raising=False)
    monkeypatch.delenv("SEMANTIC_SCHOLAR_API_KEY", raising=False)
    srv = S2Server()
    yield srv
    srv.close()


def test_429_really_sleeps(s2: S2Server) -> None:
    s2.push(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
    s2.push(200, ANSWER)
    start = time.monotonic()
    works = SemanticScholarSource(base_url=s2.url, timeout=5).search("clinical NER")
    assert len(works) == 3 and time.monotonic() - start >= 0.9
