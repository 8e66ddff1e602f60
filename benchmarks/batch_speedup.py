"""Benchmark: 8 seeded executions of one record notebook, a plain papermill loop vs ``run_batch``.

Makes a record notebook with the offline engine (bundled ``wine`` task, 2 search steps), runs it
for seeds 0..7 one after the other with ``papermill.execute_notebook``, then with
``run_batch(..., workers=os.cpu_count())``, and prints both wall times and their ratio
(> 1: the batch is faster). Run: ``.venv/bin/python benchmarks/batch_speedup.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEEDS = list(range(8))


def make_record(folder: Path) -> Path:
    """A record notebook from an offline experiment run of the CLI."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"OPENAI_API_KEY", "OPENAI_BASE_URL", "MLR_COPILOT_MODEL"}}
    env.update(MLR_COPILOT_BACKEND="offline", MLR_COPILOT_RUN_DIR=str(folder / "runs"))
    subprocess.run(
        [sys.executable, "-m", "mlr_copilot_jupyter", "experiment", "--task", "wine",
         "--max-steps", "2", "--out", str(folder / "record")],
        check=True, capture_output=True, text=True, env=env, cwd=folder,
    )
    return folder / "record" / "experiment.ipynb"


def sequential(record: Path, out: Path) -> float:
    import papermill

    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for seed in SEEDS:
        papermill.execute_notebook(
            str(record), str(out / f"experiment__seed={seed}.ipynb"), parameters={"seed": seed},
            cwd=str(record.parent), progress_bar=False, log_output=False,
        )
    return time.perf_counter() - start


def parallel(record: Path, out: Path, workers: int) -> float:
    from mlr_copilot_jupyter.batch import run_batch

    start = time.perf_counter()
    result = run_batch([record], [{"seed": s} for s in SEEDS], out, workers=workers,
                       progress=False)
    elapsed = time.perf_counter() - start
    failed = result.failed
    if len(failed):
        raise SystemExit(f"batch had failures: {failed['error'].tolist()}")
    return elapsed


def main() -> None:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="mlr-batch-bench-") as tmp:
        folder = Path(tmp)
        record = make_record(folder)
        seq = sequential(record, folder / "sequential")
        par = parallel(record, folder / "batch", cores)
    print(f"executions: {len(SEEDS)} (record notebook of the wine task, seeds 0..7)")
    print(f"cores: {cores}")
    if hasattr(os, "getloadavg"):  # other work on the machine shrinks any parallel speedup
        print(f"load average at the end (1 min): {os.getloadavg()[0]:.1f}")
    print(f"sequential papermill loop: {seq:.1f} s")
    print(f"run_batch(workers={cores}): {par:.1f} s")
    print(f"ratio: {seq / par:.2f}")


if __name__ == "__main__":
    main()
