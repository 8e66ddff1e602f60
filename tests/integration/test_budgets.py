"""Budgets of a stage (issue #15): a run-wide token budget, a cost budget with prices per 1k
tokens, and a wall-clock deadline. A run stopped by one ends cleanly (exit 0, a valid journal and
record), names the limit in the summary, report and record, and shows tokens (and cost) per node
summing to the run's total.

The LLM is the scripted chat server: every step reply and every review reports a fixed usage, so
the arithmetic is exact.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mlr_copilot_jupyter.errors import ConfigError, InputError
from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.llm.budget import Limits, Prices, Spend
from mlr_copilot_jupyter.models import Usage
from tests.support.chat_server import ChatServer, neutral_auxiliary
from tests.support.faults import (
    StepScript,
    assert_valid_run,
    experiment_args,
    one_line_error,
    resume,
    run_cli,
)
from tests.support.load import time_bound

STEP_USAGE = (1000, 200)  # every step proposal
REVIEW_USAGE = (300, 50)  # every review of a cell's output


class MeteredScript(StepScript):
    """A :class:`StepScript` whose every answer reports ``STEP_USAGE`` tokens."""

    def __call__(self, request: dict[str, Any]) -> Any:  # type: ignore[override]
        return {"content": super().__call__(request), "usage": list(STEP_USAGE)}


def metered_reviewer(body: dict[str, Any]) -> dict[str, Any]:
    return {"content": neutral_auxiliary(body), "usage": list(REVIEW_USAGE)}


def scripted(server: ChatServer) -> MeteredScript:
    script = MeteredScript()
    server.responder, server.reviewer = script, metered_reviewer
    return script


def summary_of(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def summary_cell(run_dir: Path) -> str:
    nb = nbformat.read(run_dir / "experiment.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("mlr_copilot", {}).get("stage") == "summary"]
    assert len(cells) == 1
    return str(cells[0].source)


def assert_usage_adds_up(journal: Journal, summary: dict[str, Any]) -> None:
    """Per-node usage is recorded and, with verification's, sums to the run's total."""
    nodes = [n.usage.total_tokens for n in journal.nodes]
    assert all(t > 0 for t in nodes), nodes
    assert sum(nodes) + journal.verify_usage.total_tokens == journal.usage.total_tokens
    assert summary["tokens"] == journal.usage.total_tokens
    assert summary["usage"] == journal.usage.model_dump()
    assert {k: v["total_tokens"] for k, v in summary["node_usage"].items()} == \
        {n.id: n.usage.total_tokens for n in journal.nodes}
    assert all(n.tokens == n.usage.total_tokens for n in journal.nodes)


# -- the runs --------------------------------------------------------------------------------
@pytest.mark.slow
def test_token_budget_stops_a_five_step_run_after_two_steps(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    script = scripted(llm_env)
    out = tmp_path / "run"
    # verification on: a budget stop must skip it (its reviews would overspend)
    args = [a for a in experiment_args(out, "--token-budget", "3000", steps=5) if a != "--no-verify"]
    summary = summary_of(run_cli(*args, timeout=240))
    journal = assert_valid_run(out)

    # baseline: one review (350); each step: a proposal and a review (1550). 350 + 2 * 1550 =
    # 3450 >= 3000 after two steps, so the third proposal is never asked for.
    assert script.calls == 2
    assert [n.kind for n in journal.nodes] == ["baseline", "draft", "draft"]
    assert [n.usage.total_tokens for n in journal.nodes] == [350, 1550, 1550]
    assert [n.usage.calls for n in journal.nodes] == [1, 2, 2]
    assert journal.node("n1").usage.prompt_tokens == 1300
    assert journal.usage.total_tokens == 3450 and journal.usage.cost is None
    assert journal.verify_usage.calls == 0
    assert_usage_adds_up(journal, summary)

    reason = "token budget of 3000 reached (3450 tokens used)"
    assert journal.status == "done" and journal.stopped_by == "token_budget"
    assert summary["status"] == "done" and summary["steps"] == 2
    assert summary["stopped_by"] == "token_budget" and summary["stop_reason"] == reason
    assert summary["limits"]["token_budget"] == 3000
    assert summary["best_node"] is not None and summary["verified"] is False
    assert "verification was skipped" in summary["message"]
    report = (out / "report.md").read_text(encoding="utf-8")
    for text in (report, summary_cell(out)):
        assert f"**Stopped by the token budget:** {reason}" in text
        assert "LLM usage: 3450 tokens (2900 prompt + 550 completion) in 5 calls" in text
        assert "- **Budgets:** token budget 3000" in text
        assert "| n1 | draft |" in text and "| 1550 |" in text
        assert "| total | | | all nodes | | | | 3450 | |" in text


@pytest.mark.slow
def test_cost_budget_with_prices_stops_the_run_and_reports_costs(
    llm_env: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLR_COPILOT_PRICE_PER_1K_PROMPT", "0.5")
    monkeypatch.setenv("MLR_COPILOT_PRICE_PER_1K_COMPLETION", "2")
    script = scripted(llm_env)
    out = tmp_path / "run"
    summary = summary_of(run_cli(*experiment_args(out, "--cost-budget", "1", steps=4),
                                 timeout=240))
    journal = assert_valid_run(out)
    # a review costs 0.3 * 0.5 + 0.05 * 2 = 0.25, a proposal 1 * 0.5 + 0.2 * 2 = 0.9:
    # baseline 0.25, first step 1.15 -> 1.4 >= 1 after one step
    assert script.calls == 1
    costs = [n.usage.cost for n in journal.nodes]
    assert costs == pytest.approx([0.25, 1.15])
    assert summary["cost"] == pytest.approx(1.4) == journal.usage.cost
    assert_usage_adds_up(journal, summary)
    assert summary["stopped_by"] == "cost_budget"
    assert summary["stop_reason"] == "cost budget of 1 reached (1.4 spent, 1900 tokens)"
    assert summary["limits"]["price_per_1k_completion"] == 2
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "**Stopped by the cost budget:** cost budget of 1 reached" in report
    assert "| tokens | cost | note |" in report and "| 1550 | 1.15 |" in report
    assert "in 3 calls, cost 1.4" in report
    assert "price per 1k tokens 0.5 prompt / 2 completion" in report


def test_a_cost_budget_without_prices_is_refused_in_one_line(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    result = run_cli(*experiment_args(tmp_path / "run", "--cost-budget", "1"), timeout=120)
    assert result.returncode == 1
    one_line_error(result.stderr, "--cost-budget needs a price per 1k tokens")
    assert not (tmp_path / "run" / "journal.json").exists()


@pytest.mark.slow
@pytest.mark.slow_ok(
    reason="waits out a real 20 s --deadline on a request in flight, then resumes the run")
def test_deadline_cuts_the_request_in_flight_and_a_resume_gets_a_fresh_one(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    script = scripted(llm_env)
    llm_env.push_fault("slow", delay=600)  # the first step's proposal never comes back in time
    out = tmp_path / "run"
    started = time.monotonic()
    result = run_cli(*experiment_args(out, "--deadline", "20", "--timeout", "300", steps=3),
                     timeout=240)
    elapsed = time.monotonic() - started
    summary = summary_of(result)
    journal = assert_valid_run(out)
    assert [n.kind for n in journal.nodes] == ["baseline"]  # the abandoned step left no node
    assert summary["stopped_by"] == "deadline" and summary["status"] == "done"
    assert summary["stop_reason"].startswith("deadline of 20 s reached (")
    assert "the LLM request in flight was abandoned" in summary["stop_reason"]
    assert "Stopped by the deadline:** deadline of 20 s reached" in \
        (out / "report.md").read_text(encoding="utf-8")
    # not the 300 s request timeout nor the 600 s reply: the deadline plus start-up and report
    assert elapsed < 20 + time_bound(40, below=280), elapsed
    assert script.calls == 0  # the slow fault answered (or rather, did not) the only request

    again = summary_of(resume(out, "--max-steps", "2", "--deadline", "120"))
    journal = assert_valid_run(out)
    assert again["stopped_by"] is None and again["steps"] == 2
    assert journal.status == "done" and journal.limits["deadline"] == 120
    assert script.calls == 2
    assert_usage_adds_up(journal, again)


@pytest.mark.slow
def test_the_magic_takes_the_same_budgets(
    llm_env: ChatServer, ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    script = scripted(llm_env)
    out = tmp_path / "run"
    ip.run_line_magic("mlr_experiment",
                      f"--task wine --max-steps 5 --token-budget 3000 --deadline 600 --wait "
                      f"--out {out}")
    run = ip.user_ns["_mlr_run"]
    assert run.done and run.error is None
    journal = assert_valid_run(out)
    assert script.calls == 2 and journal.stopped_by == "token_budget"
    assert journal.limits["deadline"] == 600 and run.summary["tokens"] == 3450
    shown = capsys.readouterr().out
    assert "**Stopped by the token budget:** token budget of 3000 reached (3450 tokens used)" \
        in shown
    with pytest.raises(Exception, match="--cost-budget needs a price"):
        ip.run_line_magic("mlr_experiment", f"--task wine --cost-budget 1 --out {tmp_path / 'x'}")


# -- the arithmetic and the settings ------------------------------------------------------------
def test_limits_name_the_first_limit_reached() -> None:
    prices = Prices(prompt=0.5, completion=2.0)
    spent = Spend.of(Usage(prompt_tokens=1000, completion_tokens=200, total_tokens=1200,
                           calls=1), prices)
    assert spent.cost == pytest.approx(0.9)
    limits = Limits(token_budget=2000, cost_budget=1.0, deadline=60, prices=prices)
    assert limits.reached(spent, elapsed=10) is None
    twice = spent + spent
    assert twice.total_tokens == 2400 and twice.calls == 2 and twice.cost == pytest.approx(1.8)
    assert limits.reached(twice, 10) == ("token_budget",
                                         "token budget of 2000 reached (2400 tokens used)")
    assert Limits(cost_budget=1.0, prices=prices).reached(twice, 10) == (
        "cost_budget", "cost budget of 1 reached (1.8 spent, 2400 tokens)")
    assert limits.reached(spent, 61.0) == ("deadline", "deadline of 60 s reached (61.0 s elapsed)")
    assert limits.remaining(50) == 10 and limits.remaining(70) == 0
    assert Limits().remaining(70) is None and Limits().reached(twice, 1e9) is None
    assert Spend() + Spend() == Spend()  # no prices: no cost, not a cost of 0
    assert Prices().cost(1000, 1000) is None and Prices(completion=1).cost(1000, 1000) == 1


@pytest.mark.parametrize("kwargs, needle", [
    ({"token_budget": 0}, "--token-budget must be a positive"),
    ({"deadline": -1.0}, "--deadline must be a positive"),
    ({"cost_budget": float("nan"), "prices": Prices(1, 1)}, "--cost-budget must be a positive"),
    ({"cost_budget": 5.0}, "--cost-budget needs a price"),
])
def test_limits_refuse_values_that_switch_themselves_off(kwargs: dict[str, Any],
                                                         needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace("-", r"\-")):
        Limits(**kwargs)


def test_settings_read_budgets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter.config import MLRCopilot

    assert MLRCopilot().limits() == Limits()  # 0 means none
    monkeypatch.setenv("MLR_COPILOT_TOKEN_BUDGET", "5000")
    monkeypatch.setenv("MLR_COPILOT_COST_BUDGET", "2.5")
    monkeypatch.setenv("MLR_COPILOT_PRICE_PER_1K_PROMPT", "0.15")
    monkeypatch.setenv("MLR_COPILOT_DEADLINE", "900")
    limits = MLRCopilot().limits()
    assert (limits.token_budget, limits.cost_budget, limits.deadline) == (5000, 2.5, 900)
    assert limits.prices == Prices(0.15, 0.0)
    monkeypatch.setenv("MLR_COPILOT_TOKEN_BUDGET", "lots")
    with pytest.raises(ConfigError, match="MLR_COPILOT_TOKEN_BUDGET"):
        MLRCopilot().token_budget  # noqa: B018
    with pytest.raises(ConfigError, match="deadline must be"):
        MLRCopilot(deadline=-5)


def test_journals_written_before_budgets_load_with_zero_usage(tmp_path: Path) -> None:
    old = {"run_id": "r", "task": "wine", "metric_name": "accuracy", "direction": "maximize",
           "status": "done", "nodes": [{"id": "n0", "kind": "baseline", "step": 0, "tokens": 7,
                                        "status": "ok", "metric": 0.9}]}
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    journal = Journal.load(path)
    assert journal.usage == Spend() and journal.stopped_by == "" and journal.limits == {}
    assert journal.node("n0").tokens == 7
    journal.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["usage"]["total_tokens"] == 0
    assert Journal.load(path).usage == Spend()  # the stored total is derived, not read back


# -- the idea stage ------------------------------------------------------------------------------
def test_a_stage_deadline_cuts_coroutines_and_is_checked_between_steps() -> None:
    import asyncio

    from mlr_copilot_jupyter.aio import run_sync
    from mlr_copilot_jupyter.llm.budget import DeadlineReached, check_deadline, stage_deadline

    started = time.monotonic()
    with stage_deadline(0.3), pytest.raises(DeadlineReached, match=r"deadline of 0.3 s reached"):
        run_sync(asyncio.sleep(30))
    assert time.monotonic() - started < time_bound(5, below=30)
    with stage_deadline(0.05):
        assert run_sync(asyncio.sleep(0, result=7)) == 7
        time.sleep(0.1)
        with pytest.raises(DeadlineReached, match="while generating ideas"):
            check_deadline("generating ideas")
    check_deadline("anything")  # no stage, no deadline
    assert run_sync(asyncio.sleep(0.01, result=1)) == 1


def test_ideas_deadline_ends_the_command_in_one_line(llm_env: ChatServer, tmp_path: Path) -> None:
    from importlib.resources import files

    paper = tmp_path / "paper.md"
    paper.write_text(files("mlr_copilot_jupyter").joinpath("data/demo_paper.md").read_text(
        encoding="utf-8"), encoding="utf-8")
    llm_env.latency = 120  # the endpoint never answers in time
    started = time.monotonic()
    result = run_cli("ideas", str(paper), "-n", "2", "--no-semantic-scholar", "--deadline", "4",
                     "--timeout", "300", timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-2000:]
    one_line_error(result.stderr, "deadline of 4 s reached while waiting for the LLM")
    assert elapsed < 4 + time_bound(15, below=110), elapsed  # not the 120 s reply
