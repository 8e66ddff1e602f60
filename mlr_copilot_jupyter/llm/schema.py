"""The JSON schema sent for structured output, with bounds a grammar can enforce.

A server that enforces the schema by grammar (llama.cpp, Ollama, vLLM) lets a model write an array
or a string for as long as it likes; a small model then repeats one list item until the output
cap cuts the reply, which is no longer JSON. Measured with SmolLM2-135M on the problem prompt of a
15-page paper: without bounds the reply ran into its 1,500-token cap (twice, then an error) in
two runs out of three; with ``maxItems``/``maxLength`` it stopped by itself after 350-440 tokens.

The bounds go into the schema sent to the server only; validation of the reply (pydantic) does not
enforce them, so a capable model's long answer from a server that ignores them is still accepted.
A field sets its own with ``json_schema_extra={"maxLength": ...}`` (code cells are long; a review's
summary is 2-3 sentences); on an optional field (``str | None``) it bounds the string branch.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: Items of any list field that sets no ``maxItems``.
MAX_ITEMS = 12
#: Characters of any string field that sets no ``maxLength`` (about 500 tokens).
MAX_STRING = 2000


def text(chars: int) -> dict[str, Any]:
    """``json_schema_extra`` for a string field of at most ``chars`` characters."""
    return {"maxLength": chars}


def texts(items: int, chars: int) -> dict[str, Any]:
    """``json_schema_extra`` for a list of at most ``items`` strings of ``chars`` characters."""
    return {"maxItems": items, "items": {"type": "string", "maxLength": chars}}


def bounded(node: Any, *, max_items: int = MAX_ITEMS, max_string: int = MAX_STRING) -> Any:
    """``node`` (a JSON schema, changed in place) with bounds on its unbounded arrays and strings."""
    if isinstance(node, dict):
        for branch in node.get("anyOf", ()):  # `str | None`: the field's own bound is the string's
            if isinstance(branch, dict):
                for key, branch_kind in (("maxLength", "string"), ("maxItems", "array")):
                    if key in node and branch.get("type") == branch_kind:
                        branch.setdefault(key, node[key])
        kind = node.get("type")
        if kind == "array" and "maxItems" not in node:
            node["maxItems"] = max_items
        elif kind == "string" and "maxLength" not in node and not (
                {"enum", "const", "format", "pattern"} & node.keys()):
            node["maxLength"] = max_string
        for value in node.values():
            bounded(value, max_items=max_items, max_string=max_string)
    elif isinstance(node, list):
        for value in node:
            bounded(value, max_items=max_items, max_string=max_string)
    return node


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` to send: its own, with the default bounds added."""
    return bounded(model.model_json_schema())
