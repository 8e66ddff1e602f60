"""A context window too small for the prompt, as a CLI user meets it: the real console script
against the local server; and Ctrl-C ending a slowly streaming call at once, in real time (the
rest is tested in-process in tests/unit/test_llm_limits.py)."""

from __future__ import annotations

import json
import time

import pytest

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from mlr_copilot_jupyter.llm.progress import progress_scope
from tests.support.chat_server import ChatServer
from tests.support.load import time_bound
from tests.support.progress import Recorder


def test_the_cli_says_once_that_the_window_is_too_small(llm_env: ChatServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The warning reaches a CLI user as one ``mlr-copilot: warning:`` line, beside the result."""
    from tests.support.faults import run_cli

    llm_env.n_ctx = 2048
    llm_env.push_json({"task_definition": "Classify digits.", "research_gaps": ["Small data."],
                       "keywords": ["digits"], "rationale": "Because."})
    paper = tmp_path / "paper.md"
    paper.write_text("# A long paper\n\n## Abstract\n\nWe classify digits.\n\n## Introduction\n\n"
                     + "A sentence of the introduction. " * 600)
    done = run_cli("problem", str(paper), "--json", "--no-progress", timeout=120)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("mlr-copilot: warning: test-model at ")
    assert "2,048-token context window" in warnings[0] and "llama-server with a larger" in warnings[0]
    assert json.loads(done.stdout)["task_definition"] == "Classify digits."


def test_interrupt_ends_the_call_and_returns_at_once(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.stream_delay = 1.0  # six chunks: about 5 s to stream the whole reply
    llm_env.push_text("a reply that streams slowly")

    def interrupt(text: str | None) -> None:
        if text:
            raise KeyboardInterrupt

    recorder = Recorder()
    started = time.monotonic()
    with progress_scope(recorder), pytest.raises(KeyboardInterrupt):
        OpenAIBackend(fast_settings).query("hi", on_token=interrupt)
    assert time.monotonic() - started < time_bound(2.5, below=5)  # not the whole 5 s reply
    assert recorder.calls[0].error == "KeyboardInterrupt"
