"""Shared fixtures: a clean environment, the local chat-completions server, settings bound to it."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import budget, parallel
from tests.support.chat_server import (  # noqa: F401  (fixtures)
    ChatServer,
    chat_server,
    private_chat_server,
    shared_chat_server,
)
from tests.support.cli import ENV_TO_CLEAR, PREFIXES_TO_CLEAR, SECRET_KEY
from tests.support.llama import llama_server  # noqa: F401  (fixture; read $MLR_COPILOT_CACHE)
from tests.support.load import Calibration, calibrate
from tests.support.signals import kept_signal_state


def _scrub_caller_environment() -> None:
    """Drop the caller's LLM, Hub and S2 settings from the whole test session, not only from
    each test (``clean_env``): module-scoped fixtures run before it, and libraries read some
    variables once at import (``huggingface_hub`` takes ``HF_HUB_OFFLINE`` into a constant)."""
    for name in list(os.environ):
        if name in ENV_TO_CLEAR or name.startswith(PREFIXES_TO_CLEAR) or name == "S2_API_KEY":
            del os.environ[name]


_scrub_caller_environment()

def _share_the_cores() -> None:
    """Each pytest-xdist worker's share of the cores for its thread pools, in-process fits and the
    kernels and CLI subprocesses it starts (which inherit it), as the product gives each worker
    of a process pool (batch.executors.thread_share). Three workers on 2 cores each running
    OpenMP's default thread per core stalled one another: the six-task bench test took 112 s
    alone, 60 s with one thread. Set, not defaulted: the caller's shell does not change the suite."""
    from mlr_copilot_jupyter.batch.executors import thread_share

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    os.environ.update(thread_share(workers))
    os.environ.pop("OMP_WAIT_POLICY", None)


_share_the_cores()


@pytest.fixture(scope="session", autouse=True)
def load_calibration() -> Calibration:
    """How busy the machine is at session start: time bounds scale with it (tests/support/load.py)."""
    return calibrate()


@pytest.fixture(autouse=True)
def signal_state() -> Iterator[None]:
    """The test process's SIGINT/SIGTERM handlers and signal mask, as before the test (an
    in-process ``cli.main`` that caught a Ctrl-C leaves SIGINT ignored; tests/support/signals.py)."""
    with kept_signal_state():
        yield


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts with no LLM configured and runs in its own temporary folder."""
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):  # whatever else the caller's shell says about LLMs, hubs, S2
        if name.startswith(PREFIXES_TO_CLEAR) or name == "S2_API_KEY":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLR_COPILOT_RUN_DIR", str(tmp_path / "runs"))
    # hermetic: no test reaches Semantic Scholar unless it points MLR_COPILOT_S2_URL at a fake
    monkeypatch.setenv("MLR_COPILOT_SEMANTIC_SCHOLAR", "off")
    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, chat_server: ChatServer) -> ChatServer:  # noqa: F811
    """Environment pointing the package at the local server (the session's, made fresh for this
    test: its ``url`` is this test's own), with a recognisable secret key."""
    monkeypatch.setenv("OPENAI_BASE_URL", chat_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    monkeypatch.setenv("MLR_COPILOT_MODEL", "test-model")
    return chat_server


@pytest.fixture
def fast_settings(llm_env: ChatServer):
    """Settings for the local server with short backoffs so retry tests stay quick."""
    from mlr_copilot_jupyter.config import MLRCopilot

    return MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0)


@pytest.fixture
def ip() -> Iterator[Any]:
    """An IPython shell with the extension loaded; errors in magics propagate as exceptions."""
    from IPython.core.interactiveshell import InteractiveShell

    from mlr_copilot_jupyter.experiment.background import BackgroundRun

    InteractiveShell.clear_instance()  # a fresh shell: none left over with the extension loaded
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mlr_copilot_jupyter")
    yield shell
    run = shell.user_ns.get("_mlr_run")
    if isinstance(run, BackgroundRun) and not run.done:  # never leave a kernel behind
        run.cancel()
        run.wait(30)
    shell.run_line_magic("unload_ext", "mlr_copilot_jupyter")
    InteractiveShell.clear_instance()
    # Each shell registered its exit work (history, a reset with gc.collect()): ~0.3 s apiece at
    # the interpreter's exit, 16 s after the unit layer's tests had finished (issue 26).
    atexit.unregister(shell.atexit_operations)


def pytest_configure(config: pytest.Config) -> None:
    """The time budgets (tests/support/budget.py) and the sharing-out of tests over pytest-xdist
    workers (tests/support/parallel.py)."""
    budget.register(config)
    config.pluginmanager.register(parallel, "mlr-parallel")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In a serial run the real llama.cpp tests run last: ``make test`` builds the server
    meanwhile. On xdist workers they start first, on a worker of their own, beside the rest
    (tests/support/parallel.py)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        items.sort(key=lambda item: item.get_closest_marker("llama") is not None)
