"""Options that were declared in one place and ignored in another (issue #18's drift bugs): the
run's ``extra_env_deny`` reaches eval.py's subprocess. The other drift checks run in-process in
tests/unit/test_option_drift.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.scoring import eval_score
from mlr_copilot_jupyter.experiment.task import load_task


def test_eval_py_environment_honours_extra_env_deny(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """eval.py runs without the names the run denies, as the kernel does."""
    root = tmp_path / "task"
    (root / "env").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "env" / "train.py").write_text("print('hi')\n", encoding="utf-8")
    (root / "scripts" / "research_problem.txt").write_text("Minimise the score.", encoding="utf-8")
    (root / "scripts" / "eval.py").write_text(
        "import os\n\ndef get_score(folder):\n"
        "    return float(len(os.environ.get('LAB_DB_PASSPHRASE_X', '')))\n", encoding="utf-8")
    monkeypatch.setenv("LAB_DB_PASSPHRASE_X", "abcdef")
    task = load_task(str(root))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    seen, _ = asyncio.run(eval_score(task, workspace))
    assert seen == 6.0  # not secret-looking by name: passed through unless denied
    denied, message = asyncio.run(eval_score(task, workspace, env_deny=("LAB_DB_*",)))
    assert denied == 0.0, message
