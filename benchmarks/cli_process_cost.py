"""What one `mlr-copilot experiment` process costs in CPU, with the scikit-learn catalogs kept
between processes and without.

Every experiment's retrieval step lists the scikit-learn estimators (``retrieval.sources``): that
imports scikit-learn, SciPy and each estimator's module, about 1.5 s of CPU, and the ideas package
imported scikit-learn at import time as well. Each new process (the CLI, the MCP server, every
worker of ``compare`` or ``batch``, each test's subprocess) paid it again. Now the catalogs are
kept per environment and scikit-learn version (``<sys.prefix>/share/mlr-copilot-jupyter``, else
the user's cache) and
scikit-learn is imported on first use.

Two settings, interleaved, ``--repeats`` times each, on ``experiment --task wine --backend offline
--max-steps 2`` (a real sandboxed kernel):

- ``rebuilt``: the catalog files are removed before the run, so the process builds them again
  (what every process paid before);
- ``kept``: the files are there (every process after the first).

Printed: median CPU seconds (user + system, the CLI process and the kernels it waited for) and
median wall seconds. Run: ``.venv/bin/python benchmarks/cli_process_cost.py [--repeats 3]``. The
last line is ``ratio: <rebuilt CPU / kept CPU>``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

from mlr_copilot_jupyter.retrieval.sources import catalog_files

CATALOGS = ("estimators", "datasets")


def run_once(setting: str, out: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one experiment process in ``setting``."""
    if setting == "rebuilt":
        for name in CATALOGS:
            for path in catalog_files(name):
                path.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlr_copilot_jupyter", "experiment", "--task", "wine",
         "--backend", "offline", "--max-steps", "2", "--out", str(out), "--json"],
        capture_output=True, text=True, env={**os.environ, "MLR_COPILOT_SEMANTIC_SCHOLAR": "off"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"the experiment failed: {done.stderr.strip()[-1000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each setting")
    args = parser.parse_args(argv)
    print(machine())
    results: dict[str, list[tuple[float, float]]] = {"rebuilt": [], "kept": []}
    with tempfile.TemporaryDirectory(prefix="mlr-cli-cost-") as tmp:
        run_once("kept", Path(tmp) / "warm")  # the kernel's imports warm the OS file cache
        for _ in range(args.repeats):
            for setting in results:
                results[setting].append(run_once(setting, Path(tmp) / setting))
    print(f"`mlr-copilot experiment --task wine --backend offline --max-steps 2`, median of "
          f"{args.repeats} runs")
    print(f"{'setting':<10} {'CPU s':>7} {'wall s':>7}")
    medians = {}
    for setting, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        medians[setting] = cpu
        print(f"{setting:<10} {cpu:>7.2f} {wall:>7.2f}")
    print(f"ratio: {medians['rebuilt'] / medians['kept']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
