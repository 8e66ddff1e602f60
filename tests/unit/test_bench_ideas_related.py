"""`bench-ideas` asks Semantic Scholar for each paper's related works by default, as `ideas`
does (issue 27): here a local fake; `semantic_scholar=False` (`--no-semantic-scholar`) asks
nothing; an unreachable service gives one warning and the benchmark still runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import s2 as _s2
from tests.support.s2 import ANSWER, DEMO_PAPER, S2Server, free_port

s2 = _s2.s2_by_default  # the fixture "s2"


def test_bench_ideas_asks_semantic_scholar_per_paper_by_default(
    s2: S2Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlr_copilot_jupyter.api import Copilot

    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path / "cache"))
    s2.push(200, ANSWER)
    copilot = Copilot(run_dir=str(tmp_path / "runs"))
    scores = copilot.bench_ideas([DEMO_PAPER], 1)
    assert len(s2.requests) == 1 and copilot.warnings == []
    assert {s.arm for s in scores} == {"full", "core-paper"}

    off = Copilot(run_dir=str(tmp_path / "runs"))
    off.bench_ideas([DEMO_PAPER], 1, semantic_scholar=False)
    assert len(s2.requests) == 1 and off.warnings == []

    monkeypatch.setenv("MLR_COPILOT_S2_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path / "cache2"))
    down = Copilot(run_dir=str(tmp_path / "runs"))
    assert len(down.bench_ideas([DEMO_PAPER, DEMO_PAPER], 1)) == 4
    assert len(down.warnings) == 1 and "related works" in down.warnings[0]
