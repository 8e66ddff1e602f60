"""Semantic Scholar's Retry-After really waited for, against the local fake (the rest of the
client, and local corpora, are tested in-process in tests/unit/test_related.py: those tests record
the waits instead of sleeping)."""

from __future__ import annotations

import time

from mlr_copilot_jupyter.papers.related import (
    SemanticScholarSource,
)
from tests.support import s2 as _s2
from tests.support.s2 import ANSWER, S2Server

s2 = _s2.s2_server  # the fixture "s2"


def test_429_really_sleeps(s2: S2Server) -> None:
    s2.push(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
    s2.push(200, ANSWER)
    start = time.monotonic()
    works = SemanticScholarSource(base_url=s2.url, timeout=5).search("clinical NER")
    assert len(works) == 3 and time.monotonic() - start >= 0.9
