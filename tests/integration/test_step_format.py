"""A step's code as a fenced ```python block: asked for (markdown format) or given anyway (json),
in a real experiment run of the CLI (parsing the reply is tested in tests/unit/test_step_format.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_server import ChatServer
from tests.support.faults import (
    assert_valid_run,
    experiment_args,
    metric_cell,
    run_cli,
    statuses,
)


def _is_step(body: dict[str, Any]) -> bool:
    return "Rules for the code" in str(body["messages"][-1].get("content", ""))


@pytest.mark.slow
@pytest.mark.parametrize("step_format", ["markdown", "json"])
def test_steps_given_as_python_blocks_run(
    llm_env: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step_format: str,
) -> None:
    """markdown: asked for, no schema sent; json: the model ignores the schema and answers with a
    code block (as unconstrained models do) and the step is still taken, not a failed node."""
    monkeypatch.setenv("MLR_COPILOT_STEP_FORMAT", step_format)
    bodies: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> str:
        if _is_step(body):
            bodies.append(body)
        n = len(bodies)
        return (f"# Step {n}: a cheap submission\nIt reports {0.7 + n / 100:.2f}.\n\n"
                f"```python\n{metric_cell(round(0.7 + n / 100, 4))}```")

    llm_env.responder = responder
    out = tmp_path / "run"
    done = run_cli(*experiment_args(out, "--retries", "0", steps=2))
    assert done.returncode == 0, done.stderr[-3000:]
    journal = assert_valid_run(out)
    assert set(statuses(journal).values()) == {"ok"}, statuses(journal)
    drafts = [n for n in journal.nodes if n.kind != "baseline"]
    assert len(drafts) == 2 and drafts[0].title.startswith("Step 1: a cheap submission")
    assert "report_metric" in drafts[0].code and "```" not in drafts[0].code
    assert json.loads(done.stdout)["steps"] == 2
    sent_schema = ["response_format" in b or "tools" in b for b in bodies]
    if step_format == "markdown":
        assert not any(sent_schema)
        assert "```python" in bodies[0]["messages"][-1]["content"]
    else:
        assert all(sent_schema)
