"""The openai backend's waits and concurrency in real time, through the real ``openai`` SDK against
the local server: Retry-After honoured, a slow reply abandoned at the request timeout, calls in
flight together or bounded by the concurrency setting (the rest of the backend is tested in
tests/unit/test_llm_openai.py)."""

from __future__ import annotations

import asyncio
import time

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from tests.support.chat_server import ChatServer
from tests.support.load import time_bound


def test_retry_after_429_honours_retry_after(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("429", retry_after=0.6)
    llm_env.push_text("finally")
    started = time.monotonic()
    reply = OpenAIBackend(fast_settings).query("hi")
    assert reply.text == "finally" and reply.attempts == 2
    gap = llm_env.requests[1]["time"] - llm_env.requests[0]["time"]
    assert gap >= 0.55, f"retried after {gap:.2f}s, server asked for 0.6s"
    assert time.monotonic() - started < time_bound(5)


def test_timeout_then_retry(llm_env: ChatServer) -> None:
    settings = MLRCopilot(request_timeout=0.5, backoff_base=0.05, backoff_max=0.1)
    llm_env.push_fault("slow", delay=3.0, then="too late")
    llm_env.push_text("in time")
    started = time.monotonic()
    reply = OpenAIBackend(settings).query("hi")
    assert reply.text == "in time"
    assert time.monotonic() - started < time_bound(2.5, below=3)  # not the slow reply


def test_aquery_runs_concurrently(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.latency = 0.3

    async def five() -> list[str]:
        backend = OpenAIBackend(fast_settings)
        replies = await asyncio.gather(*(backend.aquery(f"idea {i}") for i in range(5)))
        return [r.text for r in replies]

    started = time.monotonic()
    texts = asyncio.run(five())
    elapsed = time.monotonic() - started
    assert texts == ["ok"] * 5
    assert elapsed < time_bound(1.0, below=1.5), f"5 calls of 0.3 s took {elapsed:.2f}s: not concurrent"


def test_concurrency_setting_bounds_calls_in_flight(llm_env: ChatServer) -> None:
    settings = MLRCopilot(concurrency=1)
    llm_env.latency = 0.2

    async def three() -> None:
        backend = OpenAIBackend(settings)
        await asyncio.gather(*(backend.aquery("x") for _ in range(3)))

    started = time.monotonic()
    asyncio.run(three())
    assert time.monotonic() - started >= 0.55
