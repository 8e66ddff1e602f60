"""Related works by default, in-process: with Semantic Scholar set ``off`` the CLI's ``ideas``
asks it nothing and says nothing about related works (searching it by default, the disk cache and
an unreachable service are run through the console script in
tests/integration/test_related_default.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.s2 import S2Server

DEMO_PAPER = Path(__file__).resolve().parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


@pytest.fixture
def s2(monkeypatch: pytest.MonkeyPatch) -> Iterator[S2Server]:
    monkeypatch.delenv("S2_API_KEY", raising=False)
    srv = S2Server()
    monkeypatch.setenv("MLR_COPILOT_SEMANTIC_SCHOLAR", "auto")
    monkeypatch.setenv("MLR_COPILOT_S2_URL", srv.url)
    yield srv
    srv.close()


def test_off_means_no_request(s2: S2Server, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from mlr_copilot_jupyter.cli import main

    logger = logging.getLogger("mlr_copilot")  # main() routes its warnings to stderr lines
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "propagate", logger.propagate)
    monkeypatch.setenv("MLR_COPILOT_SEMANTIC_SCHOLAR", "off")
    assert main(["ideas", str(DEMO_PAPER), "-n", "2", "--json"]) == 0
    assert not s2.requests
    assert "related works" not in capsys.readouterr().err
