"""The real ``openai`` SDK pointed at the local chat server (tests/support/chat_server.py): a
``client`` fixture and a one-call ``ask``, shared by tests/unit/test_chat_server.py and
tests/integration/test_chat_server.py. Kept apart from chat_server.py so that the suite's
conftest, which imports that module, does not import ``openai``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from tests.support.chat_server import ChatServer

MODEL = "test-model"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


@pytest.fixture
def client(chat_server: ChatServer) -> Iterator[openai.OpenAI]:
    """An SDK client of this test's chat server that does not retry."""
    with openai.OpenAI(base_url=chat_server.url, api_key="sk-test", max_retries=0) as c:
        yield c


def ask(client: openai.OpenAI, **kw: Any) -> ChatCompletion:
    """One non-streamed chat completion (``MODEL`` and ``MESSAGES`` unless ``kw`` says else)."""
    kw.setdefault("model", MODEL)
    kw.setdefault("messages", MESSAGES)
    resp = client.chat.completions.create(**kw)
    assert isinstance(resp, ChatCompletion)
    return resp
