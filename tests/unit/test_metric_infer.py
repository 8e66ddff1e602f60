"""Metric name and direction of MLAgentBench folders: inferred with evidence, warned, overridden,
confirmed by an LLM (scripted server on a thread, through the openai SDK), in this process
(tests/integration/test_metric_infer.py: --direction and --metric through the CLI and the magic
to a run's journal)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.experiment.metric_infer import (
    MetricConfirmation,
    confirm_metric,
    elapsed_time_evidence,
)
from mlr_copilot_jupyter.experiment.task import load_task
from mlr_copilot_jupyter.llm.offline import OfflineBackend
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from tests.support.chat_server import ChatServer

RUNTIME_EVAL = """\
import os
import subprocess
import sys
import time


def get_score(submission_folder="../env"):
    start = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(submission_folder, "train.py")], check=True)
    end = time.perf_counter()
    return end - start
"""

TIMEIT_EVAL = """\
import timeit


def _measure(folder):
    return min(timeit.repeat("run()", setup=f"from train import run", number=1, repeat=3))


def get_score(submission_folder="../env"):
    elapsed = _measure(submission_folder)
    return elapsed
"""

PEARSON_EVAL = """\
import pandas as pd
from scipy.stats import pearsonr


def get_score(submission_folder="../env"):
    sub = pd.read_csv(f"{submission_folder}/submission.csv")
    gold = pd.read_csv("answers.csv")
    return pearsonr(sub.score, gold.score)[0]
"""

VAGUE_EVAL = """\
import json


def get_score(submission_folder="../env"):
    with open(f"{submission_folder}/result.json") as handle:
        return json.load(handle)["value"]
