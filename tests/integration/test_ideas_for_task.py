"""`ideas --task`: every plan names the task's data files and metric/direction, says how the idea
maps onto the task (or that it cannot apply, with the closest testable variant), and the
experiment prompt carries that mapping. Offline and through the scripted server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.experiment.task import load_task
from tests.support.chat_server import ChatServer
from tests.support.cli import cli_command, subprocess_env
from tests.support.ideas import ScriptedResearcher
from tests.support.pdfgen import make_conference_pdf


@pytest.fixture(scope="module")
def paper_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "paper.pdf", pages=12)


def _ideas(*args: str) -> dict[str, Any]:
    result = subprocess.run([*cli_command(), "ideas", *args, "--json"], capture_output=True,
                            text=True, timeout=180, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _check_plans(ideas: list[dict[str, Any]], task_name: str) -> None:
    task = load_task(task_name)
    metric = f"{task.metric.name} ({task.metric.direction})"
    for idea in ideas:
        plan = idea["plan"]
        assert plan["task"] == task.name
        assert set(task.data_files) <= set(plan["datasets"]), plan["datasets"]
        assert plan["metrics"][0] == metric
        steps = " ".join(plan["steps"])
        assert all(f in steps for f in task.data_files) and metric in steps
        assert plan["task_mapping"] and f"Task mapping: {plan['task_mapping']}" in plan["steps"]
        if plan["applies_to_task"] is False:
            assert plan["closest_variant"] and "Closest testable variant" in plan["task_mapping"]


def test_offline_plans_are_fitted_to_a_bundled_task(paper_pdf: Path) -> None:
    data = _ideas(str(paper_pdf), "-n", "6", "--task", "wine")
    ideas = data["ideas"]
    assert len(ideas) == 6
    _check_plans(ideas, "wine")
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
    _check_plans(data["ideas"], "wine")
    mappings = {i["plan"]["task_mapping"] for i in data["ideas"]}
    assert "Routing adapters become a per-cultivar feature scaler." in mappings
    plans = [r for r in llm_env.requests if '"PlanDraft"' in json.dumps(r["json"])[:200000]]
    prompt = plans[0]["json"]["messages"][-1]["content"]
    assert "train.csv, valid.csv" in prompt and "accuracy (maximize)" in prompt


def test_experiment_prompt_includes_the_mapping(paper_pdf: Path) -> None:
    from mlr_copilot_jupyter.api import Copilot
    from mlr_copilot_jupyter.experiment.journal import Journal
    from mlr_copilot_jupyter.experiment.policies import StepRequest, step_prompt

    copilot = Copilot()
    copilot.read_paper(paper_pdf)
    idea = copilot.generate_ideas(1, task="wine")[0]
    task = load_task("wine")
    journal = Journal(run_id="r", task=task.name, metric_name="accuracy", direction="maximize")
    messages = step_prompt(StepRequest(kind="draft", parent=None, journal=journal, task=task,
                                       idea=idea))
    text = "\n".join(str(m["content"]) for m in messages)
    assert idea.plan.task_mapping and idea.plan.task_mapping in text
    assert re.search(r"train\.csv, valid\.csv", text)
