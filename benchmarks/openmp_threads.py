"""OpenMP settings for kernels: one kernel alone, and several at once as a pool runs them.

A boosting fit (scikit-learn's ``HistGradientBoostingClassifier``, 100 iterations on the 1,797
digits: OpenMP threads, thousands of short parallel regions) in a fresh Python process, timed
inside it, under three settings:

- ``default``: OpenMP's defaults, what a kernel gets now (:func:`kernels.launcher.kernel_environ`
  sets nothing);
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE``, what ``kernel_environ`` set before (threads sleep
  between regions instead of spinning);
- ``share``: :func:`batch.executors.thread_share` for ``--concurrent`` workers, what each worker
  of a process pool now gives its kernels (one thread each when there are more workers than
  cores).

(a) ``alone``: one process at a time; (b) ``concurrent``: ``--concurrent`` processes at once
(default: one more than the cores, as a comparison on a pool or the test suite runs them), the
median of their fit times. Each scenario ``--repeats`` times, interleaved.

Run: ``.venv/bin/python benchmarks/openmp_threads.py [--repeats 3] [--concurrent N]``. The last
line is ``ratio: <before / now>``: the sum of the two medians with ``passive`` (before) over
``default`` alone plus ``share`` concurrent (now); above 1, now is faster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from _machine import machine

from mlr_copilot_jupyter.batch.executors import THREAD_VARIABLES, thread_share

FIT = """\
import time
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
X, y = load_digits(return_X_y=True)
HistGradientBoostingClassifier(max_iter=5).fit(X[:200], y[:200])  # imports, thread pool
start = time.perf_counter()
HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
print(time.perf_counter() - start)
"""


def environ(setting: str, concurrent: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in THREAD_VARIABLES and k != "OMP_WAIT_POLICY"}
    if setting == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    elif setting == "share":
        env.update(thread_share(concurrent))
    return env


def fits(setting: str, processes: int, concurrent: int) -> list[float]:
    """Seconds of one fit in each of ``processes`` processes started together."""
    env = environ(setting, concurrent)
    started = [subprocess.Popen([sys.executable, "-c", FIT], env=env, stdout=subprocess.PIPE,
                                text=True) for _ in range(processes)]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in started]


def main(argv: list[str] | None = None) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="times each scenario runs")
    parser.add_argument("--concurrent", type=int, default=(cpus or 1) + 1,
                        help="processes at once in the concurrent scenario (default: cores + 1)")
    args = parser.parse_args(argv)
    print(machine())
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for setting in ("default", "passive", "share"):
            times.setdefault((setting, "alone"), []).extend(fits(setting, 1, args.concurrent))
            times.setdefault((setting, "concurrent"), []).extend(
                fits(setting, args.concurrent, args.concurrent))
    share = thread_share(args.concurrent)["OMP_NUM_THREADS"]
    print(f"HistGradientBoosting, 100 iterations on 1,797 digits; median fit seconds over "
          f"{args.repeats} repeats (concurrent: {args.concurrent} processes at once; share = "
          f"{share} thread(s) each)")
    print(f"{'setting':<10} {'alone':>8} {'concurrent':>11}")
    medians: dict[tuple[str, str], float] = {k: statistics.median(v) for k, v in times.items()}
    for setting in ("default", "passive", "share"):
        print(f"{setting:<10} {medians[(setting, 'alone')]:>8.2f} "
              f"{medians[(setting, 'concurrent')]:>11.2f}")
    before = medians[("passive", "alone")] + medians[("passive", "concurrent")]
    now = medians[("default", "alone")] + medians[("share", "concurrent")]
    print(f"before (passive alone + passive concurrent): {before:.2f} s; now (default alone + "
          f"share concurrent): {now:.2f} s")
    print(f"ratio: {before / now:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
