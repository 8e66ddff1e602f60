"""Related works by default: Semantic Scholar (a local fake here) is searched when no corpus is
given, answers are cached on disk, and an unreachable service costs one warning line; through
the console script (``off`` is checked in-process in tests/unit/test_related_default.py)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support import s2 as _s2
from tests.support.cli import cli_command, subprocess_env
from tests.support.s2 import ANSWER, DEMO_PAPER, S2Server, free_port

s2 = _s2.s2_by_default  # the fixture "s2"


def _ideas(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), "ideas", str(DEMO_PAPER), "-n", "2", "--json", *extra],
                          capture_output=True, text=True, timeout=120, env=subprocess_env())


def test_semantic_scholar_is_searched_by_default_and_cached(s2: S2Server) -> None:
    s2.push(200, ANSWER)
    first = _ideas()
    assert first.returncode == 0, first.stderr
    titles = {w["title"] for w in json.loads(first.stdout)["problem"]["related_works"]}
    assert "Contrastive Pretraining for Clinical NER" in titles
    assert len(s2.requests) == 1 and s2.requests[0]["path"] == "/graph/v1/paper/search"
    second = _ideas()  # same query: answered from the disk cache, the server is not asked
    assert second.returncode == 0, second.stderr
    assert len(s2.requests) == 1
    assert titles == {w["title"] for w in json.loads(second.stdout)["problem"]["related_works"]}
    _ideas("--no-semantic-scholar")
    assert len(s2.requests) == 1


def test_unreachable_service_is_one_line_and_ideas_still_come(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_SEMANTIC_SCHOLAR", "auto")
    monkeypatch.setenv("MLR_COPILOT_S2_URL", f"http://127.0.0.1:{free_port()}")
    result = _ideas()
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "related works" in line]
    assert len(warnings) == 1 and "no related works were available" in warnings[0]
    assert len(json.loads(result.stdout)["ideas"]) == 2
