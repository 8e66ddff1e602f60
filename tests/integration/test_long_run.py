"""A long scripted run: 200 steps of cheap cells through the CLI and the openai SDK.

Nothing may grow with the step count except the record and the journal themselves: the prompt
(the search summary is bounded), the CLI process's memory, and the cost of one step (saving the
record is O(record size) per cell, so a step may slow down linearly, never quadratically).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.chat_server import ChatServer, is_auxiliary
from tests.support.faults import StepScript, assert_valid_run, experiment_args
from tests.support.procs import start_cli

pytestmark = pytest.mark.slow

STEPS = 200
MB = 2**20


def prompt_chars(request: dict[str, Any]) -> int:
    return sum(len(m.get("content") or "") for m in request["json"]["messages"])


@pytest.mark.slow_ok(
    reason="200 experiment steps in a real kernel: the long-run bounds need a long run")
def test_200_steps_keep_prompt_memory_and_step_cost_bounded(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    cli: dict[str, int] = {}

    def sample(call: int) -> dict[str, float]:
        rss, cpu = 0, 0.0
        if "pid" in cli:
            process = psutil.Process(cli["pid"])
            rss, times = process.memory_info().rss, process.cpu_times()
            cpu = times.user + times.system  # the CLI's own: it saves the record and journal
        return {"rss": rss, "cpu": cpu, "record": (out / "experiment.ipynb").stat().st_size,
                "journal": (out / "journal.json").stat().st_size}

    script = StepScript(sample=sample)
    llm_env.responder = script
    proc = start_cli(*experiment_args(out, steps=STEPS))
    cli["pid"] = proc.pid
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert json.loads(stdout)["steps"] == STEPS
    journal = assert_valid_run(out)
    assert len(journal.nodes) == STEPS + 1 and all(n.status == "ok" for n in journal.nodes)

    posts = [r for r in llm_env.requests if r["method"] == "POST"]
    steps = [r for r in posts if not is_auxiliary(r["json"])]
    assert len(steps) == STEPS  # one request per step: nothing was retried or re-asked
    assert len(posts) == 2 * STEPS + 1  # and one review of each execution, baseline included

    # the prompt is bounded: the search summary does not grow with the journal
    sizes = [prompt_chars(r) for r in posts]
    assert sizes[199] < 1.5 * sizes[19], (sizes[19], sizes[199])
    assert max(sizes) < 1.5 * sizes[19], (sizes[19], max(sizes))

    # the CLI process's memory does not grow with the steps
    samples = script.samples
    growth = samples[200]["rss"] - samples[50]["rss"]
    assert growth < 100 * MB, f"RSS grew {growth / MB:.0f} MB from step 50 to step 200"

    # the record and the journal grow linearly: the same bytes per node late as early
    for name in ("record", "journal"):
        early = (samples[40][name] - samples[20][name]) / 20
        late = (samples[200][name] - samples[180][name]) / 20
        assert late < 2 * early, (name, early, late)

    # one step costs O(record size), not more. Measured in the CLI's CPU seconds (what saving the
    # record costs), not in wall time between requests: beside CPU burners the wall time of a late
    # step measured the neighbours (21 ms early, 139 ms late in one such run; issue 26). Each
    # window is 20 steps (40 answers: a step and its review); 10 ms is the clock's resolution.
    answers = sorted(samples)
    early_from, early_to = answers[20], answers[60]
    late_from, late_to = answers[-41], answers[-1]
    first = (samples[early_to]["cpu"] - samples[early_from]["cpu"]) / 20
    last = (samples[late_to]["cpu"] - samples[late_from]["cpu"]) / 20
    assert last <= 5 * first + 0.010, (
        f"a step cost {first * 1000:.0f} ms of CPU early, {last * 1000:.0f} ms late")
