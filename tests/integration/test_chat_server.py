"""The local chat server's slow fault against a client timeout, in real time, through the real
``openai`` SDK (the rest of the server is tested in tests/unit/test_chat_server.py)."""

from __future__ import annotations

import time

import openai
import pytest

from tests.support import openai_client as _openai_client
from tests.support.chat_server import ChatServer
from tests.support.load import time_bound
from tests.support.openai_client import ask

client = _openai_client.client  # the fixture


def test_slow_exceeds_timeout(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("slow", delay=2.0)
    chat_server.push_text("next")
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        ask(client, timeout=0.5)
    assert time.monotonic() - t0 < time_bound(1.5, below=2.0)  # not the slow reply
    # the slow fault consumed only itself; the next request gets the next item
    assert ask(client).choices[0].message.content == "next"
