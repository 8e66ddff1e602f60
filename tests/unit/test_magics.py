"""Magics through a real IPython shell, in this process (tests/integration/test_magics.py: in a
fresh kernel through nbclient)."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from tests.support.chat_server import ChatServer
from tests.support.cli import SECRET_KEY


def status(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    ip.run_line_magic("mlr_config", "--json")
    return json.loads(capsys.readouterr().out)


def test_config_magic_changes_what_mlr_config_shows(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(ip, capsys)["model"] == "gpt-4o-mini"
    ip.run_line_magic("config", 'MLRCopilot.model = "m"')
    ip.run_line_magic("config", "MLRCopilot.temperature = 0.1")
    shown = status(ip, capsys)
    assert shown["model"] == "m" and shown["temperature"] == 0.1


def test_mlr_config_flags_and_key_never_shown(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    ip.run_line_magic("mlr_config", "--base-url http://127.0.0.1:1/v1 --model llama")
    out = capsys.readouterr().out
    assert "llama" in out and "http://127.0.0.1:1/v1" in out and "yes" in out
    assert SECRET_KEY not in out
    ip.run_line_magic("config", "MLRCopilot")  # %config lists the traits: the key is not one
    assert SECRET_KEY not in capsys.readouterr().out


def test_usage_mistakes_are_usage_errors(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError):
        ip.run_line_magic("mlr_config", "--backend gpt5")
    with pytest.raises(UsageError, match="temperature 9.0 is outside 0..2"):
        ip.run_line_magic("mlr_config", "--temperature 9")


def test_check_reaches_the_endpoint_and_errors_are_one_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], llm_env: ChatServer
) -> None:
    llm_env.push_text("ready", usage=(5, 1))
    ip.run_line_magic("mlr_config", "--check")
    assert "test-model" in capsys.readouterr().out
    llm_env.push_fault("401")
    with pytest.raises(UsageError, match="rejected the API key") as info:
        ip.run_line_magic("mlr_config", "--check")
    assert SECRET_KEY not in str(info.value)


def test_help_explains_the_magic(ip: InteractiveShell) -> None:
    doc = ip.find_line_magic("mlr_config").__doc__
    assert "--check" in doc and "never the key" in doc
