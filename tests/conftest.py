"""Shared fixtures: a clean environment, the local chat-completions server, settings bound to it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chat_server import ChatServer, chat_server  # noqa: F401  (fixture)
from tests.llama import llama_server  # noqa: F401  (fixture)

SECRET_KEY = "sk-mlrtest-DO-NOT-LEAK-7f3a9c2e1b"

_PREFIXES_TO_CLEAR = ("OPENAI_", "MLR_COPILOT_", "HF_", "HUGGINGFACE_")
_ENV_TO_CLEAR = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "MLR_COPILOT_MODEL",
    "MLR_COPILOT_BACKEND",
    "MLR_COPILOT_RUN_DIR",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts with no LLM configured and runs in its own temporary folder."""
    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):  # whatever else the caller's shell says about LLMs, hubs, S2
        if name.startswith(_PREFIXES_TO_CLEAR) or name == "S2_API_KEY":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLR_COPILOT_RUN_DIR", str(tmp_path / "runs"))
    # hermetic: no test reaches Semantic Scholar unless it points MLR_COPILOT_S2_URL at a fake
    monkeypatch.setenv("MLR_COPILOT_SEMANTIC_SCHOLAR", "off")
    monkeypatch.setenv("MLR_COPILOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, chat_server: ChatServer) -> ChatServer:  # noqa: F811
    """Environment pointing the package at the local server, with a recognisable secret key."""
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

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mlr_copilot_jupyter")
    yield shell
    run = shell.user_ns.get("_mlr_run")
    if isinstance(run, BackgroundRun) and not run.done:  # never leave a kernel behind
        run.cancel()
        run.wait(30)
    shell.run_line_magic("unload_ext", "mlr_copilot_jupyter")
    InteractiveShell.clear_instance()


def cli_command() -> list[str]:
    """The installed console script, falling back to ``python -m`` when not on disk."""
    script = Path(sys.executable).with_name("mlr-copilot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mlr_copilot_jupyter"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real llama.cpp tests run last: ``make test`` builds the server meanwhile."""
    items.sort(key=lambda item: item.get_closest_marker("llama") is not None)
