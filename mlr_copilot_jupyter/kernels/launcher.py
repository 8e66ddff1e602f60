"""How a kernel is launched: the resource-limit prefix, its environment and its working folder.

The limits are applied by :mod:`.rlimits`, a standard-library-only script run by file path in
front of the kernel command, so they hold from the kernel's first instruction.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .environment import scrub_environ

__all__ = ["RLIMITS_SCRIPT", "kernel_environ", "kernel_resources", "launch_prefix"]

#: The script that sets RLIMIT_AS / RLIMIT_CPU and then ``exec``s the kernel.
RLIMITS_SCRIPT = Path(__file__).with_name("rlimits.py")


def launch_prefix(memory_limit_mb: int | None = None,
                  cpu_time_limit_s: int | None = None) -> list[str]:
    """The argv to put before the kernel command (ending in ``--``); empty when no limit is set."""
    if not (memory_limit_mb or cpu_time_limit_s):
        return []
    prefix = [sys.executable, str(RLIMITS_SCRIPT)]
    if memory_limit_mb:
        prefix += ["--mem-mb", str(memory_limit_mb)]
    if cpu_time_limit_s:
        prefix += ["--cpu-s", str(cpu_time_limit_s)]
    return [*prefix, "--"]


def kernel_environ(
    environ: Mapping[str, str],
    run_dir: str | Path,
    *,
    allow: Iterable[str] = (),
    deny: Iterable[str] = (),
    memory_limit_mb: int | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a kernel that runs generated code (scrubbed; never log its values).

    ``environ`` without secret-looking names (see :mod:`.environment`), plus
    ``MLR_COPILOT_RUN_DIR`` and the settings the limits need; ``extra_env`` goes on top.
    """
    env = scrub_environ(environ, allow, deny=deny)
    env["MLR_COPILOT_RUN_DIR"] = str(run_dir)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # OpenMP is left to its defaults here: a kernel alone on the machine is fastest with them
    # (one 1,797-row HistGradientBoosting fit on 2 idle cores: 1.6 s; with OMP_WAIT_POLICY=PASSIVE,
    # which this set before, 14 s: benchmarks/openmp_threads.py). Where the copilot itself runs
    # several kernels at once (a process pool, a Dask LocalCluster) each worker gets its share of
    # the cores as OMP_NUM_THREADS (batch.executors.thread_share), as Dask's nanny does.
    if memory_limit_mb:
        # Each glibc malloc arena reserves 64 MiB of address space per thread; RLIMIT_AS
        # counts reservations, so cap the arenas or the kernel's threads exhaust the limit.
        env.setdefault("MALLOC_ARENA_MAX", "2")
    env.update(extra_env or {})
    return env


def kernel_resources(cwd: str | Path) -> dict[str, Any]:
    """nbclient ``resources`` that start the kernel in ``cwd``.

    Through nbclient rather than ``os.chdir`` (papermill's ``cwd=``), which would move the whole
    process: unsafe with several threads, e.g. per Dask worker.
    """
    return {"metadata": {"path": str(cwd)}}
