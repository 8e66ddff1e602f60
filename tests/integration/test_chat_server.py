"""The local chat server's slow fault against a client timeout, in real time, through the real
``openai`` SDK (the rest of the server is tested in tests/unit/test_chat_server.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from tests.support.chat_server import ChatServer
from tests.support.load import time_bound

MODEL = "test-model"


MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


@pytest.fixture
def client(chat_server: ChatServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=chat_server.url, api_key="sk-test", max_retries=0) as c:
        yield c


def _ask(client: openai.OpenAI, **kw: Any) -> ChatCompletion:
    kw.setdefault("model", MODEL)
    kw.setdefault("messages", MESSAGES)
    resp = client.chat.completions.create(**kw)
    assert isinstance(resp, ChatCompletion)
    return resp


def test_slow_exceeds_timeout(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("slow", delay=2.0)
    chat_server.push_text("next")
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _ask(client, timeout=0.5)
    assert time.monotonic() - t0 < time_bound(1.5, below=2.0)  # not the slow reply
    # the slow fault consumed only itself; the next request gets the next item
    assert _ask(client).choices[0].message.content == "next"
