"""Task specs: bundled tasks, task.toml validation, the MLAgentBench layout, workspaces (in this
process; tests/integration/test_tasks.py runs a bundled baseline as a plain script)."""

from __future__ import annotations

import shutil
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
        assert task.heldout and task.test_file == "heldout/test.csv"
        assert (task.train_file(), task.validation_file()) == ("train.csv", "valid.csv")
        # fit on train.csv, evaluate on valid.csv: no labelled test.csv in the workspace
        assert task.tabular_split() == ("train.csv", "valid.csv")
        assert task.eval_artifacts() == ["submission.csv"]
        assert task.baseline == "baseline.py"
        assert task.read_only_files == ["train.csv", "valid.csv"]
        assert "valid.csv" in task.description and "held out" in task.description
        assert task.metric_origin == "task.toml" and "[metric]" in task.metric_evidence
        assert "sklearn.datasets.load_" in task.description  # provenance is cited
        assert (task.root / "baseline.py").is_file()
    assert load_task("diabetes").metric.direction == "minimize"
    assert load_task("diabetes").task_type == "regression"
    assert load_task("breast_cancer").metric.name == "f1"


def test_bundled_data_is_small_and_provenance_script_is_shipped() -> None:
    total = sum(p.stat().st_size for p in TASKS_DIR.rglob("*.csv"))
    assert total < 2_000_000
    assert (TASKS_DIR / "_make_data.py").is_file()


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
        (lambda t: t.replace("max_steps = 4", "max_steps = 201"), r"field 'budget.max_steps' must be between 0 and 200, got 201"),
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
    names = sorted(p.name for p in workspace.iterdir())
    assert names == ["baseline.py", "test.csv", "train.csv", "valid.csv"]
    assert (run_dir / READ_ONLY_MANIFEST).is_file()
    assert task.check_read_only(run_dir) == []
    (workspace / "baseline.py").write_text("# edited by the agent\n")  # allowed
    (workspace / "submission.csv").write_text("id,target\n")  # allowed
    assert task.check_read_only(run_dir) == []
    with open(workspace / "valid.csv", "a") as handle:
        handle.write("0" * 64 + ",7\n")
    (workspace / "train.csv").unlink()
    assert task.check_read_only(run_dir) == ["train.csv", "valid.csv"]
    # Without the manifest the originals in the task folder are the reference.
    (run_dir / READ_ONLY_MANIFEST).unlink()
    assert task.check_read_only(run_dir) == ["train.csv", "valid.csv"]


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


# --- the held-out layout ---------------------------------------------------------------------

HELDOUT_TOML = """\
name = "toy_heldout"
description = "Predict the label; select on valid.csv."
target = "label"
data_files = ["train.csv", "valid.csv"]
baseline = "baseline.py"

[test]
file = "private/test.csv"

[metric]
name = "accuracy"
"""


@pytest.fixture
def heldout_task(tmp_path: Path) -> Path:
    folder = tmp_path / "toy_heldout"
    (folder / "private").mkdir(parents=True)
    (folder / "train.csv").write_text("x,label,y\n1,0,5\n2,1,6\n")
    (folder / "valid.csv").write_text("x,label,y\n3,1,7\n")
    (folder / "private" / "test.csv").write_text("x,label,y\n9,1,\"a,b\"\n8,0,c\n7,1,d\n")
    (folder / "baseline.py").write_text("print('baseline')\n")
    (folder / "task.toml").write_text(HELDOUT_TOML)
    return folder


def test_heldout_workspace_gets_features_only_copy_in_row_order(heldout_task: Path,
                                                                 tmp_path: Path) -> None:
    task = load_task(heldout_task)
    assert (task.test_file, task.test_features, task.submission) == (
        "private/test.csv", "test.csv", "submission.csv")
    run_dir = tmp_path / "run"
    workspace = task.prepare_workspace(run_dir)
    assert sorted(p.name for p in workspace.iterdir()) == [
        "baseline.py", "test.csv", "train.csv", "valid.csv"]
    assert not (workspace / "private").exists()
    assert (workspace / "test.csv").read_text() == 'x,y\n9,"a,b"\n8,c\n7,d\n'
    assert (run_dir / READ_ONLY_MANIFEST).is_file()
    # A fresh copy elsewhere (verification): same files, no manifest written there.
    fresh = task.prepare_workspace(run_dir, workspace=tmp_path / "fresh")
    assert fresh == tmp_path / "fresh"
    assert (fresh / "test.csv").read_text() == (workspace / "test.csv").read_text()
    assert not (tmp_path / READ_ONLY_MANIFEST).exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('file = "private/test.csv"', 'features = "x.csv"'), r"field 'test.file' is missing"),
        (lambda t: t.replace("private/test.csv", "../test.csv"), r"field 'test.file' has '../test.csv'; use a path inside"),
        (lambda t: t.replace("private/test.csv", "private/nope.csv"), r"field 'test.file' names 'private/nope.csv', which does not exist"),
        (lambda t: t.replace('"valid.csv"]', '"valid.csv", "private/test.csv"]'), r"field 'test.file' names 'private/test.csv', which is also a workspace file"),
        (lambda t: t.replace('file = "private/test.csv"', 'file = "private/test.csv"\nfeatures = "train.csv"'), r"field 'test.features' is 'train.csv', which collides"),
        (lambda t: t.replace('file = "private/test.csv"', 'file = "private/test.csv"\nsubmission = "baseline.py"'), r"field 'test.submission' is 'baseline.py', which collides"),
        (lambda t: t.replace('file = "private/test.csv"', 'file = "private/test.csv"\nsubmission = "test.csv"'), r"fields 'test.features' and 'test.submission' are both 'test.csv'"),
        (lambda t: t.replace('file = "private/test.csv"', 'file = "private/test.csv"\nlabels = 1'), r"unknown field 'test.labels'"),
        (lambda t: t.replace('target = "label"', 'target = "y2"'), r"field 'target' is 'y2', which is not a column of the test file"),
    ],
)  # fmt: skip
def test_malformed_test_table_is_one_line_naming_file_and_field(
    heldout_task: Path, edit, expected
) -> None:
    spec = heldout_task / "task.toml"
    spec.write_text(edit(HELDOUT_TOML))
    with pytest.raises(TaskError, match=expected) as info:
        load_task(heldout_task)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(spec.resolve()) + ": ")


