"""The ``mlr-copilot models`` / ``datasets`` commands as a user runs them: the console script in a
subprocess, falling back to the local source when the Hub is unreachable; and the Hub client's
retries and timeout in real time against the local fake Hub (retrieval itself is tested in
tests/unit/test_retrieval.py)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from mlr_copilot_jupyter.errors import NetworkUnavailable
from mlr_copilot_jupyter.retrieval import (
    HubSource,
)
from tests.support import hub_server as _hub_server
from tests.support.cli import cli_command, subprocess_env
from tests.support.hub_server import SIMILARITY_MODELS, TOKEN, HubServer, closed_port
from tests.support.load import time_bound

no_hub_telemetry = _hub_server.no_hub_telemetry  # an autouse fixture
hub = _hub_server.hub  # the fixture


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=time_bound(60), env=subprocess_env(**env))


def test_cli_falls_back_to_local_when_the_hub_is_unreachable() -> None:
    start = time.monotonic()
    result = run_cli("models", "sentence similarity", "--json",
                     HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}", HF_HUB_OFFLINE="",
                     HF_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    # a refused connection is not retried for 15 s
    assert time.monotonic() - start < time_bound(10, below=15)
    out = json.loads(result.stdout)
    ids = [c["id"] for c in out["candidates"]]
    assert ids and all(c["source"] == "local" for c in out["candidates"])
    embedding = [c for c in out["candidates"] if "sentence-embeddings" in c["tags"]]
    assert embedding or "sklearn.TfidfVectorizer" in ids[:3]
    assert len(out["warnings"]) == 1
    assert out["warnings"][0].startswith("cannot reach the Hugging Face Hub at http://127.0.0.1:")
    assert "using local sources only" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_cli_datasets_table_and_hub_only_failure() -> None:
    table = run_cli("datasets", "iris", "flowers", "--source", "local")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[1] == "sklearn.datasets.load_iris"
    failed = run_cli("models", "bert", "--source", "hub", "--hub-timeout", "2",
                     HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    assert failed.returncode == 1 and "cannot reach the Hugging Face Hub" in failed.stderr


def test_hub_429_is_retried_after_retry_after(hub: HubServer) -> None:
    hub.models = SIMILARITY_MODELS
    hub.push_fault("429", retry_after=1)
    start = time.monotonic()
    found = HubSource("model").search("similarity", limit=3)
    assert len(found) == 3 and time.monotonic() - start >= 1.0
    assert len(hub.requests) == 2


def test_hub_500_is_retried(hub: HubServer) -> None:
    hub.models = SIMILARITY_MODELS
    hub.push_fault("500")
    assert len(HubSource("model").search("similarity", limit=3)) == 3
    assert len(hub.requests) == 2


def test_hub_timeout_raises_network_unavailable_quickly(hub: HubServer) -> None:
    hub.push_fault("slow", delay=60)
    start = time.monotonic()
    with pytest.raises(NetworkUnavailable) as err:
        HubSource("model", timeout=1.5).search("bert")
    assert time.monotonic() - start < time_bound(10, below=60)
    message = err.value.one_line()
    assert message.startswith(f"cannot reach the Hugging Face Hub at {hub.url}")
    assert "no answer within 1.5 s" in message and "using local sources only" in message
