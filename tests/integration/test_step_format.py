"""A step's code as a fenced ```python block: asked for (markdown format) or given anyway (json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.errors import LLMSchemaError
from mlr_copilot_jupyter.experiment.step_format import code_block, parse_markdown_step
from tests.support.chat_server import ChatServer
from tests.support.faults import (
    assert_valid_run,
    experiment_args,
    metric_cell,
    run_cli,
    statuses,
)


def test_title_plan_and_code_of_a_markdown_reply() -> None:
    reply = ("<think>The user wants a model. Maybe ```python\nprint('no')\n``` hmm.</think>\n"
             "# Scale features, then logistic regression\n"
             "Standardising puts the features on one scale.\nThe baseline ignores that.\n\n"
             "```python\nimport pandas as pd\nprint(pd.__version__)\n```\nDone.")
    title, plan, code = parse_markdown_step(reply)
    assert title == "Scale features, then logistic regression"
    assert plan == "Standardising puts the features on one scale. The baseline ignores that."
    assert code == "import pandas as pd\nprint(pd.__version__)\n"  # not the block in <think>


def test_the_longest_python_block_is_the_cell_and_a_cut_block_counts() -> None:
    reply = ("Plan: try a forest.\n```bash\npip install x\n```\n```py\nx = 1\n```\n"
             "```python\nimport numpy as np\nx = np.arange(3)\nprint(x)\n")  # cut, unclosed
    found = code_block(reply)
    assert found is not None
    assert found[0] == "import numpy as np\nx = np.arange(3)\nprint(x)\n"
    assert parse_markdown_step("only prose\n```py\nprint(1)\n```")[0] == "Step"


@pytest.mark.parametrize("reply", ["no code at all", "```bash\nls\n```", "```python\n\n```"])
def test_a_reply_without_python_code_is_a_schema_error_keeping_the_raw_text(reply: str) -> None:
    with pytest.raises(LLMSchemaError) as err:
        parse_markdown_step(reply)
    assert err.value.raw == reply and "```python" in str(err.value)


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
