"""How much slower than an idle machine this one runs now, so a test's time bound follows the load.

Timing claims belong in ``benchmarks/``. A test that must still bound time (a hang check: "never a
hang", "stops within ...", "ends by itself") either bounds CPU time, which load hardly changes
(:func:`cpu_seconds`, for work done in this process), or states the wall-clock bound it would
use on an idle 2-core machine and passes it through :func:`time_bound`, which multiplies it by
:func:`slowdown` (never below 1: a bound is never tightened, and a hang still fails, only later
on a busy machine).

The calibration times a fixed CPU workload (a pure-Python loop and a small numpy sort, about
:data:`IDLE_WORKLOAD_SECONDS` on an idle project machine) and reads the 1-minute load average; the
slowdown is the larger of "workload now / workload idle" and "load average / CPUs". It is measured
at session start (the ``load_calibration`` fixture in ``tests/conftest.py``) and measured again
when a bound is asked for more than :data:`REMEASURE_AFTER` seconds later, since the load changes
during a session (``make test`` builds llama.cpp in the background meanwhile).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np

#: Wall seconds of :func:`_workload` on a quiet 2-core project machine: 20 runs on 2026-12-06
#: took 0.198 s at the least, 0.218 s in the median (load average 1.5 from one other test
#: session). A faster machine reads a slowdown below 1, which :func:`slowdown` raises to 1.
IDLE_WORKLOAD_SECONDS = 0.20
#: Seconds after which a calibration is stale and the next bound measures again.
REMEASURE_AFTER = 30.0

_LOOP = 4_000_000
_SORT = 1_000_000


def _workload() -> None:
    """A fixed amount of single-threaded CPU work: Python bytecode and a numpy sort."""
    total = 0
    for i in range(_LOOP):
        total += (i * i) % 7
    values = np.random.default_rng(0).random(_SORT)
    np.sort(values)
    if total < 0:  # never: keeps the loop from being thought dead
        raise AssertionError(total)


@dataclass(frozen=True)
class Calibration:
    """One measurement: the workload's wall and CPU seconds now and the load average."""

    workload_s: float
    workload_cpu_s: float
    loadavg: float
    cpus: int
    measured_at: float

    @property
    def slowdown(self) -> float:
        """How many times slower than idle a bound should allow for (>= 1.0)."""
        return max(1.0, self.workload_s / IDLE_WORKLOAD_SECONDS, self.loadavg / self.cpus)

    def describe(self) -> str:
        return (f"slowdown {self.slowdown:.2f} (workload {self.workload_s:.2f} s wall, "
                f"{self.workload_cpu_s:.2f} s CPU, {IDLE_WORKLOAD_SECONDS:.2f} s idle; "
                f"load average {self.loadavg:.1f} on {self.cpus} CPUs)")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def measure() -> Calibration:
    """Time the workload now (not cached)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    _workload()
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    try:
        loadavg = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        loadavg = 0.0
    return Calibration(wall, cpu, loadavg, _cpus(), time.monotonic())


_lock = threading.Lock()
_last: Calibration | None = None


def calibrate(*, max_age: float = REMEASURE_AFTER) -> Calibration:
    """The last calibration if younger than ``max_age`` seconds, else a new one."""
    global _last
    with _lock:
        if _last is None or time.monotonic() - _last.measured_at > max_age:
            _last = measure()
        return _last


def slowdown() -> float:
    """How many times slower than an idle machine this one runs now (>= 1.0)."""
    return calibrate().slowdown


def time_bound(seconds_when_idle: float, *, below: float | None = None) -> float:
    """A wall-clock bound of ``seconds_when_idle`` on an idle machine, scaled to the load now.

    ``below`` is where the test would stop telling the behaviour from the failure it is about
    (five concurrent calls of 0.3 s against serial ones: 1.5 s; giving up at once against a
    30 s retry): the scaled bound stays under it (95% of it), but never under the idle bound.
    """
    bound = seconds_when_idle * slowdown()
    if below is not None:
        bound = max(seconds_when_idle, min(bound, 0.95 * below))
    return bound


def explain() -> str:
    """The calibration behind the bounds, for a failure message."""
    return calibrate().describe()


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process, all its threads."""
    return time.process_time()
