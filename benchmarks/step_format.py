"""Code in JSON or code in a fenced block: which step format does a real local model do best?

Runs the same experiment (bundled ``digits`` task, ``--max-steps N``) against llama.cpp's
``llama-server`` with SmolLM2-135M-Instruct once per step format (``MLRCopilot.step_format``:
``json`` = structured output enforced by the server's grammar, ``markdown`` = a title, a plan and
one fenced python block, as AIDE asks) and counts, side by side, the step replies that were
usable (a node whose code ran), the replies that were not (``llm_error`` nodes), the nodes whose
code ran without error, and the wall time.

Run: ``.venv/bin/python benchmarks/step_format.py [--steps 3] [--seeds 1]`` (about 5 minutes per
run). The last line is ``ratio: <usable replies in json / usable replies in markdown>`` (> 1: the
default, json, is the better format for this model).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is test infrastructure

from _machine import machine

from tests.support.llama import running_llama_server


def run(fmt: str, seed: int, steps: int, env: dict[str, str], out: Path) -> dict[str, float]:
    cli = Path(sys.executable).with_name("mlr-copilot")
    started = time.monotonic()
    subprocess.run([str(cli), "experiment", "--task", "digits", "--max-steps", str(steps),
                    "--seed", str(seed), "--no-verify", "--out", str(out), "--no-progress"],
                   env={**env, "MLR_COPILOT_STEP_FORMAT": fmt}, capture_output=True,
                   timeout=1800)
    nodes = json.loads((out / "journal.json").read_text())["nodes"]
    steps_ = [n for n in nodes if n["kind"] != "baseline"]
    return {"replies": len(steps_),
            "usable": sum(n["status"] != "llm_error" for n in steps_),
            "ran clean": sum(n["status"] == "ok" for n in steps_),
            "seconds": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    print(machine())
    totals: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with running_llama_server(tmp / "llama.log") as server:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OPENAI_", "MLR_COPILOT_"))}
            env.update(OPENAI_BASE_URL=server.url, MLR_COPILOT_MODEL=server.model,
                       MLR_COPILOT_BACKEND="openai", MLR_COPILOT_RUN_DIR=str(tmp / "runs"))
            for fmt in ("json", "markdown"):
                rows = [run(fmt, seed, args.steps, env, tmp / f"{fmt}-{seed}")
                        for seed in range(args.seeds)]
                totals[fmt] = {k: sum(r[k] for r in rows) for k in rows[0]}
    print(f"model: SmolLM2-135M-Instruct on llama-server; {args.seeds} run(s) of "
          f"{args.steps} steps per format")
    print(f"\n{'format':<10} {'replies':>8} {'usable':>7} {'ran clean':>10} {'seconds':>8}")
    for fmt, t in totals.items():
        print(f"{fmt:<10} {t['replies']:>8.0f} {t['usable']:>7.0f} {t['ran clean']:>10.0f} "
              f"{t['seconds']:>8.0f}")
    usable_md = max(totals["markdown"]["usable"], 0.5)
    print(f"ratio: {totals['json']['usable'] / usable_md:.2f}")


if __name__ == "__main__":
    main()
