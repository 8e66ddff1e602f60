"""Backend for any OpenAI-compatible chat-completions endpoint, through the ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``) so that one policy governs every server: retries
with exponential backoff and jitter on 429 (honouring Retry-After), 5xx, connection errors,
timeouts, empty replies and cut streams; every request capped (``max_tokens`` per call kind) and
fitted to the model's context window; a reply cut at the cap re-asked once for a shorter answer;
an HTTP 400 read for what it says (prompt too long: shrink it; parameter refused: drop or rename
it for the session; structured output refused: the next mode); structured output validated
against a pydantic model and re-asked with the validation error; usage summed per call and per
:func:`usage_scope`; progress reported through :mod:`.progress`.

The policy is written once, as a generator that yields the I/O it needs (``("call", kwargs)`` or
``("sleep", seconds)``); a sync and an async driver perform that I/O.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import openai
from pydantic import BaseModel, ValidationError

from ..aio import close_on_loop
from ..config import MLRCopilot
from ..errors import ConfigError, LLMError, LLMSchemaError
from ..models import Usage
from . import progress, prompts
from .adapt import ServerProfile
from .badrequest import classify_bad_request
from .base import Backend, Message, Reply, T, as_messages, record_usage
from .failures import cut_twice, gave_up, retry_delay, server_message, short, status_error
from .replies import clean_reply, parse_json_object
from .schema import schema_for
from .wire import (
    STRUCTURED_MODES,
    Result,
    TransientReplyError,
    complete_async,
    complete_sync,
    downgrade,
    structured_kwargs,
)

__all__ = ["RETRYABLE", "STRUCTURED_MODES", "OpenAIBackend", "TransientReplyError", "parse_json_object"]

log = logging.getLogger("mlr_copilot")

#: Exceptions after which the same request is sent again.
RETRYABLE: tuple[type[BaseException], ...] = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APIConnectionError,  # includes APITimeoutError
    TransientReplyError,
)
#: Times one query shrinks its prompt after the server said it exceeds the context window.
MAX_SHRINKS = 3
Op = tuple[str, Any]
TokenSink = Callable[[str | None], None]


@dataclass
class _Query:
    """One query as the policy sees it."""

    messages: list[Message]
    schema: type[BaseModel] | None
    model: str
    temperature: float
    label: str
    cap: int
    stream: bool
    on_token: TokenSink | None
    call: progress.LLMCall

    @property
    def kind(self) -> str:
        return self.label.split("-", 1)[0]

    def on_content(self, text: str) -> None:
        if self.on_token is not None:
            self.on_token(text)
        self.call.token(text)


class OpenAIBackend(Backend):
    """Queries an OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp, LM Studio).

    ``warnings`` collects what a user should see once per backend (a context window smaller
    than the prompts need), for surfaces that print warnings.
    """

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
        self.server = ServerProfile(self.settings, self.base_url)
        self.warnings = self.server.warnings  # shown once by surfaces that print warnings

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

    def close(self) -> None:
        """Close the HTTP clients: the sync one and the async one of each event loop (one per
        thread, see :mod:`mlr_copilot_jupyter.aio`). Later calls build new ones."""
        if self._client is not None:
            self._client.close()
            self._client = None
        pairs, self._async = list(self._async.items()), weakref.WeakKeyDictionary()
        for loop, (client, _) in pairs:
            close_on_loop(loop, client.close())

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
        max_tokens: int | None = None,
        inputs: object = None,  # for the offline engine's solvers; a model reads the prompt
    ) -> Reply[T]:
        """Send one chat request and return its reply (sync)."""
        q = self._query(messages, schema, model, temperature, on_token, label, max_tokens)
        plan = self._plan(q)
        try:
            self.server.learn_window(q.model)
            op = next(plan)
            while op[0] != "done":
                try:
                    if op[0] == "sleep":
                        time.sleep(op[1])
                        result: Any = None
                    else:
                        result = self._call_sync(op[1], q)
                except Exception as exc:  # handed to the plan, which decides: retry or raise
                    op = self._throw(plan, exc)
                else:
                    op = self._send(plan, result)
        except BaseException as exc:  # KeyboardInterrupt too: the display must see the end
            q.call.end(error=short(exc))
            raise
        finally:
            plan.close()
        q.call.end(op[1].usage)
        return op[1]  # type: ignore[no-any-return]

    async def aquery(
        self,
        messages: Sequence[Message] | str,
        *,
        schema: type[T] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        on_token: Callable[[str | None], None] | None = None,
        label: str = "",
        max_tokens: int | None = None,
        inputs: object = None,  # for the offline engine's solvers; a model reads the prompt
    ) -> Reply[T]:
        """Send one chat request and return its reply (async; at most ``concurrency`` at once)."""
        q = self._query(messages, schema, model, temperature, on_token, label, max_tokens)
        plan = self._plan(q)
        try:
            if self.server.window_unknown(q.model):
                await asyncio.to_thread(self.server.learn_window, q.model)
            client, semaphore = self._async_client()
            op = next(plan)
            while op[0] != "done":
                try:
                    if op[0] == "sleep":
                        await asyncio.sleep(op[1])
                        result: Any = None
                    else:
                        async with semaphore:
                            result = await self._call_async(client, op[1], q)
                except Exception as exc:
                    op = self._throw(plan, exc)
                else:
                    op = self._send(plan, result)
        except BaseException as exc:  # CancelledError too
            q.call.end(error=short(exc))
            raise
        finally:
            plan.close()
        q.call.end(op[1].usage)
        return op[1]  # type: ignore[no-any-return]

    def _query(
        self,
        messages: Sequence[Message] | str,
        schema: type[BaseModel] | None,
        model: str | None,
        temperature: float | None,
        on_token: TokenSink | None,
        label: str,
        max_tokens: int | None,
    ) -> _Query:
        settings = self.settings
        model = model or settings.model
        cap = max_tokens or settings.output_cap(label.split("-", 1)[0])
        stream = settings.stream and (on_token is not None or progress.listening())
        return _Query(
            as_messages(messages), schema, model,
            settings.temperature if temperature is None else temperature,
            label, cap, stream, on_token, progress.begin(label, model=model, max_tokens=cap),
        )

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
    def _plan(self, q: _Query) -> Generator[Op, Any, Reply[Any]]:
        settings = self.settings
        auto = settings.structured_mode == "auto"
        mode = self._mode or (STRUCTURED_MODES[0] if auto else settings.structured_mode)
        json_schema = schema_for(q.schema) if q.schema is not None else None
        instructions = prompts.schema_instructions(json_schema) if json_schema is not None else ""
        messages, cap = q.messages, q.cap
        usage = Usage()
        started = time.monotonic()
        attempts = transient_failures = repairs = shrinks = cuts = 0
        while True:
            messages, cap = self.server.fit(q.model, q.label, messages, cap, len(instructions))
            q.call.max_tokens = cap
            sent = _with_instructions(messages, instructions)
            kwargs = self.server.kwargs(q.model, sent, cap, q.temperature, q.stream)
            if q.schema is not None and json_schema is not None:
                kwargs.update(structured_kwargs(mode, q.schema, json_schema))
            attempts += 1
            if attempts > 1:
                q.call.restart()
                if q.on_token is not None and q.stream:
                    q.on_token(None)  # the reply restarts: drop the partial text already shown
            call_started = time.monotonic()
            try:
                result: Result = yield ("call", kwargs)
            except RETRYABLE as exc:
                transient_failures += 1
                if transient_failures > settings.max_retries:
                    raise gave_up(settings, self.base_url, exc, attempts) from None
                delay = retry_delay(settings, exc, transient_failures)
                log.info("LLM call failed (%s); retry %d in %.2fs", short(exc), transient_failures, delay)
                yield ("sleep", delay)
                continue
            except openai.BadRequestError as exc:
                message = self._server_message(exc)
                problem = classify_bad_request(message)
                if problem.kind == "context" and shrinks < MAX_SHRINKS:
                    shrunk = self.server.after_overflow(q.model, messages, problem.number)
                    if shrunk is not None:
                        shrinks += 1
                        messages = shrunk
                        continue
                next_mode = downgrade(mode) if problem.kind == "structured" else None
                if next_mode is not None and q.schema is not None and auto:
                    log.info("server rejected structured mode %s; trying %s", mode, next_mode)
                    mode = next_mode
                    continue
                if self.server.adapt(problem, cap, q.stream):
                    continue
                raise LLMError(f"{self.base_url} rejected the request (HTTP 400): {message}") from None
            except openai.APIStatusError as exc:
                raise status_error(settings, self.base_url, exc, q.model, self._served_models) from None
            text, call_usage, finish = result
            latency = time.monotonic() - call_started
            self.server.calibrate(sent, call_usage)
            log.debug("LLM %s%s: %d prompt + %d completion tokens in %.2fs (%s)", q.model,
                      f" [{q.label}]" if q.label else "", call_usage.prompt_tokens,
                      call_usage.completion_tokens, latency, finish or "no finish reason")
            usage = usage + call_usage
            record_usage(call_usage, model=q.model, latency=latency, label=q.label)
            self.meter.add(call_usage, model=q.model, latency=latency, label=q.label)
            cut = finish == "length"
            parsed: BaseModel | None = None
            if q.schema is None:
                if cut:
                    messages = self._reask_shorter(q, messages, cap, cuts)
                    cuts += 1
                    continue
                text = clean_reply(text, fences=False)
            else:
                try:
                    parsed = q.schema.model_validate(parse_json_object(text))
                except (ValueError, ValidationError) as exc:
                    if cut:
                        messages = self._reask_shorter(q, messages, cap, cuts)
                        cuts += 1
                        continue
                    repairs += 1
                    if repairs > settings.schema_retries:
                        raise LLMSchemaError(
                            f"{q.model} at {self.base_url} did not return valid {q.schema.__name__} "
                            f"JSON after {repairs} tries: {short(exc)}",
                            hint="try a stronger model, or MLRCopilot.structured_mode='tool'",
                            raw=text,
                        ) from None
                    messages = messages + [
                        {"role": "assistant", "content": clean_reply(text)},
                        {"role": "user", "content": prompts.schema_repair(str(exc))},
                    ]
                    continue
                if cut:
                    log.info("the %s reply was cut at %d tokens but is complete JSON: kept", q.kind, cap)
                if auto:
                    self._mode = mode
                text = clean_reply(text)
            if q.on_token is not None and not q.stream:
                q.on_token(text)
            return Reply(text=text, parsed=parsed, usage=usage, latency=time.monotonic() - started,
                         model=q.model, backend=self.name, attempts=attempts)

    def _reask_shorter(self, q: _Query, messages: list[Message], cap: int, cuts: int) -> list[Message]:
        """The messages that ask again for a shorter answer, or the error after a second cut."""
        if cuts >= 1:
            raise cut_twice(self.settings, q.kind, q.model, cap, q.cap)
        log.info("the %s reply was cut at %d tokens: asking for a shorter one", q.kind or "query", cap)
        return prompts.with_cut_note(messages, cap)

    # -- errors and delays ------------------------------------------------------------------
    def _served_models(self) -> list[str]:
        try:
            client = self.sync_client().with_options(timeout=5.0)
            return sorted(m.id for m in client.models.list())
        except Exception:  # best effort: only used to enrich an error message
            return []

    def _server_message(self, exc: openai.APIStatusError) -> str:
        return server_message(exc, self.settings.api_key())

    # -- I/O -------------------------------------------------------------------------------
    def _call_sync(self, kwargs: dict[str, Any], q: _Query) -> Result:
        return complete_sync(self.sync_client(), kwargs, q.on_content, q.call.token)

    async def _call_async(self, client: openai.AsyncOpenAI, kwargs: dict[str, Any], q: _Query) -> Result:
        return await complete_async(client, kwargs, q.on_content, q.call.token)


def _with_instructions(messages: list[Message], instructions: str) -> list[Message]:
    """Put the schema in the system message too: many local servers ignore response_format.

    Added to each request rather than to the conversation, so prompt cutting never touches it.
    """
    if not instructions:
        return messages
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        first["content"] = f"{first.get('content', '')}\n\n{instructions}"
        return [first, *messages[1:]]
    return [{"role": "system", "content": instructions}, *messages]

