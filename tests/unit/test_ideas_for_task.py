"""`ideas --task`, in-process: the experiment prompt carries the mapping of an idea onto the task
(the plans fitted to the task, offline and through the scripted server, are checked through the
console script in tests/integration/test_ideas_for_task.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.task import load_task
from tests.support.pdfgen import make_conference_pdf


@pytest.fixture(scope="module")
def paper_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "paper.pdf", pages=12)


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
