"""The chat-completions wire format: request parameters for structured output, and the text,
usage and finish reason read back from a completion or a stream of chunks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import openai
from pydantic import BaseModel

from ..models import Usage

STRUCTURED_MODES = ("json_schema", "tool", "json_object", "prompt")


class TransientReplyError(Exception):
    """A reply that came back unusable in a way a retry may fix (no choices, cut stream)."""


def tool_name(schema: type[BaseModel]) -> str:
    return "submit_" + re.sub(r"[^A-Za-z0-9_]", "_", schema.__name__).lower()


def structured_kwargs(mode: str, schema: type[BaseModel], json_schema: dict[str, Any]) -> dict[str, Any]:
    """The request parameters that ask for ``schema`` in structured ``mode``."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
            }
        }
    if mode == "tool":
        name = tool_name(schema)
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


def downgrade(mode: str) -> str | None:
    """The next structured mode to try after the server refused ``mode``."""
    index = STRUCTURED_MODES.index(mode)
    return STRUCTURED_MODES[index + 1] if index + 1 < len(STRUCTURED_MODES) else None


def usage_of(raw: Any) -> Usage:
    if raw is None:
        return Usage(calls=1)
    prompt = int(getattr(raw, "prompt_tokens", 0) or 0)
    completion = int(getattr(raw, "completion_tokens", 0) or 0)
    total = int(getattr(raw, "total_tokens", 0) or 0) or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, calls=1)


#: What one request returned: text, usage, finish reason ("stop", "length", "tool_calls", ...).
Result = tuple[str, Usage, str]


def unpack(completion: Any) -> Result:
    """Text of the first choice (or its tool-call arguments), the usage and the finish reason."""
    choices = getattr(completion, "choices", None)
    if not choices:
        raise TransientReplyError("the reply had no choices")
    message = choices[0].message
    tool_calls = getattr(message, "tool_calls", None) or []
    if tool_calls:
        text = tool_calls[0].function.arguments or ""
    else:
        text = message.content or ""
    finish = str(getattr(choices[0], "finish_reason", "") or "")
    return text, usage_of(getattr(completion, "usage", None)), finish


class StreamCollector:
    """Accumulates a streamed reply: content and tool-call argument deltas, finish reason, usage.

    Content deltas go to ``on_token``; reasoning deltas (``reasoning_content``, sent by llama.cpp
    and vLLM for thinking models) and tool-call argument deltas go to ``on_progress`` only, so a
    display sees the call advance without showing them as reply text.
    """

    def __init__(
        self,
        on_token: Callable[[str], None],
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.on_token = on_token
        self.on_progress = on_progress
        self.content: list[str] = []
        self.arguments: list[str] = []
        self.finish_reason = ""
        self.usage = Usage(calls=1)

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = usage_of(chunk.usage)
        for choice in chunk.choices or []:
            delta = choice.delta
            if delta is not None:
                if delta.content:
                    self.content.append(delta.content)
                    self.on_token(delta.content)
                reasoning = getattr(delta, "reasoning_content", None)
                if reasoning and self.on_progress is not None:
                    self.on_progress(str(reasoning))
                for call in getattr(delta, "tool_calls", None) or []:
                    if call.function is not None and call.function.arguments:
                        self.arguments.append(call.function.arguments)
                        if self.on_progress is not None:
                            self.on_progress(call.function.arguments)
            if choice.finish_reason:
                self.finish_reason = str(choice.finish_reason)

    def result(self) -> Result:
        if not self.finish_reason:
            raise TransientReplyError("the stream ended before the reply was finished")
        text = "".join(self.arguments) if self.arguments else "".join(self.content)
        return text, self.usage, self.finish_reason


# A streamed response is closed in ``finally``: on Ctrl-C (or task cancellation) the connection
# goes at once instead of the server generating on into a dropped socket.
def complete_sync(
    client: openai.OpenAI,
    kwargs: dict[str, Any],
    on_token: Callable[[str], None],
    on_progress: Callable[[str], None] | None = None,
) -> Result:
    """Send one chat-completions request (streamed when ``kwargs["stream"]``) and read it back."""
    if not kwargs.get("stream"):
        return unpack(client.chat.completions.create(**kwargs))
    stream = client.chat.completions.create(**kwargs)
    collector = StreamCollector(on_token, on_progress)
    try:
        for chunk in stream:
            collector.add(chunk)
    except httpx.HTTPError as exc:
        raise TransientReplyError(f"stream cut: {exc}") from exc
    finally:
        stream.close()
    return collector.result()


async def complete_async(
    client: openai.AsyncOpenAI,
    kwargs: dict[str, Any],
    on_token: Callable[[str], None],
    on_progress: Callable[[str], None] | None = None,
) -> Result:
    """The async twin of :func:`complete_sync`."""
    if not kwargs.get("stream"):
        return unpack(await client.chat.completions.create(**kwargs))
    stream = await client.chat.completions.create(**kwargs)
    collector = StreamCollector(on_token, on_progress)
    try:
        async for chunk in stream:
            collector.add(chunk)
    except httpx.HTTPError as exc:
        raise TransientReplyError(f"stream cut: {exc}") from exc
    finally:
        await stream.close()
    return collector.result()

