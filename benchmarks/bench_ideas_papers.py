"""`mlr-copilot bench-ideas` on two papers, offline and with the real llama.cpp model of the suite.

The papers: the bundled demo paper (``mlr_copilot_jupyter/data/demo_paper.md``) and a generated
12-page two-column conference PDF whose results section states numbers (the generator of the
test suite, ``tests/support/pdfgen.py``: a speech-recognition paper with a results table). Each
engine runs the full pipeline (extracted problem with cited results, related works) against the
core-paper baseline (title and abstract only), ``-n`` ideas per arm and paper, judged by the same
reviewer (the offline heuristic judge, or the LLM reviewer with llama.cpp). Semantic Scholar is
off (`--no-semantic-scholar`): no network here, and the figures must not depend on it.

    python benchmarks/bench_ideas_papers.py [-n 5] [--llama] [--out DIR]

Prints each engine's side-by-side table (mean ± SE per criterion) and the ratio of the overall
scores (full / core-paper), and writes its CSV to DIR.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is test infrastructure

from _machine import machine

from tests.support.llama import running_llama_server
from tests.support.pdfgen import SPEECH_RESULTS, make_conference_pdf

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


def bench(papers: list[Path], n: int, csv: Path, env: dict[str, str]) -> str:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mlr_copilot_jupyter", "bench-ideas", *map(str, papers),
         "-n", str(n), "--no-semantic-scholar", "--csv", str(csv)],
        capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench-ideas failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout.strip() + f"\n(wall {time.monotonic() - started:.0f} s)"


def ratio(csv_path: Path) -> str:
    """The overall score of the full pipeline over the core-paper baseline's (means)."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    means = {arm: statistics.fmean(float(r["overall"]) for r in rows if r["arm"] == arm)
             for arm in ("full", "core-paper")}
    return f"{means['full'] / means['core-paper']:.2f}" if means["core-paper"] else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="ideas per arm and paper (default 5)")
    parser.add_argument("--llama", action="store_true",
                        help="also run with llama.cpp and SmolLM2-135M-Instruct (built by "
                             "scripts/llama-server.sh into ~/.cache/mlr-copilot if missing)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the CSVs")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-ideas-"))
    out.mkdir(parents=True, exist_ok=True)
    paper = make_conference_pdf(out / "generated_paper.pdf", pages=12, results=SPEECH_RESULTS)
    papers = [DEMO, paper]
    print(machine())
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("OPENAI_", "MLR_COPILOT_"))}
    base.update(MLR_COPILOT_RUN_DIR=str(out / "runs"), MLR_COPILOT_SEMANTIC_SCHOLAR="off",
                HF_HUB_OFFLINE="1")
    print(f"\n## offline (heuristic engine and judge), -n {args.n}\n")
    print(bench(papers, args.n, out / "offline.csv", base))
    print(f"ratio: overall score, full pipeline / core-paper = {ratio(out / 'offline.csv')}")
    if args.llama:
        with running_llama_server(out / "llama-server.log") as server:
            env = {**base, **server.env(MLR_COPILOT_RUN_DIR=str(out / "runs-llama"))}
            print(f"\n## llama.cpp, {server.model} (generation and judge), -n {args.n}\n")
            print(bench(papers, args.n, out / "llama.csv", env))
            print(f"ratio: overall score, full pipeline / core-paper = "
                  f"{ratio(out / 'llama.csv')}")
    print(f"\nCSVs: {out}")


if __name__ == "__main__":
    main()
