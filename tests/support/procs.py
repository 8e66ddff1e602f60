"""Helpers for tests that drive the CLI as a process: start it, wait, find its kernel."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import psutil

from tests.support.cli import cli_command, subprocess_env
from tests.support.load import explain, time_bound


def as_terminal_job() -> None:
    """``preexec_fn`` for a Ctrl-C test's CLI: start as a terminal's foreground job does, with
    SIGINT at its default and not blocked. A process inherits an ignored SIGINT (a non-interactive
    shell ignores it in the jobs it starts with ``&``: ``nohup make test &``) and a blocked one;
    the CLI would then never see the Ctrl-C the test sends."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*cli_command(), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or subprocess_env())


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """The first true value of ``predicate``, polled for ``timeout`` seconds on an idle machine
    (scaled to the load, tests/support/load.py)."""
    timeout = time_bound(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} ({timeout:.0f} s; {explain()})")


def kernel_of(pid: int) -> psutil.Process | None:
    """The ipykernel process started by the CLI process ``pid``."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return None
    for child in children:
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def gone(proc: psutil.Process) -> bool:
    """Whether ``proc`` has exited (a zombie counts: it runs no code any more)."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
