"""Replies as real models give them: reasoning blocks, markdown fences and almost-JSON.

Local models wrap answers in ``<think>…</think>``, fence JSON in markdown, put raw newlines inside
JSON strings, write regex backslashes (``\\d``) unescaped and leave trailing commas.
:func:`clean_reply` strips the wrapping; :func:`parse_json_object` parses strictly first and
repairs only when strict parsing fails.
"""

from __future__ import annotations

import json
import re
from typing import Any

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<(think|thinking|reasoning)>.*\Z", re.DOTALL | re.IGNORECASE)
_CLOSE_THINK = re.compile(r"</(think|thinking|reasoning)>", re.IGNORECASE)
_WHOLE_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n?(.*?)\n?[ \t]*```$", re.DOTALL)
_JSON_FENCE = re.compile(r"```(?:json|JSON|javascript|js)?[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_VALID_ESCAPES = set('"\\/bfnrtu')
_HEX = set("0123456789abcdefABCDEF")


def strip_reasoning(text: str) -> str:
    """Remove ``<think>…</think>`` (and ``<thinking>``/``<reasoning>``) blocks.

    A reply that starts inside a reasoning block (the chat template opened ``<think>`` in the
    prompt) loses everything up to the first ``</think>``; a block never closed (the reply was cut
    while reasoning) loses everything from its opening tag.
    """
    stripped = _THINK.sub("", text)
    close = _CLOSE_THINK.search(stripped)
    if close is not None:
        stripped = stripped[close.end():]
    stripped = _OPEN_THINK.sub("", stripped)
    return text if stripped == text else stripped.strip()


def clean_reply(text: str, *, fences: bool = True) -> str:
    """A reply without reasoning blocks and, when ``fences``, without a markdown fence around it."""
    text = strip_reasoning(text or "")
    if fences:
        text = text.strip()
        whole = _WHOLE_FENCE.match(text)
        if whole:
            return whole.group(1).strip()
        inner = _JSON_FENCE.search(text)
        if inner and "{" in inner.group(1):
            return inner.group(1).strip()
    return text


def repair_json(text: str) -> str:
    """Make almost-JSON parseable: escape raw control characters and stray backslashes inside
    strings, and drop trailing commas before ``}`` or ``]``."""
    out: list[str] = []
    in_string = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                nxt = text[i + 1] if i + 1 < n else ""
                if nxt == "u" and all(c in _HEX for c in text[i + 2 : i + 6]) and i + 6 <= n:
                    out.append(text[i : i + 6])
                    i += 6
                    continue
                if nxt in _VALID_ESCAPES and nxt != "u":
                    out.append(ch + nxt)
                    i += 2
                    continue
                out.append("\\\\")  # \d, \s, \( ...: the model meant a literal backslash
            elif ch == '"':
                in_string = False
                out.append(ch)
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                i += 1
                continue
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_json_object(text: str) -> Any:
    """Parse the JSON object in a reply, tolerating reasoning blocks, fences, prose around it,
    raw newlines and bad escapes inside strings, and trailing commas."""
    cleaned = clean_reply(text)
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError as exc:
        first_error = exc
    decoder = json.JSONDecoder(strict=False)
    starts = [m.start() for m in re.finditer(r"\{", cleaned)][:20]
    for start in starts:
        for candidate in (cleaned[start:], repair_json(cleaned[start:])):
            try:
                value, _ = decoder.raw_decode(candidate)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    raise ValueError(f"reply is not JSON: {first_error}") from None