"""


def make_folder(tmp_path: Path, *, eval_py: str, problem: str, name: str = "task",
                details: str | None = None) -> Path:
    folder = tmp_path / name
    (folder / "env").mkdir(parents=True)
    (folder / "scripts").mkdir()
    (folder / "env" / "train.py").write_text("print('train')\n")
    (folder / "scripts" / "eval.py").write_text(eval_py)
    (folder / "scripts" / "research_problem.txt").write_text(problem)
    if details is not None:
        (folder / "env" / "evaluation_details.txt").write_text(details)
    return folder


def test_eval_returning_elapsed_seconds_is_minimized_with_evidence(tmp_path: Path) -> None:
    # The problem text names no direction; "accuracy" here must not win over the timer.
    folder = make_folder(tmp_path, eval_py=RUNTIME_EVAL,
                         problem="Make train.py faster without changing its accuracy.")
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("runtime", "minimize")
    assert task.metric_origin == "inferred" and task.warnings == []
    assert task.metric_evidence.startswith("eval.py: get_score returns")
    assert '"end - start" of time.perf_counter()' in task.metric_evidence
    assert "\n" not in task.metric_evidence
    # the lower runtime is the better one
    assert task.metric.improvement(2.0, 4.0) == pytest.approx(0.5)
    assert task.metric.improvement(8.0, 4.0) < 0


def test_timeit_through_a_helper_is_elapsed_time() -> None:
    assert elapsed_time_evidence(TIMEIT_EVAL) is not None
    assert "timeit.repeat" in (elapsed_time_evidence(TIMEIT_EVAL) or "")
    assert elapsed_time_evidence(PEARSON_EVAL) is None
    # a timer that is only logged, while the score is something else, is not a runtime
    logged = ("import time\n\ndef get_score(folder):\n    t0 = time.time()\n"
              "    score = 0.9\n    print(time.time() - t0)\n    return score\n")
    assert elapsed_time_evidence(logged) is None


def test_pearson_task_is_maximized(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, eval_py=PEARSON_EVAL,
                         problem="Predict the relatedness of two sentences (0-5).")
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("pearson", "maximize")
    assert task.metric_evidence.startswith('eval.py: "pearson')
    assert task.task_type == "regression" and task.warnings == []


def test_runtime_words_in_evaluation_details(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, eval_py=VAGUE_EVAL, problem="Speed up the inference script.",
                         details="Submissions are ranked by their wall-clock time.")
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("runtime", "minimize")
    # "Speed up ..." is a request for less time (issue #24): the research problem, read first,
    # already says so; the evaluation details agree
    assert task.metric_evidence == 'research_problem.txt: "Speed up" -> runtime (minimize)'
    assert not task.warnings


def test_no_direction_words_warns_loudly_and_names_the_fix(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, eval_py=VAGUE_EVAL, problem="Improve the model.")
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("score", "maximize")
    assert task.metric_origin == "default"
    assert len(task.warnings) == 1
    assert "ASSUMED MAXIMIZE" in task.warnings[0] and "--direction min|max" in task.warnings[0]
    assert "eval.py" in task.warnings[0] and "research_problem.txt" in task.warnings[0]
    fixed = task.with_metric(None, "min")
    assert fixed.metric.direction == "minimize" and fixed.warnings == []
    assert fixed.metric_origin == "override"


def test_conflicting_texts_are_warned(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, eval_py=VAGUE_EVAL, problem="Reduce the RMSE.",
                         details="Higher accuracy wins.")
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("rmse", "minimize")
    assert any("evaluation_details.txt" in w and "kept minimize" in w for w in task.warnings)


def test_scripts_task_toml_overrides_the_inference(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, eval_py=RUNTIME_EVAL, problem="Make it faster.")
    (folder / "scripts" / "task.toml").write_text('[metric]\ndirection = "maximize"\n')
    task = load_task(folder)
    assert (task.metric.name, task.metric.direction) == ("runtime", "maximize")
    assert task.metric_origin == "task.toml"
    assert task.metric_evidence.startswith('scripts/task.toml: [metric] direction = "maximize"')
    assert "rest from eval.py" in task.metric_evidence


# --- LLM confirmation (scripted chat server through the openai SDK) ---------------------------


def _confirm(task, backend):  # type: ignore[no-untyped-def]
    return asyncio.run(confirm_metric(task, backend))


def test_llm_corrects_a_default_metric(tmp_path: Path, fast_settings: MLRCopilot,
                                       llm_env: ChatServer) -> None:
    llm_env.reviewer = None  # the confirmations are scripted here
    task = load_task(make_folder(tmp_path, eval_py=VAGUE_EVAL, problem="Improve the model."))
    llm_env.push_json({"name": "latency", "direction": "minimize",
                       "quote": "result.json value is the mean request latency"})
    confirmed = _confirm(task, OpenAIBackend(fast_settings))
    assert (confirmed.metric.name, confirmed.metric.direction) == ("latency", "minimize")
    assert confirmed.metric_origin == "llm"
    assert "LLM: latency (minimize)" in confirmed.metric_evidence
    assert "mean request latency" in confirmed.metric_evidence
    assert "corrected score (maximize)" in confirmed.metric_evidence
    assert not any("ASSUMED MAXIMIZE" in w for w in confirmed.warnings)
    request = llm_env.requests[-1]["json"]
    prompt = request["messages"][-1]["content"]
    assert 'result.json")' in prompt and "Improve the model." in prompt  # eval.py + problem
    schema = request["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == set(MetricConfirmation.model_fields)


def test_llm_confirms_an_inferred_metric(tmp_path: Path, fast_settings: MLRCopilot,
                                         llm_env: ChatServer) -> None:
    llm_env.reviewer = None  # the confirmations are scripted here
    task = load_task(make_folder(tmp_path, eval_py=PEARSON_EVAL, problem="Relatedness."))
    llm_env.push_json({"name": "Pearson", "direction": "maximize", "quote": "pearsonr(...)"})
    confirmed = _confirm(task, OpenAIBackend(fast_settings))
    assert (confirmed.metric.name, confirmed.metric.direction) == ("pearson", "maximize")
    assert confirmed.metric_origin == "llm" and "confirmed" in confirmed.metric_evidence


def test_llm_never_overrides_task_toml_or_user_override(tmp_path: Path,
                                                        fast_settings: MLRCopilot,
                                                        llm_env: ChatServer) -> None:
    llm_env.reviewer = None  # the confirmations are scripted here
    folder = make_folder(tmp_path, eval_py=RUNTIME_EVAL, problem="Make it faster.")
    (folder / "scripts" / "task.toml").write_text('[metric]\nname = "runtime"\n'
                                                  'direction = "minimize"\n')
    backend = OpenAIBackend(fast_settings)
    llm_env.push_json({"name": "speedup", "direction": "maximize", "quote": "speed"})
    kept = _confirm(load_task(folder), backend)
    assert (kept.metric.name, kept.metric.direction, kept.metric_origin) == (
        "runtime", "minimize", "task.toml")
    assert "kept the task.toml one" in kept.warnings[-1]
    overridden = load_task(folder).with_metric("seconds", "min")
    llm_env.push_json({"name": "accuracy", "direction": "maximize", "quote": "acc"})
    kept = _confirm(overridden, backend)
    assert (kept.metric.name, kept.metric_origin) == ("seconds", "override")
    assert "disagrees with the override metric" in kept.warnings[-1]


def test_confirm_is_a_no_op_offline(tmp_path: Path) -> None:
    task = load_task(make_folder(tmp_path, eval_py=VAGUE_EVAL, problem="Improve it."))
    assert _confirm(task, OfflineBackend()) == task
