"""Helpers shared by the tests (moved from ``tests/test_faults.py``)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.experiment.record import RecordNotebook
from tests.support.chat_server import ChatServer
from tests.support.cli import SECRET_KEY, cli_command, subprocess_env
from tests.support.load import time_bound

Action = Callable[[dict[str, Any]], None]


def metric_cell(value: float) -> str:
    """A cheap cell of the held-out protocol: a submission of its own, then its metric."""
    return ('import pandas as pd\n'
            'pd.DataFrame({"target": [0] * len(pd.read_csv("test.csv"))})'
            '.to_csv("submission.csv", index=False)\n'
            f'report_metric("accuracy", {value})\n')


class StepScript:
    """Answers every step request with ``{"title", "plan", "code"}``.

    ``codes[n]`` is the code of the n-th answer (1-based); other answers are a cheap cell reporting
    a slowly increasing accuracy. ``actions[n]`` runs in the server thread just before the n-th
    answer (push faults, kill the kernel, break the disk, ...). ``samples`` records what a
    ``sample`` callable returns at each answer.
    """

    def __init__(self, codes: dict[int, str] | None = None,
                 actions: dict[int, Action] | None = None,
                 sample: Callable[[int], Any] | None = None) -> None:
        self.codes = codes or {}
        self.actions = actions or {}
        self.sample = sample
        self.samples: dict[int, Any] = {}
        self.calls = 0
        self.prompts: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> str:
        with self.lock:
            self.calls += 1
            n = self.calls
            self.prompts.append(request["messages"][-1]["content"])
        if self.sample is not None:
            self.samples[n] = self.sample(n)
        action = self.actions.get(n)
        if action is not None:
            action(request)
        code = self.codes.get(n, metric_cell(round(0.7 + n * 1e-4, 6)))
        return json.dumps({"title": f"Step {n}", "plan": f"Scripted step {n}.", "code": code})


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The command; ``timeout`` (seconds on an idle machine, scaled to the load) stops a hang."""
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=time_bound(timeout), env=subprocess_env())


def experiment_args(out: Path, *extra: str, steps: int = 3) -> list[str]:
    return ["experiment", "--task", "wine", "--max-steps", str(steps), "--no-verify",
            "--out", str(out), "--json", *extra]


def resume(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("experiment", "--task", "wine", "--resume", str(out), "--json", *extra)


def assert_valid_run(run_dir: Path) -> Journal:
    """The record is valid nbformat, the journal validates, and both hold every finished node.

    A node that was running when the run stopped is ``pending`` in the journal (which has its
    code); the record gets its cells when the run is resumed.
    """
    nb = nbformat.read(run_dir / "experiment.ipynb", as_version=4)
    nbformat.validate(nb)
    journal = Journal.load(run_dir / "journal.json")
    RecordNotebook.load(run_dir / "experiment.ipynb")  # what --resume does first
    recorded = {c.metadata["mlr_copilot"].get("node_id") for c in nb.cells
                if "mlr_copilot" in c.metadata}
    assert recorded - {None} <= {n.id for n in journal.nodes}
    for node in journal.nodes:
        if node.status != "pending":
            assert node.id in recorded, f"node {node.id} is in journal.json but not in the record"
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path
    return journal


def one_line_error(stderr: str, *needles: str) -> str:
    """The single ``mlr-copilot:`` line of ``stderr``; no traceback, no key, names ``needles``."""
    assert "Traceback" not in stderr, stderr[-3000:]
    assert SECRET_KEY not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.startswith("mlr-copilot")]
    assert len(lines) == 1, stderr[-3000:]
    line = lines[0]
    assert "internal error" not in line, line
    for needle in needles:
        assert needle in line, line
    return line


def statuses(journal: Journal) -> dict[str, str]:
    return {n.id: n.status for n in journal.nodes}


def push(server: ChatServer, *faults: str | tuple[str, dict[str, Any]]) -> Action:
    def action(request: dict[str, Any]) -> None:
        for fault in faults:
            kind, kwargs = (fault, {}) if isinstance(fault, str) else fault
            server.push_fault(kind, **kwargs)

    return action

