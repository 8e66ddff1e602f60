"""Real local models: output caps, cut replies, think blocks and almost-JSON, HTTP 400s read for
what they say, context windows learned from the server, and progress events while streaming."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from pydantic import BaseModel

from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.errors import ConfigError, LLMError
from mlr_copilot_jupyter.llm.badrequest import classify_bad_request, shrink_messages
from mlr_copilot_jupyter.llm.context import discover_context_window
from mlr_copilot_jupyter.llm.openai_backend import OpenAIBackend, parse_json_object
from mlr_copilot_jupyter.llm.progress import progress_scope
from mlr_copilot_jupyter.llm.replies import clean_reply
from tests.support.chat_server import ChatServer
from tests.support.progress import Recorder

CUT_MARKER = "characters cut to fit the model's context window"


class Verdict(BaseModel):
    label: str
    score: int


class Step(BaseModel):
    plan: str
    code: str


def sent(srv: ChatServer, index: int = -1) -> dict:
    return srv.requests[index]["json"]


# -- output caps ------------------------------------------------------------------------------
def test_every_request_carries_its_kinds_cap(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    backend = OpenAIBackend(fast_settings)
    labels = ["plan-1", "draft-n3", "metric-confirm", "check", "", "hypothesis-2"]
    for label in labels:
        backend.query("hi", label=label)
    caps = [sent(llm_env, i)["max_tokens"] for i in range(len(labels))]
    assert caps == [1200, 2500, 300, 64, 2048, 700]
    backend.query("hi", label="plan-1", max_tokens=77)
    assert sent(llm_env)["max_tokens"] == 77


def test_configured_caps_merge_over_the_defaults(llm_env: ChatServer) -> None:
    settings = MLRCopilot(max_output_tokens=999, max_output_tokens_by_kind={"plan": 3000})
    backend = OpenAIBackend(settings)
    for label in ("plan-1", "draft-n2", "something-else"):
        backend.query("hi", label=label)
    assert [r["json"]["max_tokens"] for r in llm_env.requests] == [3000, 2500, 999]


def test_the_ceiling_bounds_every_kinds_cap(
    llm_env: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLR_COPILOT_MAX_OUTPUT_TOKENS lowers the larger caps to it and leaves smaller ones alone;
    a reply cut twice at it names that variable, not the per-kind setting it overrode."""
    monkeypatch.setenv("MLR_COPILOT_MAX_OUTPUT_TOKENS", "600")
    settings = MLRCopilot(backoff_base=0.05, backoff_max=0.2, request_timeout=5.0)
    backend = OpenAIBackend(settings)
    for label in ("plan-1", "draft-n3", "metric-confirm", "something-else"):
        backend.query("hi", label=label)
    assert [r["json"]["max_tokens"] for r in llm_env.requests] == [600, 600, 300, 600]
    for _ in range(2):
        llm_env.push_text("and so on and so", usage=(50, 600), finish_reason="length")
    with pytest.raises(LLMError) as info:
        backend.query("Write code", label="draft-n4")
    assert "600 tokens" in str(info.value) and "MLR_COPILOT_MAX_OUTPUT_TOKENS" in info.value.hint
    monkeypatch.setenv("MLR_COPILOT_MAX_OUTPUT_TOKENS", "lots")
    with pytest.raises(ConfigError, match="MLR_COPILOT_MAX_OUTPUT_TOKENS='lots'"):
        MLRCopilot().output_cap(kind="draft")


