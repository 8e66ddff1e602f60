"""Backend for any OpenAI-compatible chat-completions endpoint, through the ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``) so that one policy governs every server: retries
with exponential backoff and jitter on 429 (honouring Retry-After), 5xx, connection errors,
timeouts, empty replies and cut streams; structured output validated against a pydantic model and
re-asked with the validation error; usage summed per call and per :func:`usage_scope`.

The retry and repair logic is written once, as a generator that yields the I/O it needs
(``("call", kwargs)`` or ``("sleep", seconds)``); a sync and an async driver perform that I/O.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
import weakref
from collections.abc import Callable, Generator, Sequence
from typing import Any

import httpx
import openai
from pydantic import BaseModel, ValidationError

from ..config import MLRCopilot
from ..errors import ConfigError, LLMAuthError, LLMError, LLMModelNotFound, LLMSchemaError
from ..models import Usage
from . import prompts
from .base import Backend, Message, Reply, T, as_messages, record_usage, redact

log = logging.getLogger("mlr_copilot")

STRUCTURED_MODES = ("json_schema", "tool", "json_object", "prompt")


class TransientReplyError(Exception):
    """A reply that came back unusable in a way a retry may fix (no choices, cut stream)."""


#: Exceptions after which the same request is sent again.
RETRYABLE: tuple[type[BaseException], ...] = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APIConnectionError,  # includes APITimeoutError
    TransientReplyError,
)

Op = tuple[str, Any]


class OpenAIBackend(Backend):
    """Queries an OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp, LM Studio)."""

    name = "openai"
    is_llm = True

    def __init__(self, settings: MLRCopilot | None = None) -> None:
        super().__init__()
        self.settings = settings or MLRCopilot()
        self._mode: str | None = None  # structured mode that worked, learned in 'auto'
        self._client: openai.OpenAI | None = None
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[openai.AsyncOpenAI, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()

    # -- configuration ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.settings.base_url or "https://api.openai.com/v1"

    def _key(self) -> str:
        key = self.settings.api_key()
        if key:
            return key
        if self.settings.base_url:
            return "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key
        raise ConfigError(
            f"the openai backend needs ${self.settings.api_key_env} or OPENAI_BASE_URL",
            hint="set one, or use MLR_COPILOT_BACKEND=offline for the no-LLM engine",
        )

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._key(),
            "base_url": self.settings.base_url or None,
            "timeout": self.settings.request_timeout,
            "max_retries": 0,
        }

    def sync_client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai.OpenAI(**self._client_kwargs())
        return self._client

    def _async_client(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        pair = self._async.get(loop)
        if pair is None:
            pair = (
                openai.AsyncOpenAI(**self._client_kwargs()),
                asyncio.Semaphore(self.settings.concurrency),
            )
            self._async[loop] = pair
        return pair

    def describe(self) -> str:
        return f"LLM {self.settings.model} at {self.base_url}"

    # -- public interface -------------------------------------------------------------------
    def query(
        self,
        messages: Sequence[Message] | str,
        *,
        schema: type[T] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        on_token: Callable[[str | None], None] | None = None,
        label: str = "",
    ) -> Reply[T]:
        """Send one chat request and return its reply (sync)."""
        plan = self._plan(as_messages(messages), schema, model, temperature, on_token, label)
        op = next(plan)
        while True:
            try:
                if op[0] == "sleep":
                    time.sleep(op[1])
                    result: Any = None
                else:
                    result = self._call_sync(op[1], on_token)
            except Exception as exc:  # handed to the plan, which decides: retry or raise
                op = self._throw(plan, exc)
            else:
                op = self._send(plan, result)
            if op[0] == "done":
                return op[1]

    async def aquery(
        self,
        messages: Sequence[Message] | str,
        *,
        schema: type[T] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        on_token: Callable[[str | None], None] | None = None,
        label: str = "",
    ) -> Reply[T]:
        """Send one chat request and return its reply (async; at most ``concurrency`` at once)."""
        client, semaphore = self._async_client()
        plan = self._plan(as_messages(messages), schema, model, temperature, on_token, label)
        op = next(plan)
        while True:
            try:
                if op[0] == "sleep":
                    await asyncio.sleep(op[1])
                    result: Any = None
                else:
                    async with semaphore:
                        result = await self._call_async(client, op[1], on_token)
            except Exception as exc:
                op = self._throw(plan, exc)
            else:
                op = self._send(plan, result)
            if op[0] == "done":
                return op[1]

    # -- generator plumbing -----------------------------------------------------------------
    @staticmethod
    def _send(plan: Generator[Op, Any, Reply[Any]], value: Any) -> Op:
        try:
            return plan.send(value)
        except StopIteration as stop:
            return ("done", stop.value)

    @staticmethod
    def _throw(plan: Generator[Op, Any, Reply[Any]], exc: Exception) -> Op:
        try:
            return plan.throw(exc)
        except StopIteration as stop:
            return ("done", stop.value)

    # -- the policy, written once -----------------------------------------------------------
    def _plan(
        self,
        messages: list[Message],
        schema: type[BaseModel] | None,
        model: str | None,
        temperature: float | None,
        on_token: Callable[[str | None], None] | None,
        label: str,
    ) -> Generator[Op, Any, Reply[Any]]:
        settings = self.settings
        model = model or settings.model
        temperature = settings.temperature if temperature is None else temperature
        mode = self._mode or (
            STRUCTURED_MODES[0] if settings.structured_mode == "auto" else settings.structured_mode
        )
        if schema is not None:
            json_schema = schema.model_json_schema()
            messages = _with_schema_instructions(messages, json_schema)
        usage = Usage()
        started = time.monotonic()
        attempts = 0
        streamed = False
        transient_failures = 0
        repairs = 0
        while True:
            kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": temperature}
            if schema is not None:
                kwargs.update(_structured_kwargs(mode, schema, json_schema))
            attempts += 1
            if on_token is not None and streamed:
                on_token(None)  # the reply restarts: drop the partial text already shown
            streamed = on_token is not None
            call_started = time.monotonic()
            try:
                result = yield ("call", kwargs)
            except RETRYABLE as exc:
                transient_failures += 1
                if transient_failures > settings.max_retries:
                    raise self._gave_up(exc, attempts) from None
                delay = self._retry_delay(exc, transient_failures)
                log.info("LLM call failed (%s); retry %d in %.2fs", _short(exc), transient_failures, delay)
                yield ("sleep", delay)
                continue
            except openai.BadRequestError as exc:
                if schema is not None and settings.structured_mode == "auto":
                    next_mode = _downgrade(mode)
                    if next_mode is not None:
                        log.info("server rejected structured mode %s; trying %s", mode, next_mode)
                        mode = next_mode
                        continue
                raise LLMError(
                    f"{self.base_url} rejected the request (HTTP 400): {self._server_message(exc)}"
                ) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError):
                raise LLMAuthError(
                    f"{self.base_url} rejected the API key from ${settings.api_key_env} (HTTP 401/403)",
                    hint=f"check ${settings.api_key_env}, or unset it to use the offline engine",
                ) from None
            except openai.NotFoundError as exc:
                raise self._not_found(exc, model) from None
            except openai.APIStatusError as exc:
                raise LLMError(
                    f"{self.base_url} answered HTTP {exc.status_code}: {self._server_message(exc)}"
                ) from None
            text, call_usage = result
            log.debug("LLM %s%s: %d prompt + %d completion tokens in %.2fs", model,
                      f" [{label}]" if label else "", call_usage.prompt_tokens,
                      call_usage.completion_tokens, time.monotonic() - call_started)
            usage = usage + call_usage
            record_usage(call_usage, model=model, latency=time.monotonic() - call_started, label=label)
            self.meter.add(call_usage, model=model, latency=time.monotonic() - call_started, label=label)
            if schema is None:
                return Reply(text=text, usage=usage, latency=time.monotonic() - started,
                             model=model, backend=self.name, attempts=attempts)
            try:
                parsed = schema.model_validate(parse_json_object(text))
            except (ValueError, ValidationError) as exc:
                repairs += 1
                if repairs > settings.schema_retries:
                    raise LLMSchemaError(
                        f"{model} at {self.base_url} did not return valid {schema.__name__} JSON "
                        f"after {repairs} tries: {_short(exc)}",
                        hint="try a stronger model, or MLRCopilot.structured_mode='tool'",
                        raw=text,
                    ) from None
                messages = messages + [
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": prompts.schema_repair(str(exc))},
                ]
                continue
            if settings.structured_mode == "auto":
                self._mode = mode
            return Reply(text=text, parsed=parsed, usage=usage, latency=time.monotonic() - started,
                         model=model, backend=self.name, attempts=attempts)

    # -- errors and delays ------------------------------------------------------------------
    def _retry_delay(self, exc: BaseException, failure: int) -> float:
        settings = self.settings
        backoff = min(settings.backoff_max, settings.backoff_base * 2 ** (failure - 1))
        delay = random.uniform(backoff / 2, backoff)  # jitter spreads out concurrent retries
        server_says = _retry_after(exc)
        if server_says is not None:
            delay = max(delay, min(server_says, max(settings.backoff_max, 120.0)))
        return delay

    def _gave_up(self, exc: BaseException, attempts: int) -> LLMError:
        if isinstance(exc, openai.APITimeoutError):
            what = f"timed out after {self.settings.request_timeout:g} s"
            hint = "raise MLRCopilot.request_timeout or check the server's load"
        elif isinstance(exc, openai.APIConnectionError):
            what = "could not be reached"
            hint = "check OPENAI_BASE_URL and that the server is running"
        elif isinstance(exc, openai.RateLimitError):
            what = "kept rate-limiting (HTTP 429)"
            hint = "wait, lower MLRCopilot.concurrency or raise MLRCopilot.max_retries"
        elif isinstance(exc, openai.APIStatusError):
            what = f"kept failing (HTTP {exc.status_code})"
            hint = "the server is unhealthy; try again later"
        else:
            what = f"kept returning unusable replies ({_short(exc)})"
            hint = "check the server's logs"
        return LLMError(f"{self.base_url} {what}; gave up after {attempts} attempts", hint=hint)

    def _not_found(self, exc: openai.NotFoundError, model: str) -> LLMError:
        message = self._server_message(exc)
        if "model" in message.lower():
            served = self._served_models()
            hint = "set MLR_COPILOT_MODEL or %config MLRCopilot.model"
            if served:
                hint += "; served: " + ", ".join(served[:10])
            return LLMModelNotFound(f"model {model!r} is not served by {self.base_url}", hint=hint)
        return LLMError(
            f"{self.base_url} has no chat-completions endpoint (HTTP 404)",
            hint="OpenAI-compatible base URLs usually end in /v1",
        )

    def _served_models(self) -> list[str]:
        try:
            client = self.sync_client().with_options(timeout=5.0)
            return sorted(m.id for m in client.models.list())
        except Exception:  # best effort: only used to enrich an error message
            return []

    def _server_message(self, exc: openai.APIStatusError) -> str:
        body = exc.body
        message = ""
        if isinstance(body, dict):
            err = body.get("error", body)
            message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        message = message or str(exc)
        return redact(" ".join(message.split())[:300], self.settings.api_key())

    # -- I/O -------------------------------------------------------------------------------
    def _call_sync(self, kwargs: dict[str, Any], on_token: Callable[[str | None], None] | None) -> tuple[str, Usage]:
        client = self.sync_client()
        if on_token is None:
            return _unpack(client.chat.completions.create(**kwargs))
        stream = client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        collector = _StreamCollector(on_token)
        try:
            for chunk in stream:
                collector.add(chunk)
        except httpx.HTTPError as exc:
            raise TransientReplyError(f"stream cut: {exc}") from exc
        return collector.result()

    async def _call_async(
        self,
        client: openai.AsyncOpenAI,
        kwargs: dict[str, Any],
        on_token: Callable[[str | None], None] | None,
    ) -> tuple[str, Usage]:
        if on_token is None:
            return _unpack(await client.chat.completions.create(**kwargs))
        stream = await client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        collector = _StreamCollector(on_token)
        try:
            async for chunk in stream:
                collector.add(chunk)
        except httpx.HTTPError as exc:
            raise TransientReplyError(f"stream cut: {exc}") from exc
        return collector.result()


# -- helpers ---------------------------------------------------------------------------------
def _with_schema_instructions(messages: list[Message], json_schema: dict[str, Any]) -> list[Message]:
    """Put the schema in the system message too: many local servers ignore response_format."""
    instructions = prompts.schema_instructions(json_schema)
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        first["content"] = f"{first.get('content', '')}\n\n{instructions}"
        return [first, *messages[1:]]
    return [{"role": "system", "content": instructions}, *messages]


def _tool_name(schema: type[BaseModel]) -> str:
    return "submit_" + re.sub(r"[^A-Za-z0-9_]", "_", schema.__name__).lower()


def _structured_kwargs(mode: str, schema: type[BaseModel], json_schema: dict[str, Any]) -> dict[str, Any]:
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
            }
        }
    if mode == "tool":
        name = _tool_name(schema)
        return {
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": name,
                        "description": f"Submit the {schema.__name__}.",
                        "parameters": json_schema,
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": name}},
        }
    if mode == "json_object":
        return {"response_format": {"type": "json_object"}}
    return {}


def _downgrade(mode: str) -> str | None:
    index = STRUCTURED_MODES.index(mode)
    return STRUCTURED_MODES[index + 1] if index + 1 < len(STRUCTURED_MODES) else None


def _usage_of(raw: Any) -> Usage:
    if raw is None:
        return Usage(calls=1)
    prompt = int(getattr(raw, "prompt_tokens", 0) or 0)
    completion = int(getattr(raw, "completion_tokens", 0) or 0)
    total = int(getattr(raw, "total_tokens", 0) or 0) or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, calls=1)


def _unpack(completion: Any) -> tuple[str, Usage]:
    """Text of the first choice (or its tool-call arguments) and the usage."""
    choices = getattr(completion, "choices", None)
    if not choices:
        raise TransientReplyError("the reply had no choices")
    message = choices[0].message
    tool_calls = getattr(message, "tool_calls", None) or []
    if tool_calls:
        text = tool_calls[0].function.arguments or ""
    else:
        text = message.content or ""
    return text, _usage_of(getattr(completion, "usage", None))


class _StreamCollector:
    """Accumulates a streamed reply: content deltas, tool-call argument deltas, usage."""

    def __init__(self, on_token: Callable[[str | None], None]) -> None:
        self.on_token = on_token
        self.content: list[str] = []
        self.arguments: list[str] = []
        self.finished = False
        self.usage = Usage(calls=1)

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = _usage_of(chunk.usage)
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is not None and delta.content:
                self.content.append(delta.content)
                self.on_token(delta.content)
            for call in (getattr(delta, "tool_calls", None) or []) if delta is not None else []:
                if call.function is not None and call.function.arguments:
                    self.arguments.append(call.function.arguments)
            if choice.finish_reason:
                self.finished = True

    def result(self) -> tuple[str, Usage]:
        if not self.finished:
            raise TransientReplyError("the stream ended before the reply was finished")
        text = "".join(self.arguments) if self.arguments else "".join(self.content)
        return text, self.usage


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_json_object(text: str) -> Any:
    """Parse a JSON object from a reply, tolerating markdown fences and prose around it."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as first_error:
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(stripped[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise ValueError(f"reply is not JSON: {first_error}") from None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
