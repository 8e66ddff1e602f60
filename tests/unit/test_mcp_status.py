"""What ``run_status`` says is what its description documents (issue 27): the returned keys are
:data:`STATUS_FIELDS`, ``report_ready`` is the one field to wait on before ``get_report``, and a
run found on disk gets the same fields. The whole journey over the protocol is in
``tests/integration/test_mcp.py``; here the registry reads real journals written by the journal
model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.experiment.journal import Journal, Node
from mlr_copilot_jupyter.experiment.task import bundled_tasks
from mlr_copilot_jupyter.mcp_server import tools
from mlr_copilot_jupyter.mcp_server.runs import STATUS_FIELDS, RunRegistry
from mlr_copilot_jupyter.mcp_server.service import PROBLEM_FIELDS
from mlr_copilot_jupyter.models import ResearchProblem
from tests.support import s2 as _s2
from tests.support.s2 import ANSWER, DEMO_PAPER, S2Server, free_port

s2 = _s2.s2_by_default  # the fixture "s2"


def _journal(run_dir: Path, status: str) -> None:
    journal = Journal(run_id=run_dir.name, task="digits", metric_name="accuracy",
                      direction="maximize")
    journal.status = status  # type: ignore[assignment]
    journal.nodes.append(Node(id="n0", kind="baseline", step=0, status="ok", metric=0.9))
    run_dir.mkdir(parents=True)
    journal.save(run_dir / "journal.json")


def test_status_returns_exactly_the_documented_fields(tmp_path: Path) -> None:
    _journal(tmp_path / "r1", "done")
    status = RunRegistry().status("r1", tmp_path / "r1")
    assert list(status) == list(STATUS_FIELDS)
    for name in STATUS_FIELDS:
        assert f"`{name}`" in tools.RUN_STATUS


def test_report_ready_only_when_the_run_ended_and_its_report_is_written(tmp_path: Path) -> None:
    registry = RunRegistry()
    _journal(tmp_path / "ended", "done")
    before = registry.status("ended", tmp_path / "ended")
    assert before["done"] and before["status"] == "done" and not before["report_ready"]
    (tmp_path / "ended" / "report.md").write_text("# report\n")
    assert registry.status("ended", tmp_path / "ended")["report_ready"]
    # a run left "running" on disk and not live in this server was killed: it ended, as
    # interrupted; without a report get_report would fail, so it is not ready
    _journal(tmp_path / "killed", "running")
    killed = registry.status("killed", tmp_path / "killed")
    assert killed["done"] and killed["status"] == "interrupted" and killed["error"]
    assert not killed["report_ready"]
    (tmp_path / "killed" / "report.md").write_text("# report up to the interruption\n")
    assert registry.status("killed", tmp_path / "killed")["report_ready"]


def test_descriptions_come_from_the_real_tasks_and_fields() -> None:
    for task in bundled_tasks():
        assert task in tools.RUN_EXPERIMENT
    assert "report_ready" in tools.RUN_EXPERIMENT
    assert set(PROBLEM_FIELDS) == set(ResearchProblem.model_fields)
    for name in PROBLEM_FIELDS:
        assert f"`{name}`" in tools.EXTRACT_PROBLEM
    assert "recent works" not in tools.EXTRACT_PROBLEM


def _service(tmp_path: Path) -> Any:
    from mlr_copilot_jupyter.api import Copilot
    from mlr_copilot_jupyter.mcp_server.guard import Folders
    from mlr_copilot_jupyter.mcp_server.service import ResearchService

    copilot = Copilot(run_dir=str(tmp_path / "runs"))  # the offline engine (hermetic conftest)
    service = ResearchService(copilot, Folders(tmp_path / "runs", [DEMO_PAPER.parent]))
    service.read_paper(str(DEMO_PAPER))
    return service


def test_generate_ideas_asks_semantic_scholar_by_default_and_not_when_told(
    s2: S2Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As `mlr-copilot ideas` and %mlr_idea: related works from Semantic Scholar (here a local
    fake) unless `semantic_scholar=false`; unreachable, one warning and ideas all the same."""
    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path / "cache"))
    s2.push(200, ANSWER)
    result = _service(tmp_path / "on").generate_ideas(2, False)
    assert len(s2.requests) == 1 and result["related_works"] >= 2, result
    assert len(result["ideas"]) == 2 and result["warnings"] == []

    off = _service(tmp_path / "off").generate_ideas(2, False, semantic_scholar=False)
    assert len(s2.requests) == 1 and off["related_works"] == 0 and len(off["ideas"]) == 2

    monkeypatch.setenv("MLR_COPILOT_S2_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path / "cache2"))
    down = _service(tmp_path / "down").generate_ideas(2, False)
    assert len(down["ideas"]) == 2 and len(down["warnings"]) == 1, down
    assert "related works" in down["warnings"][0] and "\n" not in down["warnings"][0]
