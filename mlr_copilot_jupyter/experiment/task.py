"""Task specifications: ``task.toml`` folders, MLAgentBench task folders and the bundled tasks.

A task is a research problem with a workspace (data files and a baseline), one metric with a
direction (and how they were determined), budgets, and optionally a held-out test split that
stays outside the agent's workspace. :func:`load_task` accepts a folder holding ``task.toml``,
the ``task.toml`` file itself, an MLAgentBench / MLR-Copilot folder (``env/``,
``scripts/research_problem.txt``, ``scripts/eval.py``, ``scripts/read_only_files.txt``), or the
name of a bundled task. Parsing lives in :mod:`.task_spec`, the task model (re-exported here)
in :mod:`.task_model`, metric inference in :mod:`.metric_rules` / :mod:`.metric_infer`.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import TaskError
from .metric_rules import (
    DIRECTIONS,
    KNOWN_METRICS,
    METRIC_ALIASES,
    REGRESSION_METRICS,
    Direction,
    MetricOrigin,
    canonical_metric,
    infer_metric,
    parse_direction,
)
from .task_model import (
    CELL_TIMEOUT_S,
    READ_ONLY_MANIFEST,
    TRAIN_NAMES,
    VALIDATION_NAMES,
    Budget,
    MetricSpec,
    Task,
    check_metric_override,
)
from .task_spec import load_mlagentbench, load_toml_task

__all__ = [
    "CELL_TIMEOUT_S", "DIRECTIONS", "KNOWN_METRICS", "METRIC_ALIASES", "READ_ONLY_MANIFEST",
    "REGRESSION_METRICS", "TASKS_DIR", "TRAIN_NAMES", "VALIDATION_NAMES", "Budget", "Direction",
    "MetricOrigin", "MetricSpec", "Task", "bundled_tasks", "canonical_metric",
    "check_metric_override", "infer_metric", "load_task", "parse_direction",
]  # fmt: skip

TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"


def bundled_tasks() -> list[str]:
    """Names of the tasks shipped with the package."""
    if not TASKS_DIR.is_dir():
        return []
    return sorted(p.name for p in TASKS_DIR.iterdir() if (p / "task.toml").is_file()
                  or ((p / "env").is_dir() and (p / "scripts").is_dir()))


def load_task(path: str | Path) -> Task:
    """Load a task from a folder, a ``task.toml`` file, an MLAgentBench folder or a bundled name."""
    candidate = Path(path).expanduser()
    if not candidate.exists():
        name = str(path).strip().replace("-", "_")
        if re.fullmatch(r"\w+", name) and (TASKS_DIR / name / "task.toml").is_file():
            return load_toml_task(TASKS_DIR / name / "task.toml")
        if re.fullmatch(r"\w+", name) and name in bundled_tasks():  # MLAgentBench layout
            return load_mlagentbench(TASKS_DIR / name)
        raise TaskError(
            f"task {str(path)!r} not found: no such folder or file",
            hint=f"bundled tasks: {', '.join(bundled_tasks()) or 'none'}",
        )
    candidate = candidate.resolve()
    if candidate.is_file():
        return load_toml_task(candidate)
    if (candidate / "task.toml").is_file():
        return load_toml_task(candidate / "task.toml")
    if (candidate / "env").is_dir() or (candidate / "scripts").is_dir():
        return load_mlagentbench(candidate)
    raise TaskError(
        f"{candidate}: not a task folder",
        hint="add a task.toml, or use the MLAgentBench layout env/ + scripts/research_problem.txt",
    )
