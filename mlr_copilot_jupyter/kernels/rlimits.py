"""Apply resource limits, then ``exec`` the real kernel command (same PID, limits inherited).

Usage::

    python rlimits.py [--mem-mb N] [--cpu-s N] -- <kernel argv ...>

Run by file path (it imports only the standard library), so it works even when the package is
not importable from the kernel's interpreter or working directory. POSIX only.
:func:`.launcher.launch_prefix` builds the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _set_limit(which: int, soft: int, hard: int) -> None:
    import resource

    _, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(which, (soft, hard))


def apply_limits(mem_mb: int | None = None, cpu_s: int | None = None) -> None:
    """Set RLIMIT_AS (address space, MiB) and RLIMIT_CPU (seconds) on the current process."""
    import resource

    if mem_mb:
        nbytes = int(mem_mb) * 1024 * 1024
        _set_limit(resource.RLIMIT_AS, nbytes, nbytes)
    if cpu_s:
        # The soft limit sends SIGXCPU (kills the kernel); the hard limit is a SIGKILL backstop.
        _set_limit(resource.RLIMIT_CPU, int(cpu_s), int(cpu_s) + 5)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv``, apply the limits and replace this process with the kernel command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args:
        sys.exit("rlimits: expected '--' followed by the kernel command")
    split = args.index("--")
    parser = argparse.ArgumentParser(prog="rlimits")
    parser.add_argument("--mem-mb", type=int, default=None)
    parser.add_argument("--cpu-s", type=int, default=None)
    opts = parser.parse_args(args[:split])
    cmd = args[split + 1 :]
    if not cmd:
        sys.exit("rlimits: empty kernel command")
    apply_limits(opts.mem_mb, opts.cpu_s)
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
