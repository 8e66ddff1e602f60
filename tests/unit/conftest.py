"""The unit layer's rule, enforced: a unit test runs in this process.

It starts no process: no kernel, no CLI subprocess, no browser, no worker pool. Whatever a
behaviour needs beyond that is reached through the engine's seams (the injected runtime, the
backend's ``query()``, the comm, the executor's callbacks) or, for the package's real HTTP clients
(the OpenAI SDK, arXiv, Semantic Scholar, the Hub), a scripted server on a thread of this process
listening on 127.0.0.1. A test that starts a process fails with a line saying where it belongs:
``tests/integration`` keeps one real-kernel or real-subprocess test per seam and failure mode.
"""

from __future__ import annotations

import multiprocessing.process
import subprocess
from typing import Any

import pytest

MOVE = "unit tests run in-process; a test that needs {what} belongs in tests/integration"


def _refuse_child(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
    shown = args if isinstance(args, str) else " ".join(map(str, args))
    raise AssertionError(MOVE.format(what=f"a subprocess (`{shown[:120]}`)"))


def _refuse_start(self: multiprocessing.process.BaseProcess) -> None:
    raise AssertionError(MOVE.format(what=f"a worker process ({self.name})"))


_PATCHES = ((subprocess.Popen, "_execute_child", _refuse_child),
            (multiprocessing.process.BaseProcess, "start", _refuse_start))
_saved: list[tuple[Any, str, Any]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """From the setup of a unit test (its module- and session-scoped fixtures included, which
    an autouse fixture would not cover) to the end of its teardown. A conftest's runtest hooks
    apply to the tests under its folder only: integration tests in the same session are free."""
    if not _saved:
        for owner, name, refuse in _PATCHES:
            _saved.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, refuse)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    while _saved:
        owner, name, original = _saved.pop()
        setattr(owner, name, original)