# -- replies cut at the cap -------------------------------------------------------------------
def test_cut_reply_is_reasked_once_for_a_shorter_answer(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_text("A long plan that goes on and on and", usage=(50, 1200), finish_reason="length")
    llm_env.push_text("A short complete plan.")
    reply = OpenAIBackend(fast_settings).query("Write a plan", label="plan-1")
    assert reply.text == "A short complete plan." and reply.attempts == 2
    reask = sent(llm_env)["messages"][-1]["content"]
    assert reask.startswith("Write a plan") and "cut off at the limit of 1200 output tokens" in reask


def test_reply_cut_twice_names_the_cap_and_the_setting(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    for _ in range(2):
        llm_env.push_text("and so on and so", usage=(50, 1200), finish_reason="length")
    with pytest.raises(LLMError) as info:
        OpenAIBackend(fast_settings).query("Write a plan", label="plan-1")
    message = str(info.value)
    assert "1200 tokens" in message and "MLRCopilot.max_output_tokens_by_kind['plan']" in message
    assert "\n" not in message and len(llm_env.requests) == 2


def test_cut_schema_reply_that_still_validates_is_kept(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_json({"label": "ok", "score": 3}, finish_reason="length")
    reply = OpenAIBackend(fast_settings).query("judge", schema=Verdict, label="review-x")
    assert reply.parsed == Verdict(label="ok", score=3) and len(llm_env.requests) == 1


# -- HTTP 400 read, not guessed ----------------------------------------------------------------
OPENAI_OVERFLOW = ("This model's maximum context length is 8192 tokens. However, your messages "
                   "resulted in 10412 tokens. Please reduce the length of the messages.")
LLAMACPP_OVERFLOW = ("the request exceeds the available context size, try increasing the context "
                     "size or enable context shift")


@pytest.mark.parametrize("message", [OPENAI_OVERFLOW, LLAMACPP_OVERFLOW])
def test_context_overflow_shrinks_the_prompt_but_not_the_schema(
    fast_settings: MLRCopilot, llm_env: ChatServer, message: str
) -> None:
    paper = "Section text. " * 2000  # 28,000 characters
    llm_env.push_fault("400", message=message)
    llm_env.push_json({"label": "ok", "score": 1})
    reply = OpenAIBackend(fast_settings).query(
        [{"role": "system", "content": "You judge."}, {"role": "user", "content": "Paper:\n" + paper}],
        schema=Verdict, label="review-a",
    )
    assert reply.parsed == Verdict(label="ok", score=1)
    first, second = (r["json"]["messages"] for r in llm_env.requests)
    assert len(second[1]["content"]) < len(first[1]["content"]) * 0.7
    assert CUT_MARKER in second[1]["content"] and second[1]["content"].startswith("Paper:\nSection")
    assert second[0] == first[0] and '"required"' in second[0]["content"]  # schema intact


def test_an_overflowing_step_prompt_loses_its_oldest_history_and_outputs_first(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    """The sections a step prompt is built from: the oldest search history goes first, then
    the longest execution output; the task brief and the parent's code stay whole."""
    from mlr_copilot_jupyter.llm.prompts import compile_prompt_to_md

    history = "\n".join(f"- n{i} (improve, parent n{i - 1}): idea {i} -> accuracy=0.{i:02d}"
                         for i in range(1, 80))
    brief, code = "Brief line.\n" * 300, "x = 1\n" * 400
    user = compile_prompt_to_md({"Task brief": brief, "Parent code": code,
                                 "Parent output": "epoch loss 0.5\n" * 500,
                                 "Search so far": history, "Rules for the code": "Be brief."})
    llm_env.push_fault("400", message=LLAMACPP_OVERFLOW)
    OpenAIBackend(fast_settings).query([{"role": "user", "content": user}], label="improve-n80")
    shrunk = llm_env.requests[1]["json"]["messages"][0]["content"]
    assert len(shrunk) < len(user) * 0.7
    assert brief.strip() in shrunk and code.strip() in shrunk and "Be brief." in shrunk
    assert "oldest search history cut" in shrunk
    assert "- n79 (improve" in shrunk and "- n1 (improve" not in shrunk  # newest kept
    assert shrunk.count("epoch loss") < 500  # the output lost its middle too


def test_refused_temperature_is_dropped_for_the_session(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("400", message="Unsupported value: 'temperature' does not support 0.7 with "
                       "this model. Only the default (1) value is supported.")
    backend = OpenAIBackend(fast_settings)
    assert backend.query("hi").text == "ok"
    backend.query("again")
    assert "temperature" in sent(llm_env, 0)
    assert "temperature" not in sent(llm_env, 1) and "temperature" not in sent(llm_env, 2)


def test_refused_max_tokens_becomes_max_completion_tokens(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("400", message="Unsupported parameter: 'max_tokens' is not supported with "
                       "this model. Use 'max_completion_tokens' instead.")
    backend = OpenAIBackend(fast_settings)
    backend.query("hi", label="plan-1")
    backend.query("again", label="hyde")
    assert sent(llm_env, 0)["max_tokens"] == 1200
    assert [sent(llm_env, i).get("max_completion_tokens") for i in (1, 2)] == [1200, 300]
    assert "max_tokens" not in sent(llm_env, 1) and "max_tokens" not in sent(llm_env, 2)


def test_other_400_quotes_the_server_without_walking_structured_modes(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("400", message="Invalid 'messages[0].content': string too short.")
    with pytest.raises(LLMError) as info:
        OpenAIBackend(fast_settings).query("judge", schema=Verdict)
    assert "(HTTP 400): Invalid 'messages[0].content': string too short." in str(info.value)
    assert len(llm_env.requests) == 1


def test_response_format_400_still_walks_down_the_structured_modes(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("400", message="'response_format.type' must be 'json_object' or 'text'")
    llm_env.push_tool_call("submit_verdict", {"label": "ok", "score": 2})
    reply = OpenAIBackend(fast_settings).query("judge", schema=Verdict)
    assert reply.parsed == Verdict(label="ok", score=2) and "tools" in sent(llm_env)


@pytest.mark.parametrize(
    ("message", "kind", "number"),
    [
        (OPENAI_OVERFLOW, "context", 8192),
        (LLAMACPP_OVERFLOW, "context", None),
        ("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
         "(3000 in the messages, 2000 in the completion).", "context", 4096),  # vLLM
        ("prompt is too long: 210000 tokens > 200000 maximum", "context", None),
        ("max_tokens is too large: 100000. This model supports at most 16384 completion tokens, "
         "whereas you provided 100000.", "cap", 16384),
        ("Unrecognized request argument supplied: stream_options", "stream_options", None),
        ("Invalid value for 'tool_choice': tool_choice is only allowed when 'tools' are specified.",
         "structured", None),
        ("Invalid 'messages[0].content': string too short.", "other", None),
    ],
)
def test_bad_request_messages_are_classified(message: str, kind: str, number: int | None) -> None:
    problem = classify_bad_request(message)
    assert (problem.kind, problem.number) == (kind, number)


def test_shrinking_cuts_the_longest_message_in_the_middle() -> None:
    messages = [{"role": "user", "content": "HEAD " + "x" * 5000 + " TAIL"},
                {"role": "user", "content": "short question"}]
    shrunk = shrink_messages(messages, 2000)
    text = shrunk[0]["content"]
    assert text.startswith("HEAD ") and text.endswith(" TAIL") and CUT_MARKER in text
    assert 1800 <= len(text) + len("short question") <= 2100
    assert shrunk[1] == messages[1] and messages[0]["content"].endswith("x TAIL")


# -- replies as real models give them ---------------------------------------------------------
QWEN_REPLY = """<think>
Okay, the user wants a plan. The regex should match digits, so \\d+ it is.
</think>

```json
{"plan": "Match the run id", "code": "import re
print(re.findall(r'\\d+\\s*\\(x\\)', s))",}
```"""


def test_think_block_fence_raw_newline_and_bad_escape_parse() -> None:
    assert parse_json_object(QWEN_REPLY) == {
        "plan": "Match the run id",
        "code": "import re\nprint(re.findall(r'\\d+\\s*\\(x\\)', s))",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # DeepSeek-R1 distills: the template opened <think>, the reply only closes it
        ("The user asks for JSON {not this}.\n</think>\n\n{\"a\": 1}", {"a": 1}),
        ("<thinking>Let me check {braces}.</thinking>Here you go:\n{\"a\": [1, 2,],}\nDone!", {"a": [1, 2]}),
        ('Sure! The result is {"a": "tab\there", "b": "C:\\Users\\me"} as asked.',
         {"a": "tab\there", "b": "C:\\Users\\me"}),
        # repair keeps the escapes that were valid
        ('{"a": "\\u00e9t\\u00e9 \\d", "b": "quote \\" inside",}', {"a": "été \\d", "b": 'quote " inside'}),
    ],
)
def test_parse_json_object_repairs_real_model_output(text: str, expected: dict) -> None:
    assert parse_json_object(text) == expected


def test_clean_reply_for_text_replies() -> None:
    assert clean_reply("<think>\nThe user wants one word.\n</think>\n\nready", fences=False) == "ready"
    assert clean_reply("```python\nprint(1)\n```") == "print(1)"
    assert clean_reply("<think>cut while reasoning, never closed") == ""


def test_schema_reply_with_think_block_parses_end_to_end(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_text(QWEN_REPLY)
    llm_env.push_text("<think>\nSimple.\n</think>\n\nready")
    backend = OpenAIBackend(fast_settings)
    reply = backend.query("plan it", schema=Step, label="draft-n1")
    assert reply.parsed is not None and "\\d+" in reply.parsed.code and len(llm_env.requests) == 1
    assert backend.query("Reply with the single word: ready", label="check").text == "ready"


# -- context windows ---------------------------------------------------------------------------
def test_small_llamacpp_window_fits_the_request_and_warns_once(
    fast_settings: MLRCopilot, llm_env: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    llm_env.n_ctx = 2048
    paper = "A sentence of the paper. " * 480  # 12,000 characters: more than 2048 tokens
    backend = OpenAIBackend(fast_settings)
    with caplog.at_level(logging.WARNING, logger="mlr_copilot"):
        backend.query("Summarise:\n" + paper, label="problem")
        backend.query("Summarise again:\n" + paper, label="problem")
    for request in llm_env.requests:
        body = request["json"]
        content = body["messages"][0]["content"]
        assert CUT_MARKER in content and len(content) < 12_000
        assert body["max_tokens"] < 1500
        assert len(content) // 4 + body["max_tokens"] <= 2048  # the server's own token count
    assert [p["path"] for p in llm_env.probes] == ["/props"]  # learned once
    assert len(backend.warnings) == 1 and "2,048-token context window" in backend.warnings[0]
    assert "llama-server" in backend.warnings[0]
    assert [r.levelname for r in caplog.records if "context window" in r.getMessage()] == ["WARNING"]


def test_window_with_room_for_the_prompt_lowers_only_the_cap(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.max_model_len = 2600  # vLLM
    prompt = "Write the training cell. " * 80  # 1,920 characters
    OpenAIBackend(fast_settings).query(prompt, label="draft-n1")
    body = sent(llm_env)
    assert body["messages"][0]["content"] == prompt
    assert 1500 < body["max_tokens"] < 2500


def test_discovery_reads_vllm_and_ollama(llm_env: ChatServer) -> None:
    assert discover_context_window(llm_env.url, "test-model") == (None, "")
    llm_env.max_model_len = 32768
    assert discover_context_window(llm_env.url, "test-model") == (32768, "vLLM")
    llm_env.max_model_len = None
    llm_env.ollama_context_length = 40960
    assert discover_context_window(llm_env.url, "test-model") == (4096, "Ollama")  # default num_ctx
    llm_env.ollama_num_ctx = 16384
    assert discover_context_window(llm_env.url, "test-model") == (16384, "Ollama")
    assert llm_env.probes[-1]["json"] == {"model": "test-model"}


def test_configured_window_skips_discovery(llm_env: ChatServer) -> None:
    llm_env.n_ctx = 100_000
    OpenAIBackend(MLRCopilot(context_window=1024)).query("x " * 2000, label="hyde")
    assert llm_env.probes == [] and CUT_MARKER in sent(llm_env)["messages"][0]["content"]


# -- streaming and progress -------------------------------------------------------------------
def test_a_listener_makes_calls_stream_and_sees_tokens_and_usage(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_text("streamed to the progress line", usage=(12, 6))
    recorder = Recorder()
    with progress_scope(recorder):
        reply = OpenAIBackend(fast_settings).query("hi", label="plan-1")
    assert reply.text == "streamed to the progress line"
    body = sent(llm_env)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    kinds = [event for event, _ in recorder.events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("token") >= 2
    call = recorder.calls[0]
    assert call.max_tokens == 1200 and call.kind == "plan"
    assert call.usage is not None and call.usage.completion_tokens == 6 and call.error is None


def test_without_a_listener_or_on_token_nothing_streams(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    OpenAIBackend(fast_settings).query("hi")
    assert "stream" not in sent(llm_env)
    settings = MLRCopilot(stream=False)
    with progress_scope(Recorder()):
        OpenAIBackend(settings).query("hi")
    assert "stream" not in sent(llm_env)


def test_retry_restarts_and_errors_end_the_call(fast_settings: MLRCopilot, llm_env: ChatServer) -> None:
    llm_env.push_fault("500")
    llm_env.push_text("second time")
    llm_env.push_fault("400", message="Invalid 'messages[0].content': string too short.")
    recorder = Recorder()
    backend = OpenAIBackend(fast_settings)
    with progress_scope(recorder):
        backend.query("hi")
        with pytest.raises(LLMError):
            backend.query("hi")
    assert [e for e, _ in recorder.events if e != "token"] == ["start", "restart", "end", "start", "end"]
    assert recorder.calls[1].error is not None and "string too short" in recorder.calls[1].error


def test_refused_stream_options_streams_without_them(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.push_fault("400", message="Unrecognized request argument supplied: stream_options")
    tokens: list[str | None] = []
    backend = OpenAIBackend(fast_settings)
    assert backend.query("hi", on_token=tokens.append).text == "ok"
    backend.query("again", on_token=tokens.append)
    assert [("stream_options" in r["json"], r["json"].get("stream")) for r in llm_env.requests] == [
        (True, True), (False, True), (False, True)]


def test_async_calls_stream_under_a_listener_and_fit_the_window(
    fast_settings: MLRCopilot, llm_env: ChatServer
) -> None:
    llm_env.n_ctx = 2048
    recorder = Recorder()

    async def two() -> None:
        backend = OpenAIBackend(fast_settings)
        with progress_scope(recorder):
            await asyncio.gather(*(backend.aquery("words " * 3000, label=f"plan-{i}") for i in range(2)))

    asyncio.run(two())
    assert [p["path"] for p in llm_env.probes] == ["/props"]
    assert all(r["json"]["stream"] is True for r in llm_env.requests)
    assert all(CUT_MARKER in r["json"]["messages"][0]["content"] for r in llm_env.requests)
    assert sorted(e for e, _ in recorder.events if e != "token") == ["end", "end", "start", "start"]
    assert json.dumps(recorder.calls[0].usage.model_dump())  # type: ignore[union-attr]
