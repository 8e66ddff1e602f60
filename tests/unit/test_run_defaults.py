"""The runner fills a run's defaults once, from the task, on new runs and on resume alike.

No kernel starts here: ``create_run`` / ``resume_run`` only write the run folder and build the
agent with its runtime (issue 25 item 1 and must-show 3: resume re-checks ``--max-steps``; one
cell-timeout default). The agent is built only by the runner, with the runtime injected.
"""

from __future__ import annotations

import ast
import inspect
import re
import shutil
from pathlib import Path

import pytest

import mlr_copilot_jupyter
from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.errors import InputError
from mlr_copilot_jupyter.experiment.agent import ExperimentAgent
from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.experiment.options import RunOptions
from mlr_copilot_jupyter.experiment.runner import create_run, resume_run
from mlr_copilot_jupyter.experiment.runtime import TaskRuntime
from mlr_copilot_jupyter.experiment.task import CELL_TIMEOUT_S, TASKS_DIR, Budget, load_task
from mlr_copilot_jupyter.llm import get_backend

PACKAGE = Path(mlr_copilot_jupyter.__file__).parent


def _task_folder(tmp_path: Path, budget: str) -> Path:
    """The bundled wine task with ``budget`` as its ``[budget]`` table ('' for none)."""
    folder = tmp_path / "wine"
    shutil.copytree(TASKS_DIR / "wine", folder)
    toml = folder / "task.toml"
    toml.write_text(toml.read_text().split("[budget]")[0] + budget)
    return folder


def _new_run(tmp_path: Path, folder: Path, name: str, **options: object) -> ExperimentAgent:
    return create_run(load_task(str(folder)), get_backend(MLRCopilot(backend="offline")),
                      run_root=tmp_path / "runs", run_dir=tmp_path / "runs" / name,
                      options=RunOptions(sandbox="off", **options))  # type: ignore[arg-type]


def _resume(agent: ExperimentAgent, **kwargs: object) -> ExperimentAgent:
    return resume_run(agent.run_dir, get_backend(MLRCopilot(backend="offline")),
                      **kwargs)  # type: ignore[arg-type]


def _budgets(agent: ExperimentAgent) -> tuple[int, float, float]:
    """What the run really applies: the agent's step budget, cell timeout and wall time, and
    the cell timeout of the kernel its runtime would start."""
    kernel = agent.runtime.executor(agent.workspace, label="main")
    assert isinstance(kernel, KernelExecutor)
    assert kernel.cell_timeout == agent.cell_timeout == agent.options.cell_timeout
    return agent.max_steps, agent.cell_timeout, agent.wall_time


def test_a_task_without_budget_gets_the_one_default_on_a_new_run_and_on_resume(
        tmp_path: Path) -> None:
    folder = _task_folder(tmp_path, "")
    assert load_task(str(folder)).budget == Budget()
    new = _new_run(tmp_path, folder, "plain")
    expected = (Budget().max_steps, CELL_TIMEOUT_S, Budget().wall_time_s)
    assert _budgets(new) == expected == (10, 300.0, 1800.0)  # the numbers users always had
    assert _budgets(_resume(new)) == expected


def test_the_task_budget_then_the_user_s_values_on_new_runs_and_on_resume(tmp_path: Path) -> None:
    folder = _task_folder(tmp_path, "[budget]\nmax_steps = 3\nwall_time_s = 99\n"
                                    "cell_timeout_s = 42\n")
    from_task = _new_run(tmp_path, folder, "from-task")
    assert _budgets(from_task) == (3, 42.0, 99.0)
    assert _budgets(_resume(from_task)) == (3, 42.0, 99.0)
    assert _budgets(_resume(from_task, max_steps=5)) == (5, 42.0, 99.0)

    given = _new_run(tmp_path, folder, "given", max_steps=2, cell_timeout=7.0)
    assert _budgets(given) == (2, 7.0, 99.0)
    assert _budgets(_resume(given)) == (2, 7.0, 99.0)  # the run keeps what it was started with


def test_resume_refuses_a_bad_max_steps_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    agent = _new_run(tmp_path, _task_folder(tmp_path, ""), "run")
    journal = (agent.run_dir / "journal.json").read_bytes()
    with pytest.raises(InputError) as refused:
        _resume(agent, max_steps=-1)
    assert "--max-steps" in str(refused.value) and "\n" not in str(refused.value)
    assert (agent.run_dir / "journal.json").read_bytes() == journal


@pytest.mark.parametrize("steps", [-1, 0, 3, 200, 201])
def test_resume_checks_max_steps_exactly_as_a_new_run_does(tmp_path: Path, steps: int) -> None:
    """Whatever range ``--max-steps`` has, a resume applies the same check (it used to assign
    the new value past it)."""
    agent = _new_run(tmp_path, _task_folder(tmp_path, ""), "run")
    try:
        RunOptions(max_steps=steps)
        new_error = None
    except InputError as exc:
        new_error = str(exc)
    if new_error is None:
        assert _resume(agent, max_steps=steps).max_steps == steps
    else:
        with pytest.raises(InputError) as refused:
            _resume(agent, max_steps=steps)
        assert str(refused.value) == new_error


def test_one_literal_default_for_the_cell_timeout() -> None:
    """Budget, the task runtime and the kernel executor share CELL_TIMEOUT_S (defined beside
    Budget); no other module spells a cell-timeout number."""
    assert Budget().cell_timeout_s == CELL_TIMEOUT_S
    for built in (TaskRuntime, KernelExecutor):
        assert inspect.signature(built).parameters["cell_timeout"].default == CELL_TIMEOUT_S
    literal = re.compile(r"cell_timeout\w*\s*(?::[^=\n]*)?=\s*(?:Field\(default=)?\d")
    found = [f"{path.relative_to(PACKAGE)}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line in path.read_text(encoding="utf-8").splitlines()
             if literal.search(line) or re.search(r"\bCELL_TIMEOUT_S\s*=\s*\d", line)]
    home = Path(inspect.getfile(Budget)).relative_to(PACKAGE)  # the task model, wherever it is
    assert found == [f"{home}: CELL_TIMEOUT_S = 300.0"]


def test_production_builds_the_agent_only_with_an_injected_runtime() -> None:
    runtime = inspect.signature(ExperimentAgent).parameters["runtime"]
    assert runtime.default is inspect.Parameter.empty
    assert runtime.kind is inspect.Parameter.KEYWORD_ONLY
    built = {name: sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                          if f"{name}(" in p.read_text(encoding="utf-8"))
             for name in ("TaskRuntime", "ExperimentAgent")}
    assert built == {"TaskRuntime": ["experiment/runner.py"],
                     "ExperimentAgent": ["experiment/runner.py"]}
    assert "TaskRuntime" not in (PACKAGE / "experiment" / "agent.py").read_text(encoding="utf-8")


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {("." * n.level) + (n.module or "") for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom)}


def test_agent_and_verification_do_not_import_each_other() -> None:
    experiment = PACKAGE / "experiment"
    assert not {".verify", ".runner"} & _imports(experiment / "agent.py")
    assert not {".agent", ".runner"} & _imports(experiment / "verify.py")
