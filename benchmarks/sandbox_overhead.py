"""What the bubblewrap sandbox costs: kernel start, per step and per run, unconfined vs. sandboxed.

In one run, side by side and interleaved (unconfined, sandboxed, unconfined, ...) so that a
change in the machine's load hits both sides alike:

(a) kernel start: what ``bwrap`` itself adds to starting a process (``python -c pass``, bare
    and under ``bwrap`` with a kernel's options, ``2 * --starts`` times each), then a
    :class:`KernelExecutor` started until its ``report_metric`` prelude has run and shut down
    (as a run does at its end), ``--starts`` times each;
(b) per step: two warm kernels, one of each, run the same cells in turn, ``--steps`` times each:
    a typical experiment step (read the workspace's ``train.csv`` with pandas, fit a 200-tree
    random forest on the 1797 digits, report the validation accuracy; about 0.5 s), timed from
    outside (wall) and inside the kernel (CPU seconds, which the machine's load does not
    inflate), and a trivial cell (``x = 1``: the fixed cost of a cell);
(c) an end-to-end offline run of the bundled ``wine`` task (``--run-steps`` search steps after
    the baseline, verification on: every kernel a run starts), ``--sandbox off`` vs. ``require``,
    ``--runs`` times each after one uncounted warm-up run; ``--runs 0`` skips it.

The sandbox is the one a run gets (:func:`kernels.sandbox.resolve`), with the workspace as the
only writable folder and no network. Goal: under 10% extra per step and under 0.5 s extra per
kernel start.

Run: ``.venv/bin/python benchmarks/sandbox_overhead.py [--starts 10] [--steps 30] [--runs 3]``.
The last line is ``ratio: <unconfined median / sandboxed median of the experiment step>``
(1.0: the sandbox costs nothing per step; the goal is >= 0.91, i.e. under 10% extra).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import machine

from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.kernels.sandbox import (
    SandboxStatus,
    SandboxUnavailable,
    bwrap_args,
    resolve,
)

FIT_CELL = """\
import time
_cpu0 = time.process_time()
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

