"""The outcome of one experiment cell, and the text helpers that build and shorten it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from ..kernels.metric_line import strip_ansi

Status = Literal["ok", "error", "timeout", "dead"]

LOST_STATE = "all variables, imports and loaded data from earlier cells are lost"


@dataclass
class CellResult:
    """What happened when a cell ran. Every field is JSON-serialisable (see :meth:`to_dict`)."""

    status: Status
    outputs: list[dict[str, Any]] = field(default_factory=list)  # nbformat outputs, unmodified
    stdout_text: str = ""  # streams + text/plain results, ANSI stripped
    ename: str | None = None
    evalue: str | None = None
    traceback: str = ""  # ANSI stripped
    elapsed: float = 0.0  # seconds
    metrics: list[dict[str, Any]] = field(default_factory=list)  # parsed MLR_METRIC records
    lost_state: bool = False  # the kernel was restarted: earlier variables are gone
    message: str = ""  # one line for the agent
    execution_count: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the cell finished without error, timeout or kernel death."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict copy (for JSON / the run record)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def for_llm(self, max_chars: int = 4000) -> str:
        """Output and traceback for a prompt, ANSI stripped, head+tail truncated to ``max_chars``."""
        parts: list[str] = []
        if self.status != "ok" or self.lost_state:
            parts.append(f"[{self.status}] {self.message}")
        if self.stdout_text.strip():
            parts.append(self.stdout_text.rstrip("\n"))
        if self.traceback.strip():
            parts.append(self.traceback.rstrip("\n"))
        text = strip_ansi("\n".join(parts)) if parts else "(no output)"
        return truncate_middle(text, max_chars)


def truncate_middle(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars``: 40 % head, 60 % tail, and an omission marker."""
    if len(text) <= max_chars:
        return text
    marker = "\n[... {} chars omitted ...]\n"
    budget = max_chars - len(marker.format(len(text)))
    if budget < 20:
        return text[:max_chars]
    head = budget * 2 // 5
    tail = budget - head
    return text[:head] + marker.format(len(text) - head - tail) + text[len(text) - tail :]


def _as_str(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def outputs_text(outputs: list[dict[str, Any]]) -> str:
    """Stream text plus ``text/plain`` of results and displays, in order, ANSI stripped."""
    parts: list[str] = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(_as_str(out.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            plain = out.get("data", {}).get("text/plain")
            if plain:
                plain = _as_str(plain)
                parts.append(plain if plain.endswith("\n") else plain + "\n")
    return strip_ansi("".join(parts))


def error_fields(
    outputs: list[dict[str, Any]], reply: dict[str, Any]
) -> tuple[str | None, str | None, str]:
    """``(ename, evalue, traceback)`` from the last error output, else from the execute reply."""
    for out in reversed(outputs):
        if out.get("output_type") == "error":
            tb = "\n".join(_as_str(line) for line in out.get("traceback", []))
            return out.get("ename"), out.get("evalue"), strip_ansi(tb)
    tb = "\n".join(_as_str(line) for line in reply.get("traceback", []) or [])
    return reply.get("ename"), reply.get("evalue"), strip_ansi(tb)
