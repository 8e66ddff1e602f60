"""Fingerprint of offline runs on every bundled task, to prove a refactor changed no behaviour.

Runs ``mlr-copilot experiment --backend offline`` on each bundled task and writes, per task, the
node titles, kinds, statuses, code and metrics (timings, dates and paths left out) to one JSON
file. Two fingerprints taken before and after a change are compared with ``diff``::

    python scripts/offline_fingerprint.py --out /tmp/before.json   # on the old commit
    python scripts/offline_fingerprint.py --out /tmp/after.json    # on the new commit
    python scripts/offline_fingerprint.py --compare /tmp/before.json /tmp/after.json

``--compare`` prints every field that differs and exits 1 if any does. Metrics are compared to
12 significant digits, because a stacking ensemble fits its folds in parallel (``n_jobs=-1``)
and its score moves in the 16th digit from run to run: one run's metric and the replay's
verified metric of the same node already differ there. Titles, code, kinds and statuses must be
identical.

Each run uses the task's own step budget unless ``--max-steps`` is given, the sandbox the
machine has, and seed 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlr_copilot_jupyter

TASKS_DIR = Path(mlr_copilot_jupyter.__file__).parent / "tasks"
NODE_FIELDS = ("id", "parent", "kind", "step", "title", "recipe", "status", "metric",
               "metric_source", "verified", "verified_metric", "test_metric", "code")


def bundled_tasks() -> list[str]:
    return sorted(p.name for p in TASKS_DIR.iterdir()
                  if p.is_dir() and not p.name.startswith("_") and p.name != "__pycache__")


def run_task(name: str, max_steps: int | None, work: Path) -> dict:
    out = work / name
    cmd = [sys.executable, "-m", "mlr_copilot_jupyter", "experiment", "--backend", "offline",
           "--task", name, "--out", str(out), "--run-dir", str(work / "runs"),
           "--seed", "0", "--no-progress"]
    if max_steps is not None:
        cmd += ["--max-steps", str(max_steps)]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MLR_COPILOT_"))}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    journal_path = out / "journal.json"
    if not journal_path.exists():
        return {"exit": proc.returncode, "error": proc.stderr.strip().splitlines()[-1:]}
    journal = json.loads(journal_path.read_text())
    return {
        "exit": proc.returncode,
        "status": journal.get("status"),
        "metric_name": journal.get("metric_name"),
        "direction": journal.get("direction"),
        "best_node": journal.get("best_node"),
        "nodes": [{k: n.get(k) for k in NODE_FIELDS} for n in journal.get("nodes", [])],
    }


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def compare(before: Path, after: Path) -> int:
    """Print each differing field of two fingerprints (metrics to 12 significant digits)."""
    old, new = (_rounded(json.loads(p.read_text())) for p in (before, after))
    differences: list[str] = []

    def walk(a: object, b: object, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else key)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{i}]")
        elif a != b:
            differences.append(f"{where}: {a!r} -> {b!r}")

    walk(old, new, "")
    for line in differences:
        print(line)
    tasks = len(old) if isinstance(old, dict) else 0
    nodes = sum(len(t.get("nodes", [])) for t in old.values()) if isinstance(old, dict) else 0
    print(f"{len(differences)} differences over {tasks} tasks and {nodes} nodes")
    return 1 if differences else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                        help="compare two fingerprints instead of taking one")
    parser.add_argument("--out", help="JSON file to write")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="search steps per task (default: each task's own budget)")
    parser.add_argument("--tasks", nargs="*", default=None, help="default: every bundled task")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if not args.out:
        parser.error("--out FILE is needed (or --compare BEFORE AFTER)")
    names = args.tasks or bundled_tasks()
    with tempfile.TemporaryDirectory(prefix="mlr-fingerprint-") as tmp:
        with ThreadPoolExecutor(args.workers) as pool:
            results = dict(zip(names, pool.map(
                lambda n: run_task(n, args.max_steps, Path(tmp)), names), strict=True))
    Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    for name, res in results.items():
        print(f"{name:14s} exit {res['exit']}  status {res.get('status')}  "
              f"nodes {len(res.get('nodes', []))}  best {res.get('best_node')}")


if __name__ == "__main__":
    main()
