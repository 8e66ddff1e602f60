"""Task specs: bundled tasks, task.toml validation, the MLAgentBench layout, workspaces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlr_copilot_jupyter.errors import TaskError
from mlr_copilot_jupyter.experiment.task import (
    READ_ONLY_MANIFEST,
    TASKS_DIR,
    Task,
    bundled_tasks,
    infer_metric,
    load_task,
)

BUNDLED = ("breast_cancer", "diabetes", "digits", "wine")

VALID_TOML = """\
name = "toy"
description = "Predict the label."
task_type = "classification"
data_files = ["data/train.csv", "data/test.csv"]
baseline = "baseline.py"

[metric]
name = "accuracy"
direction = "maximize"

[budget]
max_steps = 4
wall_time_s = 60
cell_timeout_s = 30
"""


@pytest.fixture
def toy_task(tmp_path: Path) -> Path:
    folder = tmp_path / "toy"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.csv").write_text("x,target\n1,0\n2,1\n")
    (folder / "data" / "test.csv").write_text("x,target\n3,1\n")
    (folder / "baseline.py").write_text("print('baseline')\n")
    (folder / "task.toml").write_text(VALID_TOML)
    return folder


def test_bundled_tasks_are_listed_and_load() -> None:
    assert set(BUNDLED) <= set(bundled_tasks())
    for name in BUNDLED:
        task = load_task(name)
        assert task.name == name
        assert task.layout == "task.toml"
        assert task.tabular_split() == ("train.csv", "test.csv")
        assert task.baseline == "baseline.py"
        assert task.read_only_files == ["train.csv", "test.csv"]
        assert "sklearn.datasets.load_" in task.description  # provenance is cited
        assert (task.root / "baseline.py").is_file()
    assert load_task("diabetes").metric.direction == "minimize"
    assert load_task("diabetes").task_type == "regression"
    assert load_task("breast_cancer").metric.name == "f1"


def test_bundled_data_is_small_and_provenance_script_is_shipped() -> None:
    total = sum(p.stat().st_size for p in TASKS_DIR.rglob("*.csv"))
    assert total < 2_000_000
    assert (TASKS_DIR / "_make_data.py").is_file()


def test_bundled_baseline_runs_as_plain_script(tmp_path: Path) -> None:
    task = load_task("wine")
    workspace = task.prepare_workspace(tmp_path / "run")
    out = subprocess.run(
        [sys.executable, "baseline.py"], cwd=workspace, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("MLR_METRIC "))
    record = json.loads(line.removeprefix("MLR_METRIC "))
    assert record["name"] == "accuracy"
    assert 0.5 < record["value"] < 0.8


def test_load_by_folder_file_and_unknown_name(toy_task: Path) -> None:
    by_folder = load_task(toy_task)
    by_file = load_task(toy_task / "task.toml")
    assert by_folder == by_file
    assert by_folder.data_files == ["data/train.csv", "data/test.csv"]
    assert by_folder.budget.max_steps == 4 and by_folder.budget.cell_timeout_s == 30
    assert by_folder.tabular_split() == ("data/train.csv", "data/test.csv")
    assert Task.model_validate_json(by_folder.model_dump_json()) == by_folder
    with pytest.raises(TaskError, match="not found.*bundled tasks: .*digits"):
        load_task("no-such-task")


def test_direction_is_inferred_for_known_metrics(toy_task: Path) -> None:
    spec = toy_task / "task.toml"
    spec.write_text(
        VALID_TOML.replace('name = "accuracy"\ndirection = "maximize"', 'name = "rmse"')
    )
    assert load_task(toy_task).metric.direction == "minimize"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.split("[metric]")[0], r"field 'metric' is missing"),
        (lambda t: t.replace('direction = "maximize"', 'direction = "up"'), r"'metric.direction' is 'up'; expected 'maximize' or 'minimize'"),
        (lambda t: t.replace('name = "accuracy"\ndirection = "maximize"', 'name = "banana"'), r"'metric.direction' is missing"),
        (lambda t: t.replace("data/test.csv", "data/missing.csv"), r"field 'data_files' names 'data/missing.csv', which does not exist"),
        (lambda t: t.replace('"baseline.py"', '"nope.py"'), r"field 'baseline' names 'nope.py', which does not exist"),
        (lambda t: t.replace('baseline = "baseline.py"\n', ""), r"field 'baseline' is missing"),
        (lambda t: t.replace("data/train.csv", "../secret.csv"), r"field 'data_files' has '../secret.csv'; use a path inside"),
        (lambda t: t.replace("max_steps = 4", 'max_steps = "ten"'), r"field 'budget.max_steps' must be an integer, got str 'ten'"),
        (lambda t: t.replace("max_steps = 4", "max_steps = 0"), r"field 'budget.max_steps' must be positive"),
        (lambda t: t.replace('data_files = ["data/train.csv", "data/test.csv"]', 'data_files = "data/train.csv"'), r"field 'data_files' must be a list"),
        (lambda t: t.replace("[metric]", "[metrics]"), r"unknown field 'metrics'"),
        (lambda t: t.replace('name = "toy"', 'name = "toy'), r"invalid TOML: .*line 1"),
        (lambda t: t + 'target = "label"\n', r"unknown field 'budget.target'"),
        (lambda t: 'target = "label"\n' + t, r"field 'target' is 'label', which is not a column of data/train.csv"),
    ],
)  # fmt: skip
def test_malformed_spec_is_one_line_naming_file_and_field(toy_task: Path, edit, expected) -> None:
    spec = toy_task / "task.toml"
    spec.write_text(edit(VALID_TOML))
    with pytest.raises(TaskError, match=expected) as info:
        load_task(toy_task)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(spec.resolve()) + ": ")


def test_not_a_task_folder(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="not a task folder"):
        load_task(tmp_path)


def _mlagentbench(tmp_path: Path, *, eval_py: str | None) -> Path:
    folder = tmp_path / "house-price"
    env, scripts = folder / "env", folder / "scripts"
    (env / "data").mkdir(parents=True)
    scripts.mkdir()
    (env / "train.py").write_text("import pandas as pd\nprint('train')\n")
    (env / "data" / "train.csv").write_text("a,SalePrice\n1,100\n")
    (env / "data_description.txt").write_text("columns...\n")
    (env / "__pycache__").mkdir()
    (env / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (scripts / "research_problem.txt").write_text(
        "Go through data_description.txt, then train a model to predict SalePrice. "
        "Improve the validation loss.\n"
    )
    (scripts / "read_only_files.txt").write_text("./data/*\ndata_description.txt\n")
    if eval_py is not None:
        (scripts / "eval.py").write_text(eval_py)
    return folder


EVAL_PY = """\
from sklearn.metrics import mean_absolute_error

