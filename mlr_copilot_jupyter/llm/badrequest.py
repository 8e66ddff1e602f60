"""HTTP 400 read, not guessed: what the server's message says was wrong, and prompt shrinking.

Servers word the same problem differently (OpenAI, vLLM, llama.cpp, Ollama, LM Studio); the
patterns below are taken from their real messages. :func:`classify_bad_request` names the problem
so the backend can adapt (shrink the prompt, drop or rename a parameter, change structured mode)
or fail with the server's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .base import Message

_CONTEXT = re.compile(
    r"context_length_exceeded|maximum context length|exceeds? the available context size"
    r"|exceed_context_size|context size|context window|too many tokens|prompt is too long"
    r"|input is too long|reduce the length of the messages|tokens exceeds? the",
    re.IGNORECASE,
)
_WINDOW = re.compile(
    r"maximum context length is (\d[\d,]*)|\bn_ctx\W+(\d+)|context (?:size|window|length)"
    r"(?: of| is|:)? (\d[\d,]*)",
    re.IGNORECASE,
)
_CAP_TOO_LARGE = re.compile(
    r"max_(?:completion_)?tokens.{0,40}too large.{0,120}?at most (\d[\d,]*)", re.IGNORECASE | re.DOTALL
)
_UNSUPPORTED = re.compile(r"unsupported|not support|only the default|does not support|unrecognized|"
                          r"not allowed|extra inputs are not permitted|unknown (?:field|parameter)",
                          re.IGNORECASE)
_STRUCTURED = re.compile(r"response_format|json_schema|json_object|\btools?\b|tool_choice|"
                         r"function call", re.IGNORECASE)


@dataclass(frozen=True)
class BadRequest:
    """What a 400 was about: ``kind`` is one of ``context``, ``cap``, ``stream_options``,
    ``temperature``, ``max_tokens``, ``structured`` or ``other``; ``number`` is a window or cap
    the message states, when it states one."""

    kind: str
    number: int | None = None


def classify_bad_request(message: str) -> BadRequest:
    """Classify the message of an HTTP 400 (see :class:`BadRequest`)."""
    cap = _CAP_TOO_LARGE.search(message)
    if cap:
        return BadRequest("cap", _int(cap.group(1)))
    if _CONTEXT.search(message):
        window = _WINDOW.search(message)
        number = next((_int(g) for g in window.groups() if g), None) if window else None
        return BadRequest("context", number)
    lowered = message.lower()
    if "stream_options" in lowered:
        return BadRequest("stream_options")
    if "temperature" in lowered and _UNSUPPORTED.search(message):
        return BadRequest("temperature")
    if "max_tokens" in lowered and ("max_completion_tokens" in lowered or _UNSUPPORTED.search(message)):
        return BadRequest("max_tokens")
    if _STRUCTURED.search(message):
        return BadRequest("structured")
    return BadRequest("other")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def message_chars(messages: list[Message]) -> int:
    """Characters of text in the messages (what token estimates are made from)."""
    return sum(len(_text(m.get("content"))) for m in messages)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def cut_marker(chars: int) -> str:
    return f"\n[… {chars:,} characters cut to fit the model's context window …]\n"


#: Top-level prompt sections (``# Title`` from :func:`.prompts.compile_prompt_to_md`) that go
#: first when a prompt must shrink: the search history loses its oldest lines, outputs their
#: middle. Only then are the longest messages cut as a whole.
HISTORY_SECTIONS = ("Search so far",)
OUTPUT_SECTIONS = ("Parent output", "Output", "Execution output", "Outputs")
_SECTION = re.compile(r"^# (?P<title>[^\n]+)\n", re.MULTILINE)


def _shrink_sections(text: str, excess: int, keep: int) -> str:
    """``text`` with up to ``excess`` characters taken from its history and output sections."""
    heads = list(_SECTION.finditer(text))
    spans = [(m.group("title").strip(), m.end(), heads[i + 1].start() if i + 1 < len(heads)
              else len(text)) for i, m in enumerate(heads)]
    order = ([s for s in spans if s[0] in HISTORY_SECTIONS]
             + sorted((s for s in spans if s[0] in OUTPUT_SECTIONS), key=lambda s: s[1] - s[2]))
    cuts: dict[int, str] = {}
    for title, start, end in order:
        if excess <= 0:
            break
        body = text[start:end]
        if len(body) <= keep + 80:
            continue
        take = min(excess + 80, len(body) - keep)
        if title in HISTORY_SECTIONS:  # the oldest lines go: keep the most recent ones
            tail = body[take:]
            tail = tail[tail.find("\n") + 1:] if "\n" in tail[:-1] else tail
            marker = f"[… {len(body) - len(tail):,} characters of the oldest search history cut " \
                     "to fit the model's context window …]\n"
            cuts[start] = "\n" + marker + tail
        else:
            cuts[start] = _cut_middle(body, take)
        excess -= len(body) - len(cuts[start])
    for _, start, end in sorted((s for s in spans if s[1] in cuts), key=lambda s: -s[1]):
        text = text[:start] + cuts[start] + text[end:]
    return text


def shrink_messages(messages: list[Message], target_chars: int, *, keep: int = 400) -> list[Message]:
    """Messages whose text totals about ``target_chars``.

    First the oldest search history and the longest execution outputs go (see
    :data:`HISTORY_SECTIONS`); then the longest contents lose their middle (head and tail kept, a
    marker says how much was cut). Contents of ``keep`` characters or fewer are left whole, so a
    prompt can stay above the target when nothing more can go."""
    out = [dict(m) for m in messages]
    excess = message_chars(out) - target_chars
    for message in out:
        if excess <= 0:
            break
        content = message.get("content")
        if isinstance(content, str) and "# " in content:
            message["content"] = _shrink_sections(content, excess, keep)
            excess = message_chars(out) - target_chars
    while excess > 0:
        candidates = [
            (len(m["content"]), i) for i, m in enumerate(out)
            if isinstance(m.get("content"), str) and len(m["content"]) > keep + 80
        ]
        if not candidates:
            break
        length, index = max(candidates)
        others = sorted((n for n, _ in candidates), reverse=True)
        runner_up = others[1] if len(others) > 1 else keep
        # cut down to the runner-up first, so the longest texts shrink together
        cut = min(excess + 80, length - max(runner_up, keep))
        cut = max(cut, min(length - keep, excess + 80, 200))
        out[index]["content"] = _cut_middle(out[index]["content"], cut)
        excess = message_chars(out) - target_chars
    return out


def _cut_middle(text: str, cut: int) -> str:
    """Remove about ``cut`` characters from the middle of ``text`` (marker included)."""
    remove = min(len(text), cut + 80)
    marker_len = len(cut_marker(remove))
    remove = min(len(text), cut + marker_len)
    keep = len(text) - remove
    head = keep * 3 // 5
    tail = keep - head
    return text[:head] + cut_marker(remove) + (text[len(text) - tail:] if tail else "")
