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
from collections.abc import Iterator
from typing import Any

import pytest

MOVE = "unit tests run in-process; a test that needs {what} belongs in tests/integration"


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse_child(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        shown = args if isinstance(args, str) else " ".join(map(str, args))
        raise AssertionError(MOVE.format(what=f"a subprocess (`{shown[:120]}`)"))

    def refuse_start(self: multiprocessing.process.BaseProcess) -> None:
        raise AssertionError(MOVE.format(what=f"a worker process ({self.name})"))

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse_child)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse_start)
    yield
