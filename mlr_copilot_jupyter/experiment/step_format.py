"""How a step's code travels from the model: inside JSON, or as a fenced ``python`` block.

Code inside a JSON string is harder for a model to write (every newline and quote escaped), and a
model without schema enforcement often answers with a markdown code block anyway. AIDE asks for
"a brief plan in natural language, then a single markdown code block". Both ways are supported:

* ``json``: the step is structured output (title, plan, code); a reply that fails the schema but
  holds a ``python`` code block is still taken, its prose read as title and plan.
* ``markdown``: the model is asked for a ``# title`` line, a short plan and one ```` ```python ````
  block, and no schema is sent.

``MLRCopilot.step_format`` chooses (``json`` by default).
"""

from __future__ import annotations

import re

from ..errors import LLMSchemaError

STEP_FORMATS = ("json", "markdown")

MARKDOWN_INSTRUCTIONS = (
    "Answer in exactly this form and nothing else:\n"
    "# <what this step tries, under 12 words>\n"
    "<the plan and its rationale, 2-5 sentences>\n"
    "```python\n<one complete Python notebook cell>\n```"
)

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|\Z)", re.DOTALL | re.IGNORECASE)
_BLOCK = re.compile(r"```[ \t]*(?P<lang>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL)


def with_markdown_instructions(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The step prompt, asking for a title, a plan and one fenced python block."""
    last = dict(messages[-1])
    last["content"] = f"{last['content']}\n\n{MARKDOWN_INSTRUCTIONS}"
    return [*messages[:-1], last]


def code_block(text: str) -> tuple[str, str] | None:
    """The reply's Python code block and the prose before it; None without a code block.

    The longest ``python``/``py``/untagged block is the cell (a model may show a snippet first);
    an unclosed block at the end (a reply cut short) still counts.
    """
    text = _THINK.sub("", text)
    blocks = [m for m in _BLOCK.finditer(text)
              if m.group("lang").lower() in {"", "python", "py", "python3", "ipython"}
              and m.group("body").strip()]
    if not blocks:
        return None
    best = max(blocks, key=lambda m: len(m.group("body")))
    return best.group("body").strip() + "\n", text[: best.start()].strip()


def parse_markdown_step(text: str) -> tuple[str, str, str]:
    """``(title, plan, code)`` of a markdown step reply; LLMSchemaError when it has no code."""
    found = code_block(text)
    if found is None:
        raise LLMSchemaError("the step reply has no ```python code block", raw=text,
                             hint="try MLRCopilot.step_format='json' or a stronger model")
    code, prose = found
    lines = [line.strip() for line in prose.splitlines() if line.strip()]
    title = ""
    if lines and (lines[0].startswith("#") or len(lines) > 1):
        title = lines.pop(0).lstrip("#").strip().strip("*").strip()
    plan = " ".join(lines).strip() or "(no plan given)"
    return (title or "Step")[:120], plan, code
