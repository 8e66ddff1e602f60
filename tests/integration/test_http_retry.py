"""The LLM retry policy's waits cut at a stage deadline, in real time against the local server (the
Retry-After parser and the Ctrl-C / cancellation stops are tested in
tests/unit/test_http_retry.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.llm.budget import DeadlineReached, stage_deadline
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from tests.support.chat_server import ChatServer
from tests.support.load import time_bound


def test_a_retry_wait_stops_at_the_stage_deadline(llm_env: ChatServer) -> None:
    settings = MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0)
    llm_env.push_fault("429", retry_after=30)  # longer than the deadline: waiting is pointless
    llm_env.push_text("too late")
    started = time.monotonic()
    with stage_deadline(0.5), pytest.raises(DeadlineReached, match="waiting to retry the LLM"):
        OpenAIBackend(settings).query("hi")
    assert 0.4 < time.monotonic() - started < time_bound(5, below=30)  # not the 30 s wait
    assert len(llm_env.requests) == 1


def test_an_async_retry_wait_stops_at_the_stage_deadline(llm_env: ChatServer) -> None:
    settings = MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0)
    llm_env.push_fault("503", retry_after=30)
    llm_env.push_text("too late")
    started = time.monotonic()
    with stage_deadline(0.5), pytest.raises(DeadlineReached):
        asyncio.run(OpenAIBackend(settings).aquery("hi"))
    assert time.monotonic() - started < time_bound(5, below=30)
    assert len(llm_env.requests) == 1
