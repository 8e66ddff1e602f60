"""The task brief in the first draft prompt captured from a real LLM run of the CLI through the
scripted chat server (must-show 6); the brief itself is tested in tests/unit/test_brief.py."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.experiment.task import Task, load_task
from tests.support.chat_server import ChatServer
from tests.support.cli import cli_command, subprocess_env
from tests.support.text_task import assert_brief_in, make_text_pair_task


@pytest.fixture
def text_task(tmp_path: Path) -> Task:
    return load_task(make_text_pair_task(tmp_path / "sts_task"))


def first_draft_prompt(text_task: Task, server: ChatServer, out: Path) -> str:
    """Run one LLM step on ``text_task`` through the CLI and return the first draft prompt."""
    prompts: list[str] = []
    lock = threading.Lock()

    def responder(request: dict[str, Any]) -> str:
        with lock:
            prompts.append(request["messages"][-1]["content"])
        return json.dumps({"title": "Overlap ridge", "plan": "Same as the baseline.",
                           "code": (text_task.workspace_root / "train.py").read_text()})

    server.responder = responder
    result = subprocess.run(
        [*cli_command(), "experiment", "--task", str(text_task.root), "--max-steps", "1",
         "--no-verify", "--cell-timeout", "60", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return next(p for p in prompts if "Write a complete first solution" in p)


def test_first_draft_prompt_of_a_real_llm_run_holds_the_brief(
    llm_env: ChatServer, text_task: Task, tmp_path: Path
) -> None:
    assert_brief_in(first_draft_prompt(text_task, llm_env, tmp_path / "run"))


def test_first_draft_prompt_of_a_real_llm_run_uses_the_live_run_state(
    llm_env: ChatServer, text_task: Task, tmp_path: Path
) -> None:
    draft = first_draft_prompt(text_task, llm_env, tmp_path / "run")
    assert "Time limit per cell\n\n60 s" in draft  # the effective timeout, not the task's 300 s
    assert "train_log.txt (" in draft  # the live workspace, where the baseline wrote this file
    assert "`submission.csv`, which the baseline wrote; it starts:\n```\nscore\n" in draft
