"""Answers inside an MLAgentBench env/ and the validation data of such a task (issue #24 item 3),
in-process: which files hold answers, the blanked copy, the scoring mirror, dev files and carving."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.answers import (
    find_answer_files,
    is_id_like,
    read_table,
    scoring_mirror,
    stage_validation,
    validation_plan,
    write_blanked,
)


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


SEMEVAL_EVAL = '''
import os
import pandas as pd
def get_score(submission_folder="../env"):
    preds = pd.read_csv(os.path.join(submission_folder, "submission.csv"))["label"]
    lang = "eng"
    df = pd.read_csv(os.path.join(submission_folder, "data", lang, f"{lang}_test.csv"))
    return float(df["label"].corr(preds, method="spearman"))
'''


@pytest.fixture()
def semeval_env(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    header = ["PairID", "sentence1", "sentence2", "label"]
    for split, n in (("train", 10), ("dev", 4), ("test", 5)):
        _csv(env / "data" / "eng" / f"eng_{split}.csv", header,
             [[f"{split}-{k}", f"a {k}", f"b {k}", k / 10] for k in range(n)])
    (env / "train.py").write_text("print('hi')\n")
    return env


FILES = ["data/eng/eng_dev.csv", "data/eng/eng_test.csv", "data/eng/eng_train.csv", "train.py"]


def test_an_f_string_test_file_with_a_label_column_is_an_answer_file(semeval_env: Path) -> None:
    found = find_answer_files(SEMEVAL_EVAL, semeval_env, FILES)
    assert [(a.rel, a.labels) for a in found] == [("data/eng/eng_test.csv", ("label",))]


def test_ids_features_and_unread_files_are_not_answers(tmp_path: Path) -> None:
    env = tmp_path / "env"
    _csv(env / "test.csv", ["PassengerId", "Age"], [[1, 30]])
    _csv(env / "test_labels.csv", ["PassengerId", "Transported"], [[1, "True"]])
    _csv(env / "old_test.csv", ["x", "y"], [[1, 2]])  # eval.py never opens it
    source = ('import pandas as pd\ndef get_score(folder):\n'
              '    ids = pd.read_csv(folder + "/test.csv")["PassengerId"]\n'
              '    y = pd.read_csv(folder + "/test_labels.csv")["Transported"]\n'
              '    return 1.0\n')
    found = find_answer_files(source, env, ["test.csv", "test_labels.csv", "old_test.csv"])
    assert [(a.rel, a.labels) for a in found] == [("test_labels.csv", ("Transported",))]


@pytest.mark.parametrize(("name", "expected"), [
    ("id", True), ("PairID", True), ("PassengerId", True), ("row_index", True),
    ("passenger_id", True), ("label", False), ("paid", False), ("valid", False),
    ("Cabin", False)])
def test_id_like_columns(name: str, expected: bool) -> None:
    assert is_id_like(name) is expected


def test_the_blanked_copy_keeps_every_column_but_the_answers(semeval_env: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "copy.csv"
    rows = write_blanked(semeval_env / "data/eng/eng_test.csv", out, ("label",))
    header, body = read_table(out)
    assert rows == 5 and header == ["PairID", "sentence1", "sentence2", "label"]
    assert [r[3] for r in body] == [""] * 5 and body[2][:3] == ["test-2", "a 2", "b 2"]


def test_the_scoring_mirror_puts_the_originals_back_and_links_the_rest(
        semeval_env: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    for rel in FILES:
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_bytes((semeval_env / rel).read_bytes())
    answers = find_answer_files(SEMEVAL_EVAL, semeval_env, FILES)
    write_blanked(semeval_env / answers[0].rel, workspace / answers[0].rel, answers[0].labels)
    (workspace / "submission.csv").write_text("label\n0.1\n")
    mirror = scoring_mirror(workspace, semeval_env, answers, tmp_path / "run" / "scoring" / "w")
    assert (mirror / "submission.csv").is_symlink()
    assert (mirror / "data" / "eng" / "eng_train.csv").is_symlink()
    restored = mirror / "data" / "eng" / "eng_test.csv"
    assert not restored.is_symlink() and read_table(restored)[1][4][3] == "0.4"
    assert read_table(workspace / answers[0].rel)[1][4][3] == ""  # the workspace is untouched


def test_a_labelled_dev_file_beside_the_test_file_is_the_validation_data(
        semeval_env: Path, tmp_path: Path) -> None:
    answers = find_answer_files(SEMEVAL_EVAL, semeval_env, FILES)
    plan = validation_plan(semeval_env, FILES, answers)
    assert plan is not None and plan.dev == "data/eng/eng_dev.csv" and plan.answer_in_workspace
    workspace = tmp_path / "replay"
    header, truth = stage_validation(plan, semeval_env, workspace)
    staged_header, staged = read_table(workspace / "data/eng/eng_test.csv")
    assert staged_header == header == ["PairID", "sentence1", "sentence2", "label"]
    assert [r[0] for r in staged] == [f"dev-{k}" for k in range(4)]
    assert all(r[3] == "" for r in staged) and [r[3] for r in truth] == ["0.0", "0.1", "0.2", "0.3"]
    assert "eng_dev.csv" in plan.describe(4)


def test_without_a_dev_file_rows_are_carved_out_of_the_training_file(tmp_path: Path) -> None:
    env = tmp_path / "env"
    _csv(env / "train.csv", ["id", "x", "y"], [[k, k * 2, k % 3] for k in range(50)])
    _csv(env / "test.csv", ["id", "x"], [[100 + k, k] for k in range(7)])
    plan = validation_plan(env, ["train.csv", "test.csv"], [], target="target")
    assert plan is not None and plan.train == "train.csv" and plan.labels == ("y",)
    assert not plan.answer_in_workspace
    workspace = tmp_path / "replay"
    header, truth = stage_validation(plan, env, workspace)
    assert header == ["id", "x", "y"] and len(truth) == 10
    left = read_table(workspace / "train.csv")[1]
    staged = read_table(workspace / "test.csv")[1]
    assert len(left) == 40 and {r[0] for r in left}.isdisjoint({r[0] for r in staged})
    assert [r[0] for r in staged] == [r[0] for r in truth]
    assert "seed 0" in plan.describe() and "20%" in plan.describe()
    # the same seed carves the same rows
    again = stage_validation(plan, env, tmp_path / "again")[1]
    assert again == truth


def test_no_test_file_means_no_plan(tmp_path: Path) -> None:
    env = tmp_path / "env"
    _csv(env / "train.csv", ["x", "y"], [[1, 2]])
    assert validation_plan(env, ["train.csv"], []) is None


def test_a_labelled_test_file_eval_py_never_opens_is_blanked_but_scored_elsewhere(
        tmp_path: Path) -> None:
    env = tmp_path / "env"
    _csv(env / "train.csv", ["f1", "target"], [[k, k % 2] for k in range(20)])
    _csv(env / "test.csv", ["f1", "target"], [[k, k % 2] for k in range(5)])
    source = ('import os, pandas as pd\ndef get_score(folder):\n'
              '    a = pd.read_csv(os.path.join(os.path.dirname(__file__), "answers.csv"))\n'
              '    s = pd.read_csv(os.path.join(folder, "submission.csv"))\n'
              '    return float((s["prediction"].values == a["target"].values).mean())\n')
    found = find_answer_files(source, env, ["train.csv", "test.csv"])
    assert [(a.rel, a.labels, a.opened) for a in found] == [("test.csv", ("target",), False)]
    plan = validation_plan(env, ["train.csv", "test.csv"], found)
    # eval.py cannot be pointed at other labels: the replay is scored by the copilot's scorer
    assert plan is not None and plan.train == "train.csv" and not plan.answer_in_workspace
