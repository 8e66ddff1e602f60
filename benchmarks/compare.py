"""Benchmark: three ideas compared on 2 workers vs one after another (workers=1).

Writes three offline ideas fitted to the bundled ``wine`` task (``mlr-copilot ideas --out``),
then runs ``Copilot.compare`` on them (3 search steps each, no seed re-runs, so only the idea
runs are timed) with ``workers=1`` and with ``workers=2`` on the local process pool, and prints
both wall times and their ratio (> 1: the concurrent comparison is faster).
Run: ``.venv/bin/python benchmarks/compare.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAPER = Path(__file__).parents[1] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"
STEPS = 3


def make_ideas(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "mlr_copilot_jupyter", "ideas", str(PAPER), "--task", "wine",
         "-n", "3", "--out", str(folder / "ideas.json"), "--no-progress"],
        check=True, capture_output=True, text=True, env=dict(os.environ), cwd=folder,
    )
    return folder / "ideas.json"


def timed(ideas: Path, out: Path, workers: int) -> float:
    from mlr_copilot_jupyter import Copilot
    from mlr_copilot_jupyter.compare import load_ideas_file

    start = time.perf_counter()
    result = Copilot().compare(load_ideas_file(ideas), "wine", out=out, workers=workers,
                               seeds=0, max_steps=STEPS)
    elapsed = time.perf_counter() - start
    if result.failed:
        raise SystemExit(f"ideas failed: {[e.error for e in result.failed]}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mlr-compare-bench-") as tmp:
        folder = Path(tmp)
        os.environ.update(MLR_COPILOT_BACKEND="offline", MLR_COPILOT_RUN_DIR=str(folder / "runs"),
                          MLR_COPILOT_SEMANTIC_SCHOLAR="off")
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MLR_COPILOT_MODEL"):
            os.environ.pop(name, None)
        ideas = make_ideas(folder)
        one = timed(ideas, folder / "one", 1)
        two = timed(ideas, folder / "two", 2)
    print(f"ideas: 3 (offline, wine task, {STEPS} steps each, no seed re-runs)")
    print(f"cores: {os.cpu_count()}")
    if hasattr(os, "getloadavg"):  # other work on the machine shrinks any parallel speedup
        print(f"load average at the end (1 min): {os.getloadavg()[0]:.1f}")
    print(f"one after another (workers=1): {one:.1f} s")
    print(f"compare(workers=2):            {two:.1f} s")
    print(f"ratio: {one / two:.2f}")


if __name__ == "__main__":
    main()
