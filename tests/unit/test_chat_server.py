"""Tests of the local OpenAI-compatible chat server, driven through the real ``openai`` SDK."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from tests.support import chat_server as _chat_server_module
from tests.support import openai_client as _openai_client
from tests.support.chat_server import MALFORMED_JSON, ChatServer, slow_streams
from tests.support.load import time_bound
from tests.support.openai_client import MESSAGES, MODEL, ask

chat_server = _chat_server_module.chat_server  # the fixture
client = _openai_client.client  # the fixture


def _stream(client: openai.OpenAI, **kw: Any) -> openai.Stream[ChatCompletionChunk]:
    kw.setdefault("model", MODEL)
    kw.setdefault("messages", MESSAGES)
    resp = client.chat.completions.create(stream=True, **kw)
    assert isinstance(resp, openai.Stream)
    return resp


def test_text_reply_with_usage(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_text("hello", usage=(10, 5))
    resp = ask(client)
    assert resp.object == "chat.completion"
    assert resp.model == MODEL
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "hello"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (
        10,
        5,
        15,
    )


def test_default_reply_and_estimated_usage(client: openai.OpenAI) -> None:
    resp = ask(client)
    assert resp.choices[0].message.content == "ok"
    assert resp.usage is not None
    text_len = sum(len(str(m["content"])) for m in MESSAGES)
    assert resp.usage.prompt_tokens == max(1, text_len // 4)
    assert resp.usage.completion_tokens >= 1


def test_json_reply(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_json({"a": 1, "b": [1, 2]})
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "thing",
            "schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
        },
    }
    resp = ask(client, response_format=schema)
    assert json.loads(resp.choices[0].message.content or "") == {"a": 1, "b": [1, 2]}
    assert chat_server.requests[-1]["json"]["response_format"] == schema


def test_tool_call_reply(chat_server: ChatServer, client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "run_cell",
                "parameters": {"type": "object", "properties": {"code": {"type": "string"}}},
            },
        }
    ]
    chat_server.push_tool_call("run_cell", {"code": "print(1)"})
    chat_server.push_tool_call("run_cell", '{"code": "unterminated')
    resp = ask(client, tools=tools)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "run_cell"
    assert json.loads(call.function.arguments) == {"code": "print(1)"}
    assert chat_server.requests[-1]["json"]["tools"] == tools

    bad = ask(client, tools=tools).choices[0].message.tool_calls
    assert bad is not None and bad[0].type == "function"
    assert bad[0].function.arguments == '{"code": "unterminated'
    with pytest.raises(ValueError):
        json.loads(bad[0].function.arguments)


def test_responder_used_when_queue_empty(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.responder = lambda req: f"echo:{req['messages'][-1]['content']}"
    assert ask(client).choices[0].message.content == "echo:Say hello."
    chat_server.responder = lambda req: {
        "content": None,
        "tool_calls": [{"name": "f", "arguments": {"x": 1}}],
    }
    msg = ask(client).choices[0].message
    assert msg.tool_calls is not None
    f_call = msg.tool_calls[0]
    assert f_call.type == "function" and f_call.function.name == "f"
    chat_server.push_text("queued first")
    assert ask(client).choices[0].message.content == "queued first"


def test_responder_exception_becomes_500(chat_server: ChatServer, client: openai.OpenAI) -> None:
    def boom(req: dict[str, object]) -> str:
        raise RuntimeError("bad responder")

    chat_server.responder = boom
    with pytest.raises(openai.InternalServerError, match="bad responder"):
        ask(client)
    assert len(chat_server.errors) == 1


def test_streaming_reassembles(chat_server: ChatServer, client: openai.OpenAI) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    chat_server.push_text(text, usage=(7, 3))
    stream = _stream(client, stream_options={"include_usage": True})
    parts: list[str] = []
    finish = None
    usage = None
    n_chunks = 0
    for chunk in stream:
        n_chunks += 1
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(parts) == text
    assert n_chunks > 3
    assert finish == "stop"
    assert usage is not None and usage.total_tokens == 10


def test_streaming_tool_call(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_tool_call("f", {"x": [1, 2, 3]})
    args = ""
    name = None
    finish = None
    for chunk in _stream(client):
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                name = name or (tc.function.name if tc.function else None)
                args += (tc.function.arguments or "") if tc.function else ""
            finish = choice.finish_reason or finish
    assert name == "f"
    assert json.loads(args) == {"x": [1, 2, 3]}
    assert finish == "tool_calls"


def test_cut_stream_raises(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("cut_stream")
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in _stream(client):
            for choice in chunk.choices:
                got.append(choice.delta.content or "")
    assert "".join(got)  # some content arrived before the cut


def test_cut_non_stream_raises(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("cut_stream")
    with pytest.raises(openai.APIConnectionError):
        ask(client)


def test_429_rate_limit(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("429", retry_after=0.2)
    with pytest.raises(openai.RateLimitError) as ei:
        ask(client)
    err = ei.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "0.2"
    assert err.response.headers["retry-after-ms"] == "200"
    assert err.code == "rate_limit_exceeded"


def test_429_then_retry_succeeds(chat_server: ChatServer) -> None:
    chat_server.push_fault("429", retry_after=0.05)
    chat_server.push_text("after retry")
    with openai.OpenAI(base_url=chat_server.url, api_key="sk-test", max_retries=1) as c:
        assert ask(c).choices[0].message.content == "after retry"
    assert len(chat_server.requests) == 2


@pytest.mark.parametrize("code", ["500", "503"])
def test_server_errors(chat_server: ChatServer, client: openai.OpenAI, code: str) -> None:
    chat_server.push_fault(code)
    with pytest.raises(openai.InternalServerError) as ei:
        ask(client)
    assert ei.value.status_code == int(code)
    assert isinstance(ei.value.body, dict) and ei.value.body.get("message")


def test_slow_within_timeout_answers_with_then(
    chat_server: ChatServer, client: openai.OpenAI
) -> None:
    chat_server.push_fault("slow", delay=0.2, then="late but fine")
    chat_server.push_text("second")
    t0 = time.monotonic()
    assert ask(client, timeout=5).choices[0].message.content == "late but fine"
    assert time.monotonic() - t0 >= 0.2
    assert ask(client).choices[0].message.content == "second"


def test_stop_does_not_wait_for_slow_handler() -> None:
    srv = ChatServer().start()
    srv.push_fault("slow", delay=30)
    c = openai.OpenAI(base_url=srv.url, api_key="sk-test", max_retries=0, timeout=10)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            ask(c)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    deadline = time.monotonic() + 2
    while not srv.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.requests
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < time_bound(1.0, below=30)
    t.join(timeout=3)
    assert not t.is_alive()
    assert errors and isinstance(errors[0], openai.APIConnectionError)
    c.close()


def test_401_fault_and_api_key(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("401")
    with pytest.raises(openai.AuthenticationError) as ei:
        ask(client)
    assert ei.value.code == "invalid_api_key"
    assert ask(client).choices[0].message.content == "ok"  # one-off

    chat_server.api_key = "sk-right"
    chat_server.push_text("authorized")
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key provided"):
        ask(client)
    assert chat_server.pending == 1  # auth failure does not consume the queue
    with openai.OpenAI(base_url=chat_server.url, api_key="sk-right", max_retries=0) as good:
        assert ask(good).choices[0].message.content == "authorized"


def test_unknown_model_and_404_fault(chat_server: ChatServer, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as ei:
        ask(client, model="gpt-nope")
    assert ei.value.code == "model_not_found"
    assert "The model `gpt-nope` does not exist" in str(ei.value)

    chat_server.push_fault("404")
    with pytest.raises(openai.NotFoundError):
        ask(client)

    chat_server.model_names = {MODEL, "other"}
    assert ask(client, model="other").model == "other"
    assert sorted(m.id for m in client.models.list()) == ["other", MODEL]


def test_empty_choices(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("empty_choices")
    resp = ask(client)
    assert resp.choices == []


def test_malformed_json(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("malformed_json")
    content = ask(client, response_format={"type": "json_object"}).choices[0].message.content
    assert content == MALFORMED_JSON
    with pytest.raises(ValueError):
        json.loads(content or "")


def test_reset_connection(chat_server: ChatServer, client: openai.OpenAI) -> None:
    chat_server.push_fault("reset")
    with pytest.raises(openai.APIConnectionError):
        ask(client)
    assert ask(client).choices[0].message.content == "ok"  # server keeps working


def test_recorded_requests(chat_server: ChatServer, client: openai.OpenAI) -> None:
    ask(client, temperature=0.1)
    (req,) = chat_server.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["json"]["messages"] == MESSAGES
    assert req["json"]["model"] == MODEL
    assert req["json"]["temperature"] == 0.1
    assert req["headers"]["authorization"] == "Bearer sk-test"
    assert isinstance(req["time"], float)
    chat_server.push_text("x")
    chat_server.reset()
    assert chat_server.requests == [] and chat_server.pending == 0


def test_latency_and_concurrency(chat_server: ChatServer) -> None:
    chat_server.latency = 0.3
    for i in range(5):
        chat_server.push_text(f"r{i}")

    async def main() -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=chat_server.url, api_key="sk-test", max_retries=0
        ) as ac:
            resps = await asyncio.gather(
                *(ac.chat.completions.create(model=MODEL, messages=MESSAGES) for _ in range(5))  # type: ignore[arg-type]
            )
        return [r.choices[0].message.content or "" for r in resps]

    t0 = time.monotonic()
    contents = asyncio.run(main())
    elapsed = time.monotonic() - t0
    assert sorted(contents) == [f"r{i}" for i in range(5)]  # each item popped exactly once
    assert 0.3 <= elapsed < time_bound(1.0, below=1.5)  # one after the other: 1.5 s


def test_raw_http_shapes(chat_server: ChatServer) -> None:
    """Protocol shape checked without the SDK: SSE framing ends with [DONE]."""
    chat_server.push_text("abc def")
    with httpx.Client() as h:
        r = h.post(
            chat_server.url + "/chat/completions",
            json={"model": MODEL, "messages": MESSAGES, "stream": True},
        )
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [e for e in r.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    first = json.loads(events[0][len("data: ") :])
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"]["role"] == "assistant"


def test_context_manager_stops() -> None:
    with ChatServer() as srv:
        url = srv.url
        with openai.OpenAI(base_url=url, api_key="k", max_retries=0) as c:
            assert ask(c).choices[0].message.content == "ok"
    with (
        openai.OpenAI(base_url=url, api_key="k", max_retries=0, timeout=2) as c,
        pytest.raises(openai.APIConnectionError),
    ):
        ask(c)


def test_fresh_is_a_new_server_on_the_same_port() -> None:
    """What the ``chat_server`` fixture does between tests: nothing scripted, recorded or set
    survives, and a client of the earlier test (its URL) finds the server gone, even mid-request."""
    with ChatServer() as srv:
        port, old = srv.port, srv.fresh().url
        srv.model_names, srv.api_key, srv.n_ctx = {"m"}, "sk-x", 10
        srv.responder = lambda body: "scripted"
        slow_streams(srv)
        with openai.OpenAI(base_url=old, api_key="sk-x", max_retries=0) as c:
            assert ask(c, model="m").choices[0].message.content == "scripted"
        srv.push_text("left over")
        srv.push_fault("slow", delay=30)
        straggler = openai.OpenAI(base_url=old, api_key="sk-x", max_retries=0, timeout=10)
        errors: list[BaseException] = []

        def call() -> None:
            try:
                ask(straggler, model="m")  # takes "left over"; the next one sleeps 30 s
                ask(straggler, model="m")
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while len(srv.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(srv.requests) == 3
        srv.fresh()
        thread.join(timeout=time_bound(2, below=30))  # the sleeping handler gave up
        assert not thread.is_alive() and isinstance(errors[0], openai.APIConnectionError)
        straggler.close()
        assert srv.port == port and srv.url != old and srv.url.endswith("/v1")
        assert (srv.requests, srv.probes, srv.errors, srv.pending) == ([], [], [], 0)
        assert srv.connections_opened == 0 and srv.open_connections == 0
        assert (srv.model_names, srv.api_key, srv.n_ctx, srv.responder) == (
            {MODEL}, None, None, None)
        assert "slow_streams" not in vars(srv)
        with openai.OpenAI(base_url=old, api_key="k", max_retries=0, timeout=5) as c:
            with pytest.raises(openai.APIConnectionError):
                ask(c)  # the earlier test's URL: dropped unanswered, not recorded
            assert srv.requests == []
        with openai.OpenAI(base_url=srv.url, api_key="k", max_retries=0) as c:
            assert ask(c).choices[0].message.content == "ok"
        assert [r["path"] for r in srv.requests] == ["/v1/chat/completions"]
