"""The one LLM interface every agent calls: ``query()`` / ``aquery()`` returning a :class:`Reply`."""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ..models import Usage

Message = dict[str, Any]
T = TypeVar("T", bound=BaseModel)


@dataclass
class Reply(Generic[T]):
    """What one query returned: text, the validated object (when a schema was given), usage, latency."""

    text: str
    parsed: T | None = None
    usage: Usage = field(default_factory=Usage)
    latency: float = 0.0
    model: str = ""
    backend: str = ""
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "parsed": self.parsed.model_dump() if self.parsed is not None else None,
            "usage": self.usage.model_dump(),
            "latency": self.latency,
            "model": self.model,
            "backend": self.backend,
            "attempts": self.attempts,
        }


class UsageMeter:
    """Thread-safe running total of token usage; also keeps one record per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = Usage()
        self.calls: list[dict[str, Any]] = []

    def add(self, usage: Usage, *, model: str, latency: float, label: str = "") -> None:
        with self._lock:
            self.total = self.total + usage
            self.calls.append(
                {"model": model, "latency": round(latency, 4), "label": label, **usage.model_dump()}
            )


_active_meters: contextvars.ContextVar[tuple[UsageMeter, ...]] = contextvars.ContextVar(
    "mlr_copilot_usage_meters", default=()
)


@contextlib.contextmanager
def usage_scope(meter: UsageMeter | None = None) -> Iterator[UsageMeter]:
    """Sum the usage of every call made inside the block (including asyncio tasks it starts).

    Scopes nest: a call is counted in every scope that is open around it, so a run can sum its own
    usage while the session total keeps counting too.
    """
    meter = meter or UsageMeter()
    token = _active_meters.set(_active_meters.get() + (meter,))
    try:
        yield meter
    finally:
        _active_meters.reset(token)


def record_usage(usage: Usage, *, model: str, latency: float, label: str = "") -> None:
    """Add one call's usage to every open :func:`usage_scope`."""
    for meter in _active_meters.get():
        meter.add(usage, model=model, latency=latency, label=label)


@dataclass(frozen=True)
class Capabilities:
    """What an agent may ask of a backend beyond answering ``query()``, named by what it needs.

    A language model can do all of it; the offline engine answers from registered heuristics,
    which cannot.
    """

    #: a "debug" step rewrites the failing code (else the step is a fresh attempt)
    repairs_code: bool = True
    #: every execution gets a review of its code and output, even when the cell reported its
    #: metric (else the review runs only to read a metric the cell did not report)
    reviews_every_step: bool = True
    #: a step may be answered as a title, a plan and a fenced code block instead of the schema
    writes_markdown_steps: bool = True
    #: the researcher's context put in a step's prompt is read by whoever answers
    reads_context: bool = True


class Backend:
    """Base class of LLM backends. Subclasses implement :meth:`aquery` and :meth:`query`.

    Every agent asks through ``query()`` / ``aquery()`` only: ``schema`` is the pydantic model of
    the answer, ``label`` names the call (its kind is the part before the first "-": "problem",
    "review", "directions", "metric", "hyde", ...), and ``inputs`` is the typed object the prompt
    was written from (a Paper, a Task, a request dataclass). A language model reads the prompt and
    ignores ``inputs``; the offline engine answers from ``inputs`` and never parses a prompt back.
    """

    name: str = "base"
    #: True when replies come from a language model; False for the offline heuristic engine.
    is_llm: bool = True
    #: What the agents may ask of this backend (see :class:`Capabilities`).
    capabilities: Capabilities = Capabilities()
    #: How displays credit a result this backend produced ("extracted by ..."); "" = its name.
    engine_label: str = ""
    #: What a settings table adds after the backend's name and after the model ("" = nothing).
    status_note: str = ""
    model_note: str = ""

    @property
    def model_name(self) -> str | None:
        """The model that answers (for the record); None when no model does."""
        if not self.is_llm:
            return None
        model: str | None = getattr(getattr(self, "settings", None), "model", None)
        return model

    def announce(self, stream: Any = None) -> bool:
        """Tell the user once what answers the queries when that is not a language model."""
        return False

    def __init__(self) -> None:
        self.meter = UsageMeter()

    # ``on_token`` receives the reply's text as it streams; ``None`` means "the reply restarts"
    # (a retry after a cut stream), so a display should drop the partial text it shows.
    # ``max_tokens`` caps the reply's length; None means the cap configured for the call's kind
    # (its ``label`` up to the first "-").
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
        inputs: object = None,
    ) -> Reply[T]:
        raise NotImplementedError  # pragma: no cover - abstract

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
        inputs: object = None,
    ) -> Reply[T]:
        raise NotImplementedError  # pragma: no cover - abstract

    def describe(self) -> str:
        """One line saying what answers the queries."""
        return self.name

    def close(self) -> None:
        """Release what the backend holds (HTTP clients); it may be used again afterwards."""


def as_messages(messages: Sequence[Message] | str) -> list[Message]:
    """Accept a bare prompt string as a single user message."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [dict(m) for m in messages]


_SECRET_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]{8,}"),
)


def redact(text: str, *secrets: str | None) -> str:
    """Remove the given secrets and anything shaped like an API key from text meant for users."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text
