"""Per-step overhead: our warm kernel + record save + journal save vs. a fresh subprocess per step.

Ours: one warm :class:`KernelExecutor` runs a trivial generated cell (``x = 1``) and, as the agent
does every step, the node is written to the record notebook before and after it runs
(:meth:`RecordNotebook.record_node` on a notebook that grows by two cells per step) and
``journal.json`` is saved twice. The script-agent way (MLAgentBench, AIDE): every step starts a
fresh ``python -c "import pandas, sklearn; x = 1"``.

Run: ``.venv/bin/python benchmarks/step_overhead.py [--steps 60] [--subprocess-steps 30]``.
The last line is ``ratio: <subprocess median / our median>`` (> 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

from mlr_copilot_jupyter.atomic import atomic_write_text
from mlr_copilot_jupyter.experiment import journal as journal_module
from mlr_copilot_jupyter.experiment import record as record_module
from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.experiment.journal import JOURNAL_FILE, Journal, Node
from mlr_copilot_jupyter.experiment.record import RECORD_FILE, RecordNotebook

CELL = "x = 1\n"
SCRIPT = "import pandas, sklearn; x = 1"




class DiskClock:
    """Wraps the atomic writer the record and journal use, to split serialising from disk I/O."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, path: object, text: str) -> Path:
        t0 = time.perf_counter()
        try:
            return atomic_write_text(path, text)  # type: ignore[arg-type]
        finally:
            self.seconds += time.perf_counter() - t0

    def take(self) -> float:
        value, self.seconds = self.seconds, 0.0
        return value


def p50_p90(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=10)[-1]


async def our_steps(steps: int, run_dir: Path) -> dict[str, list[float]]:
    """Time each step: journal save, kernel execution, record save, journal save."""
    record = RecordNotebook.create(run_dir / RECORD_FILE, title="Step overhead", intro="benchmark",
                                   metadata={"run_id": "bench"}, seed=0, data_dir=str(run_dir))
    journal = Journal(run_id="bench", task="overhead", metric_name="accuracy",
                      direction="maximize")
    journal.save(run_dir / JOURNAL_FILE)
    times: dict[str, list[float]] = {"total": [], "kernel": [], "record": [], "journal": [],
                                     "disk": []}
    disk = DiskClock()
    record_module.atomic_write_text = journal_module.atomic_write_text = disk  # type: ignore[assignment]
    async with KernelExecutor(run_dir, cell_timeout=60) as executor:
        for _ in range(3):  # warm: the first cells pay for lazy imports in the kernel
            await executor.arun(CELL)
        for k in range(steps):
            disk.take()
            t_start = time.perf_counter()
            node = Node(id=journal.next_id(), parent="n0" if k else None, kind="draft",
                        step=len(journal.nodes), title=f"Trivial step {k}",
                        plan="Assign one variable, to measure the per-step overhead.", code=CELL)
            journal.nodes.append(node)
            # as ExperimentAgent._step does: the journal holds the code before it runs, the
            # record gets the node's cells (with outputs) once the cell has run
            t0 = t1 = time.perf_counter()
            journal.save(run_dir / JOURNAL_FILE)
            t2 = time.perf_counter()
            result = await executor.arun(node.code)
            t3 = time.perf_counter()
            node.status, node.elapsed, node.output = "ok", result.elapsed, result.for_llm(3000)
            record.record_node(node, outputs=result.outputs, execution_count=result.execution_count,
                               outcome=f"**Result:** ran in {result.elapsed:.3f} s.")
            t4 = time.perf_counter()
            journal.save(run_dir / JOURNAL_FILE)
            t5 = time.perf_counter()
            times["total"].append(t5 - t_start)
            times["kernel"].append(t3 - t2)
            times["record"].append((t1 - t0) + (t4 - t3))
            times["journal"].append((t2 - t1) + (t5 - t4))
            times["disk"].append(disk.take())
    record_module.atomic_write_text = journal_module.atomic_write_text = atomic_write_text
    times["save_parts"] = save_parts(record, run_dir)
    return times


def save_parts(record: RecordNotebook, run_dir: Path, repeats: int = 10) -> list[float]:
    """Medians of validate / serialise / atomic write for the final (largest) notebook."""
    import nbformat

    parts: list[list[float]] = [[], [], []]
    for _ in range(repeats):
        t0 = time.perf_counter()
        nbformat.validate(record.nb)
        t1 = time.perf_counter()
        text = nbformat.v4.writes_json(record.nb)
        t2 = time.perf_counter()
        atomic_write_text(run_dir / "probe.ipynb", text)
        t3 = time.perf_counter()
        for part, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            part.append(value)
    return [statistics.median(p) for p in parts]


def subprocess_steps(steps: int) -> list[float]:
    subprocess.run([sys.executable, "-c", SCRIPT], check=True)  # warm the page cache
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", SCRIPT], check=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--steps", type=int, default=60, help="steps of ours (default 60)")
    parser.add_argument("--subprocess-steps", type=int, default=30,
                        help="fresh subprocesses (default 30)")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="mlr-step-overhead-") as tmp:
        ours = asyncio.run(our_steps(args.steps, Path(tmp)))
    theirs = subprocess_steps(args.subprocess_steps)
    o50, o90 = p50_p90(ours["total"])
    s50, s90 = p50_p90(theirs)
    print(f"ours ({args.steps} steps, warm kernel + record + journal): "
          f"median {o50 * 1000:.1f} ms, p90 {o90 * 1000:.1f} ms")
    print(f"subprocess ({args.subprocess_steps} steps, python -c {SCRIPT!r}): "
          f"median {s50 * 1000:.1f} ms, p90 {s90 * 1000:.1f} ms")
    print("breakdown of our step (medians):")
    labels = {"kernel": "kernel (execute x = 1)", "record": "record save (incl. disk)",
              "journal": "journal save x2 (incl. disk)",
              "disk": "of which disk: 3 atomic writes, each with fsync of file and folder"}
    for part, label in labels.items():
        median = statistics.median(ours[part])
        print(f"  {label:68s} {median * 1000:7.2f} ms  ({median / o50:5.1%} of the step median)")
    tenth = max(1, args.steps // 10)
    first = statistics.median(ours["record"][:tenth])
    last = statistics.median(ours["record"][-tenth:])
    print(f"record save (1 per step) over the run: {first * 1000:.2f} ms at the start, "
          f"{last * 1000:.2f} ms at the end ({2 * args.steps + 3} cells)")
    validate, writes, write = ours["save_parts"]
    print(f"one record save at the end: nbformat.validate {validate * 1000:.2f} ms, "
          f"serialise {writes * 1000:.2f} ms, atomic write + fsync {write * 1000:.2f} ms")
    print(f"ratio: {s50 / o50:.1f}")


if __name__ == "__main__":
    main()
