"""Related works by default, in-process: with Semantic Scholar set ``off`` the CLI's ``ideas``
asks it nothing and says nothing about related works (searching it by default, the disk cache and
an unreachable service are run through the console script in
tests/integration/test_related_default.py)."""

from __future__ import annotations

import logging

import pytest

from tests.support import s2 as _s2
from tests.support.s2 import DEMO_PAPER, S2Server

s2 = _s2.s2_by_default  # the fixture "s2"


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
