"""`ideas --task`: every plan names the task's data files and metric/direction, says how the idea
maps onto the task (or that it cannot apply, with the closest testable variant), and the
experiment prompt carries that mapping. Here through the console script, offline and through the
scripted server; the prompt in-process in tests/unit/test_ideas_for_task.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_server import ChatServer
from tests.support.cli import cli_command, subprocess_env
from tests.support.ideas import ScriptedResearcher
from tests.support.pdfgen import make_conference_pdf
from tests.support.task_plans import check_plans


@pytest.fixture(scope="module")
def paper_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "paper.pdf", pages=12)


def _ideas(*args: str) -> dict[str, Any]:
    result = subprocess.run([*cli_command(), "ideas", *args, "--json"], capture_output=True,
                            text=True, timeout=180, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_offline_plans_are_fitted_to_a_bundled_task(paper_pdf: Path) -> None:
    data = _ideas(str(paper_pdf), "-n", "6", "--task", "wine")
    ideas = data["ideas"]
    assert len(ideas) == 6
    check_plans(ideas, "wine")
    # a speech paper's ideas include ones that cannot run on a tabular task, and they say so
    cannot = [i for i in ideas if i["plan"]["applies_to_task"] is False]
    assert cannot, [i["strategy"] for i in ideas]


def test_llm_plans_are_fitted_and_the_prompt_carries_the_task(llm_env: ChatServer,
                                                              paper_pdf: Path) -> None:
    researcher = ScriptedResearcher()

    def respond(request: dict[str, Any]) -> str:
        schema = request.get("response_format", {}).get("json_schema", {}).get("name", "")
        if schema == "PlanDraft":
            prompt = request["messages"][-1]["content"]
            assert "# Target task" in prompt or "## Target task" in prompt
            return json.dumps({
                "objective": "Test it on the task.", "method": "Scale features, then kNN.",
                "datasets": ["train.csv"], "baselines": ["5-NN"], "metrics": ["accuracy"],
                "steps": ["Load data", "Fit", "Score on valid.csv"], "risks": [],
                "task_mapping": "Routing adapters become a per-cultivar feature scaler.",
                "applies_to_task": "curriculum" not in prompt, "closest_variant": "",
            })
        return researcher(request)

    llm_env.responder = respond
    data = _ideas(str(paper_pdf), "-n", "3", "--task", "wine")
    check_plans(data["ideas"], "wine")
    mappings = {i["plan"]["task_mapping"] for i in data["ideas"]}
    assert "Routing adapters become a per-cultivar feature scaler." in mappings
    plans = [r for r in llm_env.requests if '"PlanDraft"' in json.dumps(r["json"])[:200000]]
    prompt = plans[0]["json"]["messages"][-1]["content"]
    assert "train.csv, valid.csv" in prompt and "accuracy (maximize)" in prompt
