"""Idea generation: 5 hypothesis -> plan chains run concurrently vs. one after the other.

Both sides call the same :func:`agenerate_ideas` through the ``openai`` SDK against the local
OpenAI-compatible test server (``tests/support/chat_server.py``) answering every request after a fixed
latency (0.3 s, a fast hosted model); the sequential side caps the backend at one call in flight
(``MLRCopilot(concurrency=1)``), which is what awaiting the chains one after the other costs.

Run: ``.venv/bin/python benchmarks/idea_concurrency.py [--latency 0.3] [--repeats 3]``.
The last line is ``ratio: <sequential / concurrent wall time>`` (> 1 means concurrency pays).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is test infrastructure

from _machine import machine

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.ideas.generate import agenerate_ideas
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from mlr_copilot_jupyter.models import ResearchProblem
from tests.support.chat_server import ChatServer

N_IDEAS = 5
TOPICS = ("curriculum over noisy utterances", "adapter pruning", "cross-lingual routing",
          "self-training with pseudo labels", "phoneme-level augmentation",
          "distillation into a small student", "test-time adaptation", "multi-task CTC",
          "speaker normalisation", "tokeniser-free decoding", "contrastive pretraining",
          "mixture-of-experts gating", "label smoothing schedules", "quantised inference",
          "active learning of transcripts", "language-model fusion")
PROBLEM = ResearchProblem(
    task_definition="Low-resource speech recognition with sparse mixture adapters.",
    research_gaps=["Labelled audio is scarce.", "Adapters ignore accents."],
    keywords=["speech recognition", "adapters", "low-resource", "routing", "word error rate"])




class ScriptedResearcher:
    """Answers HypothesisDraft / PlanDraft requests; every hypothesis has a distinct topic."""

    def __init__(self) -> None:
        self.hypotheses = itertools.count()
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> str:
        schema = request.get("response_format", {}).get("json_schema", {}).get("name", "")
        if schema == "HypothesisDraft":
            with self.lock:
                topic = TOPICS[next(self.hypotheses) % len(TOPICS)]
            return json.dumps({"title": f"Idea on {topic}",
                               "hypothesis": f"Using {topic} lowers word error rate on "
                                             "low-resource languages.",
                               "rationale": f"Because {topic} addresses scarce labelled audio."})
        if schema == "PlanDraft":
            return json.dumps({"objective": "Test the hypothesis.", "method": "Train and compare.",
                               "datasets": ["Common Voice"], "baselines": ["adapters"],
                               "metrics": ["WER"], "steps": ["Prepare data", "Train", "Evaluate"],
                               "risks": ["compute"]})
        return "ok"


async def timed(backend: OpenAIBackend, repeats: int) -> list[float]:
    await backend.aquery("warm up")  # client creation and the first connection are not counted
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ideas = await agenerate_ideas(PROBLEM, backend, N_IDEAS)
        times.append(time.perf_counter() - t0)
        assert len(ideas) == N_IDEAS, ideas
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--latency", type=float, default=0.3, help="server latency per request")
    parser.add_argument("--repeats", type=int, default=3, help="timed generations per side")
    args = parser.parse_args()
    print(machine())
    os.environ["OPENAI_API_KEY"] = "sk-benchmark-dummy"
    with ChatServer() as server:
        server.latency = args.latency
        server.responder = ScriptedResearcher()
        results = {}
        for label, concurrency in (("concurrent", 5), ("sequential", 1)):
            backend = OpenAIBackend(MLRCopilot(base_url=server.url, model="test-model",
                                               concurrency=concurrency))
            server.reset()
            results[label] = asyncio.run(timed(backend, args.repeats))
            calls = len(server.requests) - 1
            print(f"{label:10s} (concurrency={concurrency}): {calls} requests, wall time median "
                  f"{statistics.median(results[label]):.2f} s "
                  f"(runs: {', '.join(f'{t:.2f}' for t in results[label])})")
    floor = 2 * args.latency
    print(f"lower bound: one chain = 2 calls x {args.latency:g} s = {floor:.2f} s; "
          f"fully sequential = {2 * N_IDEAS} x {args.latency:g} s = {2 * N_IDEAS * args.latency:.2f} s")
    ratio = statistics.median(results["sequential"]) / statistics.median(results["concurrent"])
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
