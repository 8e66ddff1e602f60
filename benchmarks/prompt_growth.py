"""Prompt size per step of an LLM-driven experiment run: does the prompt grow with the steps?

The ExperimentAgent runs 30 steps on the bundled ``wine`` task with the LLM policy, through the
``openai`` SDK against the local test server (``tests/support/chat_server.py``) whose responder plays the
LLM with good cells (as ``tests/integration/test_experiment_agent.py::ScriptedExperimenter`` does). Every
step's prompt is read back from the server's recorded requests; its size in tokens is estimated as
``len(json.dumps(messages)) / 4``. Verification is off to save time.

Run: ``.venv/bin/python benchmarks/prompt_growth.py [--steps 30]``.
The last line is ``ratio: <1.5 x tokens at step 5 / tokens at step 30>`` (> 1 means the step-30
prompt is under 1.5 times the step-5 prompt).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is test infrastructure

from _machine import machine

from mlr_copilot_jupyter.aio import run_sync
from mlr_copilot_jupyter.api import Copilot
from tests.support.chat_server import ChatServer

GOOD = '''import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
train, test = pd.read_csv("train.csv"), pd.read_csv("test.csv")
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C={C}, random_state=seed))
model.fit(train.drop(columns=["target"]), train["target"])
acc = (model.predict(test.drop(columns=["target"])) == test["target"]).mean()
print(f"step {step}: C={C}, {{len(train)}} training rows, held-out accuracy {{acc:.4f}}")
report_metric("accuracy", acc)
'''




class ScriptedExperimenter:
    """Plays the LLM: every draft, improvement and fix is a working logistic regression."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> str:
        prompt = request["messages"][-1]["content"]
        with self.lock:
            self.calls += 1
            step = self.calls
        kind = "Improvement" if "ONE atomic improvement" in prompt else "Draft"
        c = round(0.05 * 1.4 ** (step % 12), 4)
        code = GOOD.replace("{C}", str(c)).replace("{step}", str(step))
        return json.dumps({"title": f"{kind} {step}: logistic regression with C={c}",
                           "plan": f"{kind} {step}: scale the features and fit a logistic "
                                   f"regression with C={c}; regularisation strength is the "
                                   "main lever on a dataset this small.",
                           "code": code})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--steps", type=int, default=30, help="LLM steps after the baseline")
    args = parser.parse_args()
    if args.steps < 5:
        parser.error("--steps must be at least 5")
    print(machine())
    os.environ["OPENAI_API_KEY"] = "sk-benchmark-dummy"
    with ChatServer() as server, tempfile.TemporaryDirectory(prefix="mlr-prompt-") as tmp:
        server.responder = ScriptedExperimenter()
        copilot = Copilot(backend="openai", base_url=server.url, model="test-model",
                          run_dir=str(Path(tmp) / "runs"))
        agent = copilot.prepare_experiment("wine", out=Path(tmp) / "run", max_steps=args.steps,
                                           verify=False, plan="Tune a linear model on wine.")
        started = time.monotonic()
        summary = run_sync(copilot.arun_experiment(agent))
        elapsed = time.monotonic() - started
        steps = [r["json"] for r in server.requests if r["path"].endswith("/chat/completions")
                 and r["json"].get("response_format", {}).get("json_schema", {}).get("name")
                 == "StepDraft"]
    tokens = [len(json.dumps(body["messages"])) / 4 for body in steps]
    print(f"run: {summary['status']}, {summary['steps']} steps in {elapsed:.1f} s, best "
          f"{summary['metric']} {summary['best_metric']}")
    print("step  prompt tokens (len(messages JSON) / 4)")
    for k, value in enumerate(tokens, start=1):
        print(f"{k:4d}  {value:8.0f}")
    if len(tokens) < args.steps:
        raise SystemExit(f"only {len(tokens)} step prompts were recorded, expected {args.steps}")
    step5, last = tokens[4], tokens[args.steps - 1]
    print(f"step 5: {step5:.0f} tokens; step {args.steps}: {last:.0f} tokens "
          f"({last / step5:.2f}x); largest: {max(tokens):.0f} tokens")
    print(f"ratio: {step5 * 1.5 / last:.2f}")


if __name__ == "__main__":
    main()