def get_score(submission_folder="../env"):
    # mean absolute error of the submission
    return mean_absolute_error([1], [1])
"""


def test_mlagentbench_layout_loads(tmp_path: Path) -> None:
    task = load_task(_mlagentbench(tmp_path, eval_py=EVAL_PY))
    assert task.layout == "mlagentbench"
    assert task.name == "house-price"
    assert task.description.startswith("Go through data_description.txt")
    assert task.baseline == "train.py"
    assert task.data_files == ["data/train.csv", "data_description.txt"]
    assert task.read_only_files == ["data/train.csv", "data_description.txt"]
    assert task.eval_script == "scripts/eval.py"
    # eval.py names the metric; it wins over "loss" in the problem text.
    assert (task.metric.name, task.metric.direction) == ("mae", "minimize")
    assert task.task_type == "regression"
    assert task.workspace_files() == ["data/train.csv", "data_description.txt", "train.py"]


def test_mlagentbench_without_eval_infers_from_problem_and_honours_override(tmp_path: Path) -> None:
    folder = _mlagentbench(tmp_path, eval_py=None)
    task = load_task(folder)
    assert task.eval_script is None
    assert (task.metric.name, task.metric.direction) == ("loss", "minimize")
    (folder / "scripts" / "task.toml").write_text(
        'target = "SalePrice"\ntask_type = "regression"\n[metric]\nname = "rmse"\n'
        "[budget]\nmax_steps = 3\n"
    )
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("rmse", "minimize")
    assert task.target == "SalePrice" and task.budget.max_steps == 3


def test_mlagentbench_errors_name_the_file(tmp_path: Path) -> None:
    folder = _mlagentbench(tmp_path, eval_py="def score(folder):\n    return 1\n")
    with pytest.raises(TaskError, match=r"scripts/eval.py: does not define get_score"):
        load_task(folder)
    (folder / "scripts" / "eval.py").unlink()
    (folder / "env" / "train.py").unlink()
    with pytest.raises(TaskError, match=r"env/train.py: missing"):
        load_task(folder)
    (folder / "scripts" / "research_problem.txt").unlink()
    with pytest.raises(TaskError, match=r"research_problem.txt: missing"):
        load_task(folder)
    (folder / "scripts" / "research_problem.txt").write_text("x")
    (folder / "env" / "train.py").write_text("x")
    (folder / "scripts" / "task.toml").write_text("[metric]\ndirection = 'sideways'\n")
    with pytest.raises(TaskError, match=r"task.toml: field 'metric.direction' is 'sideways'"):
        load_task(folder)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("print(accuracy_score(y, p))", ("accuracy", "maximize")),
        ("The metric is ROC AUC on the held-out set.", ("roc_auc", "maximize")),
        ("score = mean_squared_error(y, p, squared=False)", ("rmse", "minimize")),
        ("report the macro F1 score", ("f1", "maximize")),
        ("Lower perplexity is better", ("perplexity", "minimize")),
        ("reduce the error rate", ("error", "minimize")),
        ("make it better", ("score", "maximize")),
    ],
)
def test_infer_metric(text: str, expected: tuple[str, str]) -> None:
    assert infer_metric(text) == expected


def test_prepare_workspace_and_read_only_check(tmp_path: Path) -> None:
    task = load_task("digits")
    run_dir = tmp_path / "run"
    workspace = task.prepare_workspace(run_dir)
    assert workspace == run_dir / "workspace"
    assert sorted(p.name for p in workspace.iterdir()) == ["baseline.py", "test.csv", "train.csv"]
    assert (run_dir / READ_ONLY_MANIFEST).is_file()
    assert task.check_read_only(run_dir) == []
    (workspace / "baseline.py").write_text("# edited by the agent\n")  # allowed
    (workspace / "submission.csv").write_text("id,target\n")  # allowed
    assert task.check_read_only(run_dir) == []
    with open(workspace / "test.csv", "a") as handle:
        handle.write("0" * 64 + ",7\n")
    (workspace / "train.csv").unlink()
    assert task.check_read_only(run_dir) == ["train.csv", "test.csv"]
    # Without the manifest the originals in the task folder are the reference.
    (run_dir / READ_ONLY_MANIFEST).unlink()
    assert task.check_read_only(run_dir) == ["train.csv", "test.csv"]


def test_mlagentbench_workspace_copies_env_tree(tmp_path: Path) -> None:
    task = load_task(_mlagentbench(tmp_path, eval_py=EVAL_PY))
    workspace = task.prepare_workspace(tmp_path / "run")
    assert (workspace / "data" / "train.csv").read_text().startswith("a,SalePrice")
    assert (workspace / "train.py").is_file()
    assert not (workspace / "__pycache__").exists()
    assert not (workspace / "scripts").exists()  # the eval script stays hidden from the agent
    (workspace / "data_description.txt").write_text("tampered\n")
    assert task.check_read_only(tmp_path / "run") == ["data_description.txt"]


def test_copied_bundled_task_is_independent(tmp_path: Path) -> None:
    copy = tmp_path / "my_wine"
    shutil.copytree(TASKS_DIR / "wine", copy)
    task = load_task(copy)
    assert task.root == copy.resolve()
    assert task.name == "wine"


def test_task_type_is_inferred_from_the_metric_when_omitted(toy_task: Path) -> None:
    spec = toy_task / "task.toml"
    text = VALID_TOML.replace('task_type = "classification"\n', "")
    spec.write_text(text.replace('name = "accuracy"\ndirection = "maximize"', 'name = "mae"'))
    assert load_task(toy_task).task_type == "regression"
    assert load_task("breast-cancer").name == "breast_cancer"  # hyphenated bundled name
    with pytest.raises(TaskError, match="not found"):
        load_task("../tasks/wine")
