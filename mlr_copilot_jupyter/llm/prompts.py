"""Prompts as data: nested dicts of named fragments, rendered to markdown in one place.

Every prompt the package sends is built here from small fragments, so a reviewer can read all of
them in one file and tests can assert on their content.
"""

from __future__ import annotations

import json
from typing import Any

PromptSpec = dict[str, Any] | list[Any] | str

SYSTEM_RESEARCHER = (
    "You are an expert machine-learning researcher working inside a Jupyter notebook as a "
    "research copilot. Be concrete, cite the paper's own terms, and never invent results."
)

JSON_ONLY = (
    "Answer with one JSON object that validates against the JSON schema below. "
    "No prose before or after it, no markdown fences."
)


def compile_prompt_to_md(prompt: PromptSpec, _header_depth: int = 1) -> str:
    """Render a prompt spec (str, list or nested dict) to markdown; dict keys become headings."""
    if isinstance(prompt, str):
        return prompt.strip()
    if isinstance(prompt, list):
        return "\n".join(f"- {compile_prompt_to_md(item, _header_depth)}" for item in prompt if item)
    parts = []
    for key, value in prompt.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        body = compile_prompt_to_md(value, _header_depth + 1)
        parts.append(f"{'#' * _header_depth} {key}\n\n{body}")
    return "\n\n".join(parts)


def schema_instructions(schema: dict[str, Any]) -> str:
    """Instructions that ask for JSON matching ``schema`` (used when the server lacks json_schema)."""
    return compile_prompt_to_md(
        {"Response format": JSON_ONLY, "JSON schema": "```json\n" + json.dumps(schema) + "\n```"}
    )


def schema_repair(error: str) -> str:
    """The follow-up message sent when a reply did not validate."""
    return compile_prompt_to_md(
        {
            "Your previous reply was not valid": (
                "It could not be parsed or did not match the required JSON schema."
            ),
            "Validation error": "```\n" + error.strip()[:2000] + "\n```",
            "Instructions": "Reply again with only the corrected JSON object.",
        }
    )


def with_cut_note(messages: list[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """The conversation asking again for a shorter answer: the note joins the last user message
    (some chat templates refuse two user turns in a row)."""
    note = reply_was_cut(cap)
    last = messages[-1] if messages else {}
    if last.get("role") == "user" and isinstance(last.get("content"), str):
        return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{note}"}]
    return [*messages, {"role": "user", "content": note}]


def with_instructions(messages: list[dict[str, Any]], instructions: str) -> list[dict[str, Any]]:
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


def reply_was_cut(cap: int) -> str:
    """The note added when a reply stopped at the output cap (finish_reason "length")."""
    return (
        f"(Your previous answer was cut off at the limit of {cap} output tokens. Answer again, "
        f"shorter, so that the complete answer fits in {cap} tokens.)"
    )
