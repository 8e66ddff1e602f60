"""``%mlr_experiment`` mistakes and help through a real IPython shell, in this process: nothing is
started (its runs: tests/integration/test_experiment_magic.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    # an experiment resolves its sandbox before it loads the task, and under ``auto`` that starts
    # bubblewrap once (a process); these mistakes are refused before any kernel whatever the
    # sandbox (the magic's runs with the default sandbox: tests/integration)
    monkeypatch.setenv("MLR_COPILOT_SANDBOX", "off")


def test_mistakes_are_one_line_usage_errors(ip: InteractiveShell, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no-such-task"):
        ip.run_line_magic("mlr_experiment", f"--task {tmp_path / 'no-such-task'} --wait")
    with pytest.raises(UsageError, match="approve"):
        ip.run_line_magic("mlr_experiment", "--task wine --wait --mode approve")
    with pytest.raises(UsageError, match="--task"):
        ip.run_line_magic("mlr_experiment", "--max-steps 2")
    with pytest.raises(UsageError, match="no experiment is running"):
        ip.run_line_magic("mlr_experiment", "--stop")
    with pytest.raises(UsageError, match="no idea with id"):
        ip.run_line_magic("mlr_experiment", "--task wine --idea nope --wait")
    with pytest.raises(UsageError, match=r"no run 'nope' in the research state \(runs: "):
        ip.run_line_magic("mlr_experiment", "--insert-run nope")
    assert not list(tmp_path.glob("runs/*/journal.json"))  # nothing was started


def test_help_explains_the_magic(ip: InteractiveShell) -> None:
    doc = ip.find_line_magic("mlr_experiment").__doc__
    assert "--mode" in doc and "--wait" in doc and "_mlr_run" in doc
