"""The openai backend, through the real ``openai`` SDK and HTTP against the local server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import BaseModel

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.errors import (
    ConfigError,
    LLMAuthError,
    LLMError,
    LLMModelNotFound,
    LLMSchemaError,
)
from mlr_copilot_jupyter.llm import get_backend, usage_scope
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend, parse_json_object
from tests.support.chat_server import MALFORMED_JSON, ChatServer
from tests.support.cli import SECRET_KEY


class Verdict(BaseModel):
    label: str
    score: int


def test_auto_backend_picks_openai_when_endpoint_configured(fast_settings: MLRCopilot) -> None:
    backend = get_backend(fast_settings)
    assert isinstance(backend, OpenAIBackend) and backend.is_llm


def test_text_reply_usage_latency_and_recorded_prompt(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_text("a reply", usage=(11, 4))
    reply = OpenAIBackend(fast_settings).query(
        [{"role": "system", "content": "sys"}, {"role": "user", "content": "hello there"}]
    )
    assert reply.text == "a reply"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (11, 4, 15)
    assert reply.latency > 0 and reply.model == "test-model"
    sent = llm_env.requests[-1]
    assert sent["json"]["messages"][1]["content"] == "hello there"
    assert sent["headers"]["authorization"] == f"Bearer {SECRET_KEY}"


def test_retry_after_500_and_503(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("500")
    llm_env.push_fault("503")
    llm_env.push_text("recovered")
    reply = OpenAIBackend(fast_settings).query("hi")
    assert reply.text == "recovered" and len(llm_env.requests) == 3


def test_gives_up_with_one_line_after_max_retries(llm_env: ChatServer) -> None:
    settings = MLRCopilot(max_retries=2, backoff_base=0.01, backoff_max=0.02)
    for _ in range(3):
        llm_env.push_fault("500")
    with pytest.raises(LLMError) as info:
        OpenAIBackend(settings).query("hi")
    message = str(info.value)
    assert "gave up after 3 attempts" in message and "\n" not in message
    assert len(llm_env.requests) == 3


def test_empty_choices_and_reset_are_retried(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("empty_choices")
    llm_env.push_fault("reset")
    llm_env.push_text("fine")
    assert OpenAIBackend(fast_settings).query("hi").text == "fine"


def test_schema_repair_after_malformed_json(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("malformed_json")
    llm_env.push_json({"label": "good", "score": 4})
    reply = OpenAIBackend(fast_settings).query("judge this", schema=Verdict)
    assert reply.parsed == Verdict(label="good", score=4)
    first, second = (r["json"] for r in llm_env.requests)
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"]["required"] == ["label", "score"]
    assert second["messages"][-2] == {"role": "assistant", "content": MALFORMED_JSON}
    assert "not valid" in second["messages"][-1]["content"]


def test_schema_repair_after_validation_error(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_json({"label": "good", "score": "very high"})
    llm_env.push_text('```json\n{"label": "good", "score": 5}\n```')
    reply = OpenAIBackend(fast_settings).query("judge", schema=Verdict)
    assert reply.parsed is not None and reply.parsed.score == 5
    assert "score" in llm_env.requests[1]["json"]["messages"][-1]["content"]


def test_schema_repair_is_bounded(llm_env: ChatServer) -> None:
    settings = MLRCopilot(schema_retries=1, backoff_base=0.01)
    llm_env.push_fault("malformed_json")
    llm_env.push_fault("malformed_json")
    with pytest.raises(LLMSchemaError, match="did not return valid Verdict JSON after 2 tries"):
        OpenAIBackend(settings).query("judge", schema=Verdict)
    assert len(llm_env.requests) == 2


def test_tool_call_mode(llm_env: ChatServer) -> None:
    settings = MLRCopilot(structured_mode="tool")
    llm_env.push_tool_call("submit_verdict", {"label": "ok", "score": 3})
    reply = OpenAIBackend(settings).query("judge", schema=Verdict)
    assert reply.parsed == Verdict(label="ok", score=3)
    sent = llm_env.requests[0]["json"]
    assert sent["tool_choice"]["function"]["name"] == "submit_verdict"
    assert sent["tools"][0]["function"]["parameters"]["title"] == "Verdict"


def test_auto_mode_falls_back_when_server_rejects_json_schema(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("400", message="response_format json_schema is not supported")
    llm_env.push_tool_call("submit_verdict", {"label": "ok", "score": 2})
    llm_env.push_tool_call("submit_verdict", {"label": "ok", "score": 1})
    backend = OpenAIBackend(fast_settings)
    assert backend.query("judge", schema=Verdict).parsed.score == 2  # type: ignore[union-attr]
    assert "tools" in llm_env.requests[1]["json"]
    backend.query("judge again", schema=Verdict)  # the working mode is remembered
    assert "response_format" not in llm_env.requests[2]["json"]


def test_usage_summed_per_call_and_per_scope(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    backend = OpenAIBackend(fast_settings)
    llm_env.push_fault("malformed_json")  # usage of the failed parse still counts
    llm_env.push_json({"label": "x", "score": 1}, usage=(20, 7))
    llm_env.push_text("two", usage=(30, 3))
    with usage_scope() as run:
        first = backend.query("judge", schema=Verdict)
        with usage_scope() as inner:
            backend.query("again")
    assert first.usage.calls == 2 and first.usage.prompt_tokens > 20
    assert inner.total.total_tokens == 33 and inner.total.calls == 1
    assert run.total.calls == 3
    assert run.total.total_tokens == first.usage.total_tokens + 33
    assert backend.meter.total == run.total


def test_401_is_one_clear_line_without_the_key(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("401")
    with pytest.raises(LLMAuthError) as info:
        OpenAIBackend(fast_settings).query("hi")
    message = str(info.value)
    assert "rejected the API key from $OPENAI_API_KEY" in message and "\n" not in message
    assert SECRET_KEY not in message and SECRET_KEY[-8:] not in message
    assert len(llm_env.requests) == 1  # not retried


def test_unknown_model_names_the_model_and_what_is_served(llm_env: ChatServer) -> None:
    llm_env.model_names = {"test-model", "llama-3-8b"}
    settings = MLRCopilot(model="gpt-nonexistent")
    with pytest.raises(LLMModelNotFound) as info:
        OpenAIBackend(settings).query("hi")
    message = str(info.value)
    assert "'gpt-nonexistent' is not served by" in message
    assert "llama-3-8b" in message and "\n" not in message


def test_openai_backend_without_key_or_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs \\$OPENAI_API_KEY or OPENAI_BASE_URL"):
        OpenAIBackend(MLRCopilot(backend="openai")).query("hi")


def test_streaming_tokens_and_retry_after_cut_stream(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("cut_stream")
    llm_env.push_text("streamed in pieces", usage=(9, 3))
    tokens: list[str] = []
    restarts = []

    def sink(text: str | None) -> None:
        if text is None:  # the backend says the reply restarts after the cut
            restarts.append(list(tokens))
            tokens.clear()
        else:
            tokens.append(text)

    reply = OpenAIBackend(fast_settings).query("hi", on_token=sink)
    assert reply.text == "streamed in pieces" and reply.attempts == 2
    assert restarts and "".join(restarts[0]).startswith("This reply")
    assert len(tokens) > 1 and "".join(tokens) == "streamed in pieces"
    assert reply.usage.total_tokens == 12
    assert llm_env.requests[-1]["json"]["stream"] is True


def test_async_retry_and_schema(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("429", retry_after=0.1)
    llm_env.push_fault("malformed_json")
    llm_env.push_json({"label": "a", "score": 5})
    reply = asyncio.run(OpenAIBackend(fast_settings).aquery("judge", schema=Verdict))
    assert reply.parsed == Verdict(label="a", score=5) and reply.attempts == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Sure! Here it is: {"a": {"b": 2}} Hope that helps.', {"a": {"b": 2}}),
    ],
)
def test_parse_json_object_tolerates_wrapping(text: str, expected: dict) -> None:
    assert parse_json_object(text) == expected


def test_parse_json_object_rejects_prose() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_json_object("I cannot answer that.")


def test_sync_calls_share_one_loop_one_client_and_one_connection(
        fast_settings: Any, chat_server: ChatServer) -> None:
    """Sync callers of async work (``run_sync``) reuse this thread's loop, so the backend builds
    one AsyncOpenAI client and its connection pool is reused; ``close()`` releases it."""
    from mlr_copilot_jupyter.aio import run_sync

    backend = OpenAIBackend(fast_settings)
    opened = []
    for n in range(3):
        chat_server.push_text(f"reply {n}")
        assert run_sync(backend.aquery("hi")).text == f"reply {n}"
        opened.append(chat_server.connections_opened)
    assert len(backend._async) == 1  # one loop, one client
    assert opened[0] == opened[1] == opened[2]  # keep-alive: later calls reuse the pool
    backend.close()
    assert len(backend._async) == 0
    deadline = time.monotonic() + 5
    while chat_server.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert chat_server.open_connections == 0  # the client closed its connection
    chat_server.push_text("after close")
    assert run_sync(backend.aquery("hi")).text == "after close"  # a new client on demand
    backend.close()


def test_run_sync_inside_a_running_loop_reuses_one_worker_loop() -> None:
    """In a Jupyter kernel (a loop already runs) every call goes to the same worker loop."""
    from mlr_copilot_jupyter.aio import run_sync

    async def loop_id() -> int:
        return id(asyncio.get_running_loop())

    async def kernel_cell() -> tuple[int, int, int]:
        return run_sync(loop_id()), run_sync(loop_id()), id(asyncio.get_running_loop())

    first, second, own = asyncio.run(kernel_cell())
    assert first == second != own
