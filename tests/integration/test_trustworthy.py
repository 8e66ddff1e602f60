"""Trustworthy numbers on real kernels, through the CLI and the openai SDK (scripted server):
the metric's direction inferred from eval.py and overridden, a node credited only with files it
wrote, verification in a fresh kernel and workspace that names a missing variable, and a failed
baseline debugged first."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.experiment.policies import KIND_INSTRUCTIONS
from tests.support.chat_server import ChatServer
from tests.support.cli import cli_command, subprocess_env


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=timeout, env=subprocess_env())


class Scripted:
    """Plays the LLM for steps (the server's neutral reviewer answers reviews and metric
    confirmations)."""

    def __init__(self, steps: dict[str, list[str]]) -> None:
        self.steps = {k: list(v) for k, v in steps.items()}
        self.prompts: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> str:
        prompt = request["messages"][-1]["content"]
        with self.lock:
            self.prompts.append(prompt)
            for kind in ("debug", "improve", "draft"):
                if KIND_INSTRUCTIONS[kind] in prompt and self.steps.get(kind):
                    code = self.steps[kind].pop(0)
                    return json.dumps({"title": f"{kind} step", "plan": f"A {kind} step.",
                                       "code": code})
            return json.dumps({"title": "nothing", "plan": "Nothing left.",
                               "code": "print('nothing left to try')\n"})


# -- a runtime task: eval.py returns elapsed seconds ------------------------------------------
RUNTIME_EVAL = '''import os
import subprocess
import sys
import time


def get_score(submission_folder="../env"):
    start = time.perf_counter()
    subprocess.run([sys.executable, "inference.py"], cwd=submission_folder, check=True)
    return time.perf_counter() - start
'''
RUNTIME_TRAIN = '''import subprocess
import sys

subprocess.run([sys.executable, "inference.py"], check=True)
print("inference finished")
'''


def inference(sleep: float) -> str:
    return (f'open("inference.py", "w").write("import time\\ntime.sleep({sleep})\\nprint(42)\\n")\n'
            'print("rewrote inference.py")\n')


def make_runtime_task(root: Path) -> Path:
    (root / "env").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "env" / "inference.py").write_text("import time\ntime.sleep(3.2)\nprint(42)\n")
    (root / "env" / "train.py").write_text(RUNTIME_TRAIN)
    (root / "scripts" / "eval.py").write_text(RUNTIME_EVAL)
    (root / "scripts" / "research_problem.txt").write_text(
        "Given inference.py, improve it so that it prints the same answer with less waiting.")
    return root


@pytest.mark.slow_ok(
    reason="two experiment runs in real kernels on a task whose metric is a measured runtime")
def test_runtime_task_is_minimised_and_direction_can_be_overridden(
    llm_env: ChatServer, tmp_path: Path
) -> None:
    task = make_runtime_task(tmp_path / "speedup")
    results = {}
    for flag in ([], ["--direction", "max"]):
        # 3.2 s (baseline), 2.2 s, 1.2 s: a second between neighbours, so that a Python start-up
        # slowed by a busy machine (0.5 s apart with 1.6/1.1/0.6 s beside CPU burners) cannot
        # reorder them; and the fastest at 1.2 s, not 0.2 s, so that the verification's replay
        # tolerance for a timing (25%, at least 0.1 s: verify.py) exceeds that start-up's noise
        # (0.2 s failed its replay in a fresh clone's run beside the heaviest tests, and the
        # next best node was selected, as it should be)
        llm_env.responder = Scripted({"draft": [inference(2.2), 'print("skipping")\n',
                                                inference(1.2)]})
        out = tmp_path / ("run" + "".join(flag).replace("-", ""))
        result = run_cli("experiment", "--task", str(task), "--max-steps", "3", "--out", str(out),
                         "--json", *flag)
        assert result.returncode == 0, result.stderr[-3000:]
        journal = json.loads((out / "journal.json").read_text())
        results[bool(flag)] = (json.loads(result.stdout), journal, (out / "report.md").read_text())
    summary, journal, report = results[False]
    assert journal["direction"] == "minimize"
    assert "eval.py" in journal["metric_evidence"]
    nodes = {n["id"]: n for n in journal["nodes"]}
    assert nodes["n2"]["status"] == "no_metric"  # wrote no inference.py of its own
    assert "inference.py" in nodes["n2"]["message"]
    assert nodes["n3"]["metric"] < nodes["n1"]["metric"] < nodes["n0"]["metric"]
    assert summary["best_node"] == "n3" and summary["verified"]  # the fastest wins
    assert summary["selection"] == "test" and "selected on the test metric" in report
    assert "minimize" in report and "eval.py" in report
    summary, journal, _ = results[True]
    assert journal["direction"] == "maximize" and journal["metric_origin"] == "override"
    slowest = max((n for n in journal["nodes"] if n["metric"] is not None),
                  key=lambda n: n["metric"])
    assert summary["best_node"] == slowest["id"] == "n0"


# -- stale artifacts and replay failures on an eval.py-scored task -------------------------------
FIT = '''import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
train, test = pd.read_csv("train.csv"), pd.read_csv("test.csv")
valid = train.iloc[200:]
features = [c for c in train.columns if c != "target"][:{k}]
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
clf.fit(train[features].iloc[:200], train["target"].iloc[:200])
'''
# the search compares nodes by the validation metric they report (issue #24: never on test)
WRITE = '''report_metric("accuracy", float((clf.predict(valid[features]) == valid["target"]).mean()))
pd.DataFrame({"prediction": clf.predict(test[features])}).to_csv("submission.csv", index=False)
print("wrote submission.csv")
'''
GOOD = FIT.replace("{k}", "10") + WRITE  # a fair model on ten features
FITS_THEN_FAILS = FIT.replace("{k}", "30") + 'raise RuntimeError("plotting failed")\n'
REUSES = '''import pandas as pd
test, valid = pd.read_csv("test.csv"), pd.read_csv("train.csv").iloc[200:]
features = [c for c in test.columns if c != "target"][:30]
''' + WRITE.replace("wrote", "reused the fitted model, wrote")  # `clf` comes from n3 only


def test_scores_are_a_nodes_own_and_replays_name_the_missing_variable(
    llm_env: ChatServer, tmp_path: Path
) -> None:
    from tests.support.experiments import make_mlagentbench_task

    task = make_mlagentbench_task(tmp_path / "mlab")
    llm_env.responder = Scripted({"draft": [GOOD, 'print("skipping: nothing to do")\nreport_metric("accuracy", 0.99)\n',
                                            FITS_THEN_FAILS],
                                  "debug": [REUSES]})
    out = tmp_path / "run"
    result = run_cli("experiment", "--task", str(task), "--max-steps", "4", "--out", str(out),
                     "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    journal = json.loads((out / "journal.json").read_text())
    nodes = {n["id"]: n for n in journal["nodes"]}
    good, skip, fails, reuse = nodes["n1"], nodes["n2"], nodes["n3"], nodes["n4"]
    assert good["metric"] > nodes["n0"]["metric"]
    # n2 ran after n1 in the same workspace; n1's submission.csv is not credited to n2
    assert skip["status"] == "no_metric" and skip["metric"] is None
    assert "submission.csv" in skip["message"]
    assert fails["status"] == "error"
    # n4 worked in the live kernel only thanks to n3's `clf`; its replay names it
    assert reuse["parent"] == "n3" and reuse["metric"] is not None
    assert reuse["verified"] is False
    assert "NameError" in reuse["verify_error"] and "`clf`" in reuse["verify_error"]
    assert "n3" in reuse["verify_error"]
    # n1 replays from a fresh kernel and a fresh copy of the workspace and reproduces
    assert summary["best_node"] == "n1" and good["verified"] is True
    assert abs(good["verified_metric"] - good["metric"]) < 1e-9
    assert not (out / "verify").exists() or not any((out / "verify").iterdir())
    assert "NameError" in (out / "report.md").read_text()


# -- a baseline that fails is debugged first -------------------------------------------------------
BROKEN_TRAIN = '''import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

threshold = np.float(0.5)  # removed in NumPy 1.24 / 2.x: AttributeError
train, test = pd.read_csv("train.csv"), pd.read_csv("test.csv")
features = [c for c in train.columns if c != "target"][:1]
model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(train[features], train["target"])
pd.DataFrame({"prediction": model.predict(test[features])}).to_csv("submission.csv", index=False)
'''
FIXED_TRAIN = BROKEN_TRAIN.replace("np.float(0.5)", "float(0.5)")


def test_failed_baseline_gets_a_debug_node_and_is_the_reference(
    llm_env: ChatServer, tmp_path: Path
) -> None:
    from tests.support.experiments import make_mlagentbench_task

    task = make_mlagentbench_task(tmp_path / "mlab")
    (task / "env" / "train.py").write_text(BROKEN_TRAIN)
    scripted = Scripted({"debug": [FIXED_TRAIN], "draft": [GOOD]})
    llm_env.responder = scripted
    out = tmp_path / "run"
    result = run_cli("experiment", "--task", str(task), "--max-steps", "2", "--out", str(out),
                     "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    journal = json.loads((out / "journal.json").read_text())
    nodes = journal["nodes"]
    assert nodes[0]["kind"] == "baseline" and nodes[0]["status"] == "error"
    assert "np.float" in nodes[0]["error"] or "float" in nodes[0]["error"]
    assert nodes[1]["kind"] == "debug" and nodes[1]["parent"] == "n0"
    assert "np.float" in scripted.prompts[0]  # the debug prompt shows the baseline's error
    assert journal["reference"] == "n1" and nodes[1]["metric"] is not None
    assert summary["baseline_node"] == "n1" and summary["baseline_fixed"] is True
    assert summary["baseline_metric"] == nodes[1]["metric"]
    best = next(n for n in nodes if n["id"] == summary["best_node"])
    expected = (best["metric"] - nodes[1]["metric"]) / nodes[1]["metric"]
    assert abs(summary["relative_improvement"] - expected) < 1e-9
    assert "first working version of the baseline" in (out / "report.md").read_text()
