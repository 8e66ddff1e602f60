"""The ``mlr-copilot`` command as a user runs it (a subprocess of the installed script)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.chat_server import ChatServer
from tests.support.cli import SECRET_KEY, cli_command, output_lines, subprocess_env
from tests.support.load import time_bound


def run_cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """The command; ``timeout`` (seconds on an idle machine) stops a hang, scaled to the load."""
    return subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, timeout=time_bound(timeout),
        env=subprocess_env(**env),
    )


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("config", "demo"):
        assert command in result.stdout
    assert "OPENAI_BASE_URL" in result.stdout and "offline engine" in result.stdout
    sub = run_cli("config", "--help")
    assert sub.returncode == 0 and "--json" in sub.stdout and "--base-url" in sub.stdout


def test_config_json_offline() -> None:
    result = run_cli("config", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert {"backend", "model", "base_url", "api_key_set"} <= set(status)
    assert status["backend"] == "offline" and status["api_key_set"] is False


def test_config_flags_override_env(llm_env: ChatServer) -> None:
    result = run_cli("config", "--json", "--model", "flag-model", "--base-url", llm_env.url)
    status = json.loads(result.stdout)
    assert status["backend"] == "openai" and status["model"] == "flag-model"
    assert status["base_url"] == llm_env.url and status["api_key_set"] is True
    assert SECRET_KEY not in result.stdout + result.stderr


def test_config_check_against_local_server(llm_env: ChatServer) -> None:
    llm_env.push_text("ready", usage=(7, 1))
    result = run_cli("config", "--check", "--json")
    assert result.returncode == 0, result.stderr
    check = json.loads(result.stdout)["check"]
    assert check["total_tokens"] == 8 and "test-model" in check["answered_by"]


def test_errors_are_one_line_without_traceback(llm_env: ChatServer) -> None:
    llm_env.push_fault("401")
    result = run_cli("config", "--check")
    assert result.returncode == 1
    # a 401 that takes over half a second (a busy machine) shows the call's progress lines too
    lines = output_lines(result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("mlr-copilot: error:") and "API key" in lines[0]
    assert SECRET_KEY not in result.stderr

    unreachable = run_cli("config", "--check", "--base-url", "http://127.0.0.1:9/v1",
                          "--retries", "1")
    assert unreachable.returncode == 1 and "could not be reached" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_usage_mistake_exits_2() -> None:
    result = run_cli("config", "--temperature", "hot")
    assert result.returncode == 2 and "invalid float value" in result.stderr
    bad = run_cli("config", "--temperature", "5")
    assert bad.returncode == 1 and "outside 0..2" in bad.stderr


# the command's own bound (300 s idle) scales with the load; this only stops a hang beyond it
@pytest.mark.timeout(1200)
@pytest.mark.slow_ok(
    reason="`mlr-copilot demo`: problem, ideas and a 4-step experiment in a real kernel")
def test_demo_runs_the_whole_pipeline_offline_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out), "--max-steps", "4", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no LLM configured: using the offline engine" in result.stderr
    assert "offline" in result.stdout and "best verified" in result.stdout
    report = (out / "report.md").read_text()
    for section in ("## 1. Research problem", "## 2. Ideas", "## 3. Experiment on the top idea"):
        assert section in report
    assert "success (≥ 10%" in report
    state = json.loads((out / "state.json").read_text())
    assert state["runs"] and state["runs"][0]["status"] == "done"
    assert [i for i in state["ideas"] if i["status"] == "accepted"]


def test_run_pipeline_on_a_paper_and_task(tmp_path: Path) -> None:
    from tests.support.pdfgen import make_conference_pdf

    paper = make_conference_pdf(tmp_path / "paper.pdf", pages=12)
    out = tmp_path / "out"
    result = run_cli("run", str(paper), "--task", "breast_cancer", "--max-steps", "3",
                     "--out", str(out), "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["verified"] and summary["idea"]["status"] == "accepted"
    plan = summary["idea"]["plan"]  # the plan was fitted to the task it ran on
    assert plan["task"] == "breast_cancer" and plan["task_mapping"]
    assert "train.csv" in plan["datasets"] and plan["applies_to_task"] is not None
    assert plan["applies_to_task"] or plan["closest_variant"]  # a speech paper on tabular data
    report = (out / "report.md").read_text()
    assert summary["idea"]["title"] in report and "Relative improvement" in report