df = pd.read_csv("train.csv")
X, y = df.drop(columns="target"), df["target"]
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0)
model = RandomForestClassifier(n_estimators=200, random_state=0).fit(X_tr, y_tr)
report_metric("accuracy", model.score(X_va, y_va))
_cpu = time.process_time() - _cpu0
"""
#: run untimed after each step: the step's CPU seconds in the kernel, which the machine's load
#: does not inflate as it does wall time
CPU_CELL = "print(_cpu)\n"
TRIVIAL_CELL = "x = 1\n"
SIDES = ("unconfined", "sandboxed")


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def sandbox_for(status: SandboxStatus, workspace: Path) -> dict[str, Any]:
    """As TaskRuntime.sandbox_config confines a run's kernel: the workspace is all it may write
    (there is no task or run folder to hide here)."""
    return {"bwrap": status.bwrap, "network": False, "writable": [str(workspace.resolve())]}


def executor(side: str, status: SandboxStatus, workspace: Path) -> KernelExecutor:
    return KernelExecutor(workspace, cell_timeout=120,
                          sandbox=sandbox_for(status, workspace) if side == "sandboxed" else None)


def write_data(workspace: Path) -> None:
    from sklearn.datasets import load_digits

    load_digits(as_frame=True).frame.to_csv(workspace / "train.csv", index=False)


# -- (a) bwrap alone, then kernel start --------------------------------------------------------
def bare_processes(n: int, status: SandboxStatus, root: Path) -> dict[str, list[float]]:
    """``python -c pass``, bare and under bwrap with a kernel's options: what bwrap itself adds
    to starting a process (namespaces, mounts)."""
    workspace = root / "bare"
    workspace.mkdir()
    assert status.bwrap is not None
    prefix = bwrap_args(status.bwrap, writable=[workspace], cwd=workspace,
                        kernel_cmd=[sys.executable])
    argv = {"unconfined": [sys.executable, "-c", "pass"],
            "sandboxed": [*prefix, sys.executable, "-c", "pass"]}
    out: dict[str, list[float]] = {s: [] for s in SIDES}
    for k in range(n + 1):
        for side in SIDES if k % 2 else reversed(SIDES):
            t0 = time.perf_counter()
            subprocess.run(argv[side], check=True, stdin=subprocess.DEVNULL)
            if k:
                out[side].append(time.perf_counter() - t0)
    return out


# -- (a) kernel start ---------------------------------------------------------------------------
async def kernel_starts(n: int, status: SandboxStatus, root: Path) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {s: {"start": [], "shutdown": []} for s in SIDES}
    for k in range(n + 1):  # round 0 warms the page cache and is not counted
        for side in SIDES if k % 2 else reversed(SIDES):  # alternate which side goes first
            workspace = root / f"start-{side}-{k}"
            workspace.mkdir()
            ex = executor(side, status, workspace)
            t0 = time.perf_counter()
            await ex.astart()
            t1 = time.perf_counter()
            await ex.ashutdown()
            t2 = time.perf_counter()
            if k:
                out[side]["start"].append(t1 - t0)
                out[side]["shutdown"].append(t2 - t1)
    return out


# -- (b) per step in a warm kernel ------------------------------------------------------------
async def warm_steps(m: int, status: SandboxStatus, root: Path) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {s: {"fit": [], "cpu": [], "trivial": []} for s in SIDES}
    executors = {}
    for side in SIDES:
        workspace = root / f"steps-{side}"
        workspace.mkdir()
        write_data(workspace)
        executors[side] = executor(side, status, workspace)
        await executors[side].astart()
    try:
        for k in range(m + 2):  # rounds 0 and 1 pay for the kernels' lazy imports
            for side in SIDES if k % 2 else reversed(SIDES):
                for name, code in (("fit", FIT_CELL), ("trivial", TRIVIAL_CELL)):
                    t0 = time.perf_counter()
                    res = await executors[side].arun(code)
                    elapsed = time.perf_counter() - t0
                    if res.status != "ok":
                        raise SystemExit(f"{side} {name} cell failed: {res.message or res.evalue}")
                    if k >= 2:
                        out[side][name].append(elapsed)
                if k >= 2:
                    cpu = await executors[side].arun(CPU_CELL)
                    out[side]["cpu"].append(float(cpu.outputs[0]["text"]))
    finally:
        for ex in executors.values():
            await ex.ashutdown()
    return out


# -- (c) end-to-end offline run ---------------------------------------------------------------
def offline_runs(n: int, steps: int, root: Path) -> dict[str, list[float]]:
    os.environ.update(MLR_COPILOT_BACKEND="offline", MLR_COPILOT_RUN_DIR=str(root / "runs"),
                      MLR_COPILOT_SEMANTIC_SCHOLAR="off")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MLR_COPILOT_MODEL"):
        os.environ.pop(name, None)
    from mlr_copilot_jupyter import Copilot

    modes = {"unconfined": "off", "sandboxed": "require"}
    out: dict[str, list[float]] = {s: [] for s in SIDES}
    # an uncounted run first: the first run in a process takes about 6 s longer
    Copilot().run_experiment("wine", out=root / "run-warm-up", max_steps=steps, sandbox="off")
    for k in range(n):
        for side in SIDES if k % 2 else reversed(SIDES):
            t0 = time.perf_counter()
            summary = Copilot().run_experiment("wine", out=root / f"run-{side}-{k}",
                                               max_steps=steps, sandbox=modes[side])
            out[side].append(time.perf_counter() - t0)
            if summary.get("status") != "done":
                raise SystemExit(f"{side} run ended {summary.get('status')}: "
                                 f"{summary.get('message')}")
            described = str(summary.get("sandbox", ""))
            if (side == "sandboxed") != described.startswith("bubblewrap"):
                raise SystemExit(f"{side} run recorded sandbox {described!r}")
    return out


# -- the table --------------------------------------------------------------------------------
def fmt(value: float) -> str:
    """Seconds, or milliseconds below 0.1 s."""
    return f"{value * 1000:.1f} ms" if abs(value) < 0.1 else f"{value:.3f} s"


def row(label: str, plain: list[float], boxed: list[float]) -> str:
    """Medians with min–max, the ratio of the medians, the median of the round-by-round ratios
    (each round ran both sides one after the other) and the extra time of the median."""
    a, b = statistics.median(plain), statistics.median(boxed)
    paired = statistics.median(y / x for x, y in zip(plain, boxed, strict=True))
    return (f"| {label} | {fmt(a)} ({fmt(min(plain))} – {fmt(max(plain))}) "
            f"| {fmt(b)} ({fmt(min(boxed))} – {fmt(max(boxed))}) | {b / a:.3f} | {paired:.3f} "
            f"| {'+' if b >= a else '−'}{fmt(abs(b - a))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--starts", type=int, default=10, help="kernel starts per side (10)")
    parser.add_argument("--steps", type=int, default=30, help="cells of each kind per side (30)")
    parser.add_argument("--runs", type=int, default=3,
                        help="end-to-end offline runs per side, after one uncounted run "
                             "(3; 0 skips them)")
    parser.add_argument("--run-steps", type=int, default=3,
                        help="search steps of each offline run (3)")
    args = parser.parse_args()
    print(machine())
    t0 = time.perf_counter()
    try:
        status = resolve("require")  # the real probe a run pays once per process
    except SandboxUnavailable as exc:
        raise SystemExit(f"sandbox_overhead: {exc}") from None
    probe = time.perf_counter() - t0
    print(f"sandbox: {status.describe()} ({status.version}, {status.bwrap}); "
          f"one-time probe {probe:.3f} s")
    print(f"load average (1 min) at the start: {load()}")
    with tempfile.TemporaryDirectory(prefix="mlr-sandbox-bench-") as tmp:
        root = Path(tmp)
        bare = bare_processes(2 * args.starts, status, root)
        starts = asyncio.run(kernel_starts(args.starts, status, root))
        print(f"load average after (a) kernel starts: {load()}")
        steps = asyncio.run(warm_steps(args.steps, status, root))
        print(f"load average after (b) warm steps: {load()}")
        runs = offline_runs(args.runs, args.run_steps, root) if args.runs else None
        if runs:
            print(f"load average after (c) offline runs: {load()}")
    print()
    print("| measure | unconfined: median (min–max) | sandboxed: median (min–max) "
          "| ratio of medians | paired ratio | extra |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(row(f"(a) `python -c pass`, bare vs. under bwrap, n={2 * args.starts}",
              bare["unconfined"], bare["sandboxed"]))
    print(row(f"(a) kernel start to prelude run, n={args.starts}", starts["unconfined"]["start"],
              starts["sandboxed"]["start"]))
    print(row(f"(a) kernel shutdown, n={args.starts}", starts["unconfined"]["shutdown"],
              starts["sandboxed"]["shutdown"]))
    print(row(f"(b) experiment step (read CSV, fit forest), n={args.steps}",
              steps["unconfined"]["fit"], steps["sandboxed"]["fit"]))
    print(row(f"(b) the same step, CPU time in the kernel, n={args.steps}",
              steps["unconfined"]["cpu"], steps["sandboxed"]["cpu"]))
    print(row(f"(b) trivial cell `x = 1`, n={args.steps}", steps["unconfined"]["trivial"],
              steps["sandboxed"]["trivial"]))
    if runs:
        print(row(f"(c) offline `wine` run, {args.run_steps} search steps + verification, "
                  f"n={args.runs}", runs["unconfined"], runs["sandboxed"]))
    print()
    start_extra = (statistics.median(starts["sandboxed"]["start"])
                   - statistics.median(starts["unconfined"]["start"]))
    plain_fit = statistics.median(steps["unconfined"]["fit"])
    boxed_fit = statistics.median(steps["sandboxed"]["fit"])
    step_extra = boxed_fit / plain_fit - 1
    print(f"goal: kernel start extra {start_extra:+.3f} s (< 0.5 s: "
          f"{'met' if start_extra < 0.5 else 'NOT met'}); experiment step extra "
          f"{step_extra:+.1%} (< 10%: {'met' if step_extra < 0.10 else 'NOT met'})")
    print(f"ratio: {plain_fit / boxed_fit:.3f}")


if __name__ == "__main__":
    main()