def test_target_must_be_in_train_and_validation_files(heldout_task: Path) -> None:
    (heldout_task / "valid.csv").write_text("x,y\n3,7\n")
    with pytest.raises(TaskError, match=r"'label', which is not a column of valid.csv"):
        load_task(heldout_task)


def test_unknown_field_hint_lists_the_test_table(heldout_task: Path) -> None:
    (heldout_task / "task.toml").write_text(HELDOUT_TOML + "[tests]\nfile = 'x'\n")
    with pytest.raises(TaskError) as info:
        load_task(heldout_task)
    assert "[test] file/features/submission" in info.value.one_line()


def test_with_metric_overrides_name_and_direction(toy_task: Path) -> None:
    task = load_task(toy_task)
    assert task.metric_origin == "task.toml"
    flipped = task.with_metric(None, "min")
    assert (flipped.metric.name, flipped.metric.direction) == ("accuracy", "minimize")
    assert flipped.metric_origin == "override" and "--direction min" in flipped.metric_evidence
    assert task.metric.direction == "maximize"  # a copy: the original is unchanged
    named = task.with_metric("rmse", None)
    assert (named.metric.name, named.metric.direction) == ("rmse", "minimize")
    both = task.with_metric("pearson", "maximize")
    assert (both.metric.name, both.metric.direction) == ("pearson", "maximize")
    unknown = task.with_metric("bleu4", None)
    assert unknown.metric.direction == "maximize" and "--direction min|max" in unknown.warnings[0]
    assert task.with_metric(None, None) is task
    with pytest.raises(TaskError, match=r"--direction 'up' is not one of min, max"):
        task.with_metric(None, "up")
    with pytest.raises(TaskError, match=r"--metric '3 x' is not a metric name"):
        task.with_metric("3 x", None)


def test_a_shipped_file_eval_py_names_is_an_artifact_only_when_the_baseline_rewrites_it(
        tmp_path: Path) -> None:
    folder = tmp_path / "shipped"
    (folder / "env").mkdir(parents=True)
    (folder / "scripts").mkdir()
    (folder / "env" / "train.py").write_text("print(1)\n")
    (folder / "env" / "test.csv").write_text("id,x\n1,2\n")
    (folder / "env" / "submission.csv").write_text("id,label\n1,0\n")  # stale, shipped
    (folder / "scripts" / "research_problem.txt").write_text("Predict label; accuracy.")
    (folder / "scripts" / "eval.py").write_text(
        "import os, pandas as pd\n"
        "def get_score(folder):\n"
        "    ids = pd.read_csv(os.path.join(folder, 'test.csv'))['id']\n"
        "    return float(pd.read_csv(os.path.join(folder, 'submission.csv'))['label'].mean())\n")
    task = load_task(folder)
    assert task.eval_artifacts() == []  # both files ship with the task: inputs
    assert task.eval_artifacts({"submission.csv"}) == ["submission.csv"]  # the baseline rewrote it


def test_eval_artifacts_of_an_mlagentbench_task(tmp_path: Path) -> None:
    eval_py = (
        "import os\nimport pandas as pd\n\n"
        "def get_score(submission_folder='../env'):\n"
        "    sub = pd.read_csv(os.path.join(submission_folder, 'submission.csv'))\n"
        "    truth = pd.read_csv(os.path.join(os.path.dirname(__file__), 'answers.csv'))\n"
        "    extra = os.path.join(submission_folder, 'data/train.csv')\n"
        "    # mean absolute error\n    return float((sub.x - truth.x).abs().mean())\n"
    )
    folder = _mlagentbench(tmp_path, eval_py=eval_py)
    (folder / "scripts" / "answers.csv").write_text("x\n1\n")
    task = load_task(folder)
    assert task.eval_artifacts() == ["submission.csv"]
    assert not task.heldout and task.validation_file() is None
    assert task.train_file() == "data/train.csv"


def test_an_f_string_fragment_in_eval_py_is_no_artifact(tmp_path: Path) -> None:
    """Issue #24 item 4: f"{lang}_test.csv" (a data file that exists before the run) is not a
    file a node must write; the submission it scores is."""
    eval_py = (
        "import os\nimport pandas as pd\n\n"
        "def get_score(submission_folder='../env', lang='eng'):\n"
        "    gold = pd.read_csv(os.path.join(submission_folder, 'data', lang, f'{lang}_test.csv'))\n"
        "    sub = pd.read_csv(os.path.join(submission_folder, 'submission.csv'))\n"
        "    return float((sub.score - gold.score).abs().mean())\n"
    )
    folder = _mlagentbench(tmp_path, eval_py=eval_py)
    assert load_task(folder).eval_artifacts() == ["submission.csv"]
