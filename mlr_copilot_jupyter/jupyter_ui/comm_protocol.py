"""The ``mlr_copilot`` comm protocol: one JSON Schema shared with the JupyterLab extension.

``comm_protocol.schema.json`` (next to this module) defines every message between the kernel
(:mod:`mlr_copilot_jupyter.jupyter_ui.comm`) and the extension (``labextension/src/protocol.ts``): a JSON
object named by its ``action`` field, ``KernelToFrontend`` or ``FrontendToKernel``. The Python and
TypeScript tests validate what each side sends against it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

SCHEMA_PATH = Path(__file__).with_name("comm_protocol.schema.json")
Direction = Literal["KernelToFrontend", "FrontendToKernel", "CommOpenData"]
KERNEL_TO_FRONTEND: Direction = "KernelToFrontend"
FRONTEND_TO_KERNEL: Direction = "FrontendToKernel"
COMM_OPEN_DATA: Direction = "CommOpenData"


@cache
def schema() -> dict[str, Any]:
    """The protocol's JSON Schema (draft 2020-12)."""
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def actions(direction: Direction) -> list[str]:
    """The ``action`` names of the messages of one direction, in schema order."""
    defs = schema()["$defs"]
    return [defs[ref["$ref"].removeprefix("#/$defs/")]["properties"]["action"]["const"]
            for ref in defs[direction]["oneOf"]]


@cache
def _validator(definition: str) -> Any:
    import jsonschema  # a dependency of nbformat (and so of JupyterLab)

    root = dict(schema())
    root.pop("oneOf", None)
    root["$ref"] = f"#/$defs/{definition}"
    return jsonschema.Draft202012Validator(root)


def errors(message: Any, direction: Direction) -> list[str]:
    """Why ``message`` is not a valid message of ``direction`` (empty when it is)."""
    found = list(_validator(direction).iter_errors(message))
    action = message.get("action") if isinstance(message, dict) else None
    if found and direction != COMM_OPEN_DATA and action in actions(direction):
        found = list(_validator(action).iter_errors(message))  # the reasons, not just "oneOf"
    elif found and direction != COMM_OPEN_DATA:
        return [f"action {action!r} is not one of {', '.join(actions(direction))}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(message)'}: {e.message}" for e in found]


def validate(message: Any, direction: Direction) -> None:
    """Raise ``ValueError`` naming the problems when ``message`` is not valid for ``direction``."""
    problems = errors(message, direction)
    if problems:
        raise ValueError(f"not a valid {direction} message {message!r}: " + "; ".join(problems))
