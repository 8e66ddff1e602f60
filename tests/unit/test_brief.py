"""The task brief a model gets for a real task, and the review of an execution.

Unit tests of :mod:`experiment.brief` on an MLAgentBench-layout folder (a sentence-pair
relatedness task scored by Pearson r through its eval.py, tests/support/text_task.py); the step
prompt holding it (must-show 6; the first draft prompt of a real CLI run is checked in
tests/integration/test_brief.py); and the execution review, LLM (scripted, through the openai SDK)
and offline (heuristic readout).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

from mlr_copilot_jupyter.experiment.brief import (
    data_overview,
    numbered_listing,
    task_brief,
    workspace_tree,
)
from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.experiment.policies import (
    StepPolicy,
    StepRequest,
    step_prompt,
)
from mlr_copilot_jupyter.experiment.review import ExecutionReview, heuristic_review
from mlr_copilot_jupyter.experiment.task import MetricSpec, Task, load_task
from mlr_copilot_jupyter.llm.offline import OfflineBackend
from tests.support.chat_server import ChatServer
from tests.support.text_task import assert_brief_in, make_text_pair_task


@pytest.fixture
def text_task(tmp_path: Path) -> Task:
    return load_task(make_text_pair_task(tmp_path / "sts_task"))


# -- the brief ------------------------------------------------------------------------------------
def test_workspace_tree_lists_files_with_sizes_and_skips_caches(text_task: Task) -> None:
    root = text_task.workspace_root
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"x" * 10)
    (root / "models").mkdir()
    (root / "models" / "weights.bin").write_bytes(b"\0" * 2500)
    tree = workspace_tree(root)
    lines = tree.splitlines()
    assert "train.csv (" in tree and "kB)" in tree
    size = (root / "train.py").stat().st_size
    assert f"train.py ({size / 1000:.1f} kB)" in lines
    assert "models/" in lines and "    weights.bin (2.5 kB)" in lines
    assert "__pycache__" not in tree and "pyc" not in tree


def test_workspace_tree_is_bounded(tmp_path: Path) -> None:
    for i in range(100):
        (tmp_path / f"part_{i:03d}.txt").write_text("x")
    tree = workspace_tree(tmp_path, max_entries=10)
    assert len(tree.splitlines()) == 11
    assert tree.splitlines()[-1] == "... and 90 more files not listed"


def test_data_overview_has_real_columns_dtypes_ranges_and_separate_header(text_task: Task) -> None:
    text, infos = data_overview(text_task, text_task.workspace_root)
    assert [i.name for i in infos] == ["test.csv", "train.csv"]
    assert infos[1].columns == ["sentence1", "sentence2", "score"]
    assert "120 rows x 3 columns" in text and "40 rows x 2 columns" in text
    assert re.search(r"- `sentence1` \((object|str|string)\): text, mean length \d+ chars", text)
    score = next(line for line in text.splitlines() if line.startswith("- `score`"))
    assert score.startswith("- `score` (float64): range ") and "mean" in score
    # the rows are rendered as a table: the header line holds only the column names
    table = text.split("First 3 rows:\n```\n")[-1].split("\n```")[0].splitlines()
    assert table[0].split() == ["sentence1", "sentence2", "score"]
    assert len(table) == 4


def test_data_overview_counts_missing_values_and_low_cardinality(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("age,label,city\n31,1,Paris\n,0,Rome\n45,1,\n52,0,Rome\n")
    task = Task(name="t", description="d", data_files=["train.csv"], baseline="train.csv",
                metric={"name": "accuracy", "direction": "maximize"}, root=tmp_path)
    text, _ = data_overview(task, tmp_path)
    assert "- `age` (float64): range 31 .. 52, mean 42.67, 3 unique values [31.0, 45.0, 52.0], " \
           "1 missing" in text
    assert "- `label` (int64): range 0 .. 1" in text and "2 unique values [0, 1]" in text
    assert re.search(r"- `city` \((object|str|string)\): 2 unique values \['Rome', 'Paris'\], "
                     r"1 missing", text)


def test_large_data_file_is_overviewed_from_a_sample(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter.experiment import brief

    monkeypatch.setattr(brief, "SAMPLE_BYTES", 1000)
    monkeypatch.setattr(brief, "SAMPLE_ROWS", 50)
    (tmp_path / "big.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(5000)))
    info = brief.describe_data_file(tmp_path / "big.csv", "big.csv")
    assert "about 5000 rows x 2 columns (statistics from the first 50 rows)" in info.text
    assert "range 0 .. 49" in info.text


def test_default_target_without_such_column_lists_candidates(text_task: Task) -> None:
    text_task = text_task.model_copy(update={"target": "target"})  # what the loader defaults to
    brief = task_brief(text_task, text_task.workspace_root)
    note = brief["Target column"]
    assert "No data file has a column `target`" in note
    assert "Candidate label columns: `score`" in note
    named = task_brief(text_task.model_copy(update={"target": "score"}), text_task.workspace_root)
    assert named["Target column"] == "`score`"


def test_baseline_numbered_whole_or_in_chunks_and_never_silently_clipped(text_task: Task) -> None:
    source = (text_task.workspace_root / "train.py").read_text()
    lines = source.splitlines()
    assert 140 <= len(lines) <= 160
    whole = numbered_listing(source)
    assert f"({len(lines)} lines, shown whole)" in whole
    assert " 76 | # MIDDLE-MARKER" in whole
    assert f"{len(lines)} | print(\"LAST-LINE-MARKER: wrote submission.csv\")" in whole
    chunks = numbered_listing(source, whole_lines=50, chunk_lines=60)
    assert f"Lines 1-60 of {len(lines)}:" in chunks and f"Lines 61-120 of {len(lines)}:" in chunks
    assert f"Lines 121-{len(lines)} of {len(lines)}:" in chunks
    for number in range(1, len(lines) + 1):  # every line is there, numbered, once
        assert chunks.count(f"\n{number:>3} | ") == 1, number
    capped = numbered_listing(source, whole_lines=50, chunk_lines=60, cap_lines=100)
    assert "100 | " in capped and "101 | " not in capped
    assert f"Lines 101-{len(lines)} of {len(lines)} are omitted here" in capped


def test_brief_has_eval_source_and_submission_format(text_task: Task) -> None:
    brief = task_brief(text_task, text_task.workspace_root)
    assert "def get_score(submission_folder=\"../env\"):" in brief["Scorer"]
    assert 'submission["score"]' in brief["Scorer"]
    with_artifacts = task_brief(text_task, text_task.workspace_root,
                                {"submission.csv": "score\n2.31\n4.02\n"})
    assert "`submission.csv`, which the baseline wrote" in with_artifacts["Submission format"]
    assert "score\n2.31\n4.02" in with_artifacts["Submission format"]


# -- the prompt (must-show 6) ---------------------------------------------------------------------
def test_step_prompt_for_an_mlagentbench_task_holds_the_brief(text_task: Task,
                                                              tmp_path: Path) -> None:
    workspace = text_task.prepare_workspace(tmp_path / "run")
    (workspace / "scratch.txt").write_text("written by an earlier cell")
    journal = Journal(run_id="r", task=text_task.name, metric_name=text_task.metric.name,
                      direction=text_task.metric.direction)
    request = StepRequest(kind="draft", parent=None, journal=journal, task=text_task,
                          workspace=workspace, cell_timeout=42.0)
    prompt = step_prompt(request)[-1]["content"]
    assert_brief_in(prompt)
    assert "scratch.txt (" in prompt  # the live workspace, not the task folder
    assert "Time limit per cell\n\n42 s" in prompt


def test_consecutive_step_prompts_share_their_stable_head(text_task: Task, tmp_path: Path) -> None:
    """A local server reuses the evaluated prompt up to the first changed token: the research,
    specification, rules and brief come first, the workspace listing, the step's instructions,
    the parent and the search so far after them. Before, the listing led the brief and two
    consecutive step prompts shared 12% (23 s of re-reading per step with llama.cpp, issue 26)."""
    from mlr_copilot_jupyter.experiment.journal import Node

    workspace = text_task.prepare_workspace(tmp_path / "run")
    journal = Journal(run_id="r", task=text_task.name, metric_name=text_task.metric.name,
                      direction=text_task.metric.direction)
    first = step_prompt(StepRequest(kind="draft", parent=None, journal=journal, task=text_task,
                                    workspace=workspace))[-1]["content"]
    (workspace / "submission.csv").write_text("id,score\n1,0.5\n")  # the first cell's output
    node = Node(id="n1", kind="draft", step=1, title="tf-idf ridge", code="print(1)\n",
                status="error", error="ValueError: bad shape\n" * 20)
    journal.nodes.append(node)
    second = step_prompt(StepRequest(kind="debug", parent=node, journal=journal, task=text_task,
                                     workspace=workspace))[-1]["content"]
    shared = len(os.path.commonprefix([first, second]))
    assert "submission.csv" in second[shared:] and "Data overview" in second[:shared]
    assert "Rules for the code" in second[:shared] and "Baseline script" in second[:shared]
    assert shared >= 0.7 * len(first), (shared, len(first), len(second))


# -- the execution review ------------------------------------------------------------------------
def _pearson_task(tmp_path: Path) -> Task:
    return Task(name="sts", description="Predict relatedness.", data_files=[], baseline="x.py",
                metric={"name": "pearson", "direction": "maximize"}, root=tmp_path)


@pytest.mark.parametrize(("output", "metric", "value"), [
    ("epoch 3 done\nValidation MAE: 53.1\n", "mae", 53.1),
    ("step 10 loss=0.31\nval_acc=0.91 (n=300)\n", "accuracy", 0.91),
    ("dev pearson 0.77\n", "pearson", 0.77),
    ("valid score 0.5\n", "score", 0.5),
    ("Validation accuracy: 91.5%\n", "accuracy", 0.915),
    ("val rmse 3.2\nval r2 0.81\nholdout rmse: 3.05\n", "rmse", 3.05),
])
def test_offline_review_reads_validation_lines(output: str, metric: str, value: float,
                                               tmp_path: Path) -> None:
    task = _pearson_task(tmp_path).model_copy(
        update={"metric": MetricSpec(name=metric, direction="maximize")})
    review = asyncio.run(StepPolicy(OfflineBackend()).review("print('x')", output, task))
    assert review.source == "heuristic readout" and review.metric == pytest.approx(value)
    assert review.summary.startswith("Heuristic readout (no LLM)") and "LLM review" not in review.summary
    assert not review.is_bug


def test_offline_review_prefers_the_task_metric_and_ignores_test_lines(tmp_path: Path) -> None:
    task = _pearson_task(tmp_path)
    output = ("val loss 0.42\nvalidation pearson: 0.71 after 3 epochs\nval loss 0.40\n"
              "Test accuracy: 0.99\ntest pearson 0.93\n")
    review = heuristic_review(output, task)
    assert review.metric == pytest.approx(0.71) and review.metric_name == "pearson"
    only_test = heuristic_review("Test accuracy 0.88\ntest_pearson=0.9\nlatest val? none\n", task)
    assert only_test.metric is None and "no output line reports a validation metric" in only_test.summary
    unnamed = heuristic_review("valid score 0.5\n", task)
    assert unnamed.metric == 0.5 and unnamed.metric_name == "valid score"
    assert "does not name pearson" in unnamed.summary
    keras = heuristic_review("Epoch 5/5 - loss: 0.52 - val_loss: 0.47\n", task)
    assert keras.metric == pytest.approx(0.47) and keras.metric_name == "val_loss"


def test_offline_review_flags_a_traceback(tmp_path: Path) -> None:
    output = "Traceback (most recent call last):\n  File x\nValueError: bad input\n"
    review = heuristic_review(output, _pearson_task(tmp_path))
    assert review.is_bug and review.metric is None and "error" in review.summary


def _llm_policy(server: ChatServer) -> StepPolicy:
    from mlr_copilot_jupyter.config import MLRCopilot
    from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend

    settings = MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0, max_retries=1)
    return StepPolicy(OpenAIBackend(settings))


CODE = "pred = model.predict(x_val)\nprint('val pearson', pearsonr(pred, y_val)[0])\n"


def test_llm_review_sees_code_and_output_and_is_parsed(llm_env: ChatServer, tmp_path: Path) -> None:
    llm_env.reviewer = None  # these replies are scripted here, not answered neutrally
    llm_env.push_text(json.dumps({"is_bug": False, "summary": "Ridge on overlap features works.",
                                  "metric": 0.7712, "metric_name": "val pearson",
                                  "metric_split": "validation"}))
    output = "fitting\nval pearson 0.7712\nwrote submission.csv\n"
    review = asyncio.run(_llm_policy(llm_env).review(CODE, output, _pearson_task(tmp_path),
                                                     node_id="n3"))
    assert review == ExecutionReview(is_bug=False, summary="Ridge on overlap features works.",
                                     metric=0.7712, metric_name="val pearson",
                                     source="llm review")
    sent = [r for r in llm_env.requests if r["method"] == "POST"][-1]["json"]
    user = sent["messages"][-1]["content"]
    assert "pred = model.predict(x_val)" in user and "val pearson 0.7712" in user
    assert "VALIDATION" in user and "pearson (maximize)" in user


def test_llm_review_drops_test_metrics_and_numbers_not_in_the_output(
    llm_env: ChatServer, tmp_path: Path
) -> None:
    policy, task = _llm_policy(llm_env), _pearson_task(tmp_path)
    llm_env.reviewer = None  # these replies are scripted here, not answered neutrally
    llm_env.push_text(json.dumps({"is_bug": False, "summary": "Done.", "metric": 0.93,
                                  "metric_name": "test pearson", "metric_split": "test"}))
    on_test = asyncio.run(policy.review(CODE, "test pearson 0.93\n", task))
    assert on_test.metric is None and "not a validation metric" in on_test.summary
    llm_env.push_text(json.dumps({"is_bug": False, "summary": "Done.", "metric": 0.95,
                                  "metric_name": "val pearson", "metric_split": "validation"}))
    invented = asyncio.run(policy.review(CODE, "val pearson 0.77\n", task))
    assert invented.metric is None and "does not appear in the output" in invented.summary


def test_unparseable_llm_review_does_not_crash(llm_env: ChatServer, tmp_path: Path) -> None:
    llm_env.reviewer = None  # these replies are scripted here, not answered neutrally
    for _ in range(6):
        llm_env.push_text("I think it went fine, maybe 0.8?")
    review = asyncio.run(_llm_policy(llm_env).review(CODE, "val pearson 0.8\n",
                                                     _pearson_task(tmp_path)))
    assert review.source == "llm review" and review.metric is None and not review.is_bug
    assert review.summary.startswith("The LLM review failed")
