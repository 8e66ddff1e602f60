"""The one Retry-After parser (LLM backend and Semantic Scholar) and the LLM retry policy's waits:
cut at a stage deadline, ended at once by Ctrl-C or task cancellation."""

from __future__ import annotations

import asyncio
import email.utils
import os
import signal
import threading
import time

import httpx
import pytest

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.http_retry import parse_retry_after, server_wait
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend
from tests.support.chat_server import ChatServer
from tests.support.load import time_bound

NOW = 1_700_000_000.0


def test_seconds_milliseconds_and_dates() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": " 1.5 "}) == 1.5
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER": "3"})) == 3.0
    # retry-after-ms (OpenAI, Azure) is the more precise one and wins
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "1"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "soon", "Retry-After": "2"}) == 2.0
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=NOW) == pytest.approx(30.0)
    unknown_zone = email.utils.formatdate(NOW + 12).replace("+0000", "-0000")
    assert parse_retry_after({"Retry-After": unknown_zone}, now=NOW) == pytest.approx(12.0)
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 < (parse_retry_after({"Retry-After": later}) or 0) <= 60


def test_past_negative_missing_and_nonsense() -> None:
    past = email.utils.formatdate(NOW - 100, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=NOW) == 0.0
    assert parse_retry_after({"Retry-After": "-5"}) == 0.0
    for headers in (None, {}, {"Retry-After": ""}, {"Retry-After": "soon"},
                    {"Retry-After": "Wed, 99 Foo 2015"}, {"Retry-After": "inf"},
                    {"retry-after-ms": "nan"}, {"Content-Type": "application/json"}):
        assert parse_retry_after(headers) is None, headers


def test_server_wait_reads_the_response_behind_an_exception() -> None:
    response = httpx.Response(429, headers={"Retry-After": "4"},
                              request=httpx.Request("GET", "http://x"))
    assert server_wait(httpx.HTTPStatusError("429", request=response.request, response=response)) == 4.0
    assert server_wait(ValueError("no response")) is None
    assert server_wait(None) is None


def test_ctrl_c_during_a_retry_wait_stops_at_once(llm_env: ChatServer) -> None:
    settings = MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0)
    llm_env.push_fault("429", retry_after=30)
    llm_env.push_text("never asked for")
    stop = threading.Event()

    def ctrl_c_once_the_wait_began() -> None:
        if _answered(llm_env, stop):
            os.kill(os.getpid(), signal.SIGINT)

    started = time.monotonic()
    thread = threading.Thread(target=ctrl_c_once_the_wait_began)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            OpenAIBackend(settings).query("hi")
    finally:
        stop.set()
        thread.join()
    assert time.monotonic() - started < time_bound(5, below=30)
    assert len(llm_env.requests) == 1


def test_cancelling_a_task_during_a_retry_wait_stops_at_once(llm_env: ChatServer) -> None:
    settings = MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0)
    llm_env.push_fault("500", retry_after=30)
    llm_env.push_text("never asked for")

    async def main() -> None:
        task = asyncio.ensure_future(OpenAIBackend(settings).aquery("hi"))
        while not llm_env.requests:  # the first request was answered: the wait begins
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < time_bound(5, below=30)
    assert len(llm_env.requests) == 1


def _answered(server: ChatServer, stop: threading.Event) -> bool:
    """Wait for the server's first answer (the client then waits to retry); False when stopped."""
    while not server.requests:
        if stop.wait(0.02):
            return False
    return not stop.wait(0.1)
