"""The API key never reaches anything the package writes: files, notebooks, logs, outputs."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mlr_copilot_jupyter import Copilot
from tests.support.chat_server import ChatServer
from tests.support.cli import SECRET_KEY, cli_command, subprocess_env
from tests.support.load import time_bound


def files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(path)
    return hits


# each command's bound (120 s idle, the demo took 130 s at load 6) scales with the load; the
# test's own timeout only stops a hang beyond those
@pytest.mark.timeout(1500)
@pytest.mark.slow_ok(
    reason="runs `mlr-copilot demo` (offline engine, real kernel) and three config commands, scanning all output for the key")
def test_key_never_lands_on_disk_or_in_output(
    tmp_path: Path, llm_env: ChatServer, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    outputs: list[str] = []
    try:
        with caplog.at_level(logging.DEBUG):
            # in-process API: success, retry, auth failure — all logged at DEBUG
            llm_env.push_fault("429", retry_after=0.05)
            llm_env.push_text("hello")
            copilot = Copilot(backoff_base=0.01)
            outputs.append(copilot.query("hi").text)
            llm_env.push_fault("401")
            with pytest.raises(Exception) as info:
                copilot.query("hi")
            outputs.append(str(info.value))
        # the CLI, with --debug logging to stderr
        for args in (["config"], ["config", "--json"], ["config", "--check", "--debug"],
                     ["demo", "--backend", "offline"]):
            llm_env.push_text("ready")
            result = subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                                    timeout=time_bound(120), env=subprocess_env(), cwd=tmp_path)
            outputs += [result.stdout, result.stderr]
        # a notebook run in a fresh kernel that uses the magics against the endpoint
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell("%load_ext mlr_copilot_jupyter"),
            nbformat.v4.new_code_cell("%mlr_config --check"),
            nbformat.v4.new_code_cell("%config MLRCopilot"),
        ]
        llm_env.push_text("ready")
        NotebookClient(nb, timeout=round(time_bound(60)),  # an int, as nbclient wants
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        nbformat.write(nb, tmp_path / "executed.ipynb")
    finally:
        root.removeHandler(handler)
        handler.close()
    assert os.environ["OPENAI_API_KEY"] == SECRET_KEY  # the key really was configured
    assert len(llm_env.requests) >= 5  # and really was used
    assert files_containing(tmp_path, SECRET_KEY) == []
    assert files_containing(tmp_path, SECRET_KEY[-10:]) == []
    assert log_file.stat().st_size > 0
    for text in outputs + [caplog.text]:
        assert SECRET_KEY not in text and SECRET_KEY[-10:] not in text
