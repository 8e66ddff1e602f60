"""Progress of LLM calls while they run: the events a backend emits, and who listens.

A backend calls :func:`begin` when it sends a request and gets an :class:`LLMCall` back; it then
reports every streamed delta (:meth:`LLMCall.token`), a restart after a retry
(:meth:`LLMCall.restart`) and the end (:meth:`LLMCall.end`). Displays (a tqdm line on the CLI, an
ipywidgets line in a notebook) register with :func:`progress_scope` and receive each event with
the call's current state. Scopes are context-local, like :func:`.base.usage_scope`, so asyncio
tasks started inside a scope report to it, and several calls may be in flight at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..models import Usage

Event = Literal["start", "token", "restart", "end"]

_ids = itertools.count(1)


class ProgressListener(Protocol):
    """Receives every event of every call made inside its :func:`progress_scope`."""

    def on_call(self, call: LLMCall, event: Event) -> None: ...


@dataclass
class LLMCall:
    """One request in flight: what it is for, and how far it has got."""

    label: str
    model: str = ""
    max_tokens: int | None = None
    id: int = field(default_factory=lambda: next(_ids))
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    finished: float | None = None
    chunks: int = 0  # streamed deltas so far (about one token each on common servers)
    chars: int = 0
    usage: Usage | None = None
    error: str | None = None
    listeners: tuple[ProgressListener, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def kind(self) -> str:
        """The call kind: the label up to its first ``-`` (``plan-2`` -> ``plan``)."""
        return self.label.split("-", 1)[0] or "query"

    @property
    def tokens(self) -> int:
        """Tokens received: the server's count once known, else the streamed deltas."""
        if self.usage is not None and self.usage.completion_tokens:
            return self.usage.completion_tokens
        return self.chunks

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def tokens_per_s(self) -> float:
        """Generation speed since the first token (0 before it)."""
        if self.first_token is None:
            return 0.0
        span = (self.finished or time.monotonic()) - self.first_token
        return self.tokens / span if span > 0 else 0.0

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener.on_call(self, event)
            except Exception:  # a display must never break the call it shows
                pass

    def token(self, text: str) -> None:
        """A streamed delta arrived."""
        with self._lock:
            if self.first_token is None:
                self.first_token = time.monotonic()
            self.chunks += 1
            self.chars += len(text)
        self._emit("token")

    def restart(self) -> None:
        """The request is sent again (retry, re-ask): the counts start over."""
        with self._lock:
            self.chunks = self.chars = 0
            self.first_token = None
        self._emit("restart")

    def end(self, usage: Usage | None = None, error: str | None = None) -> None:
        """The call is over, with the server's usage or the error that ended it."""
        with self._lock:
            if self.finished is not None:
                return
            self.finished = time.monotonic()
            self.usage, self.error = usage, error
        self._emit("end")


_listeners: contextvars.ContextVar[tuple[ProgressListener, ...]] = contextvars.ContextVar(
    "mlr_copilot_progress_listeners", default=()
)


@contextlib.contextmanager
def progress_scope(listener: ProgressListener) -> Iterator[ProgressListener]:
    """Show the progress of every LLM call made inside the block (and the tasks it starts)."""
    token = _listeners.set(_listeners.get() + (listener,))
    try:
        yield listener
    finally:
        _listeners.reset(token)


def listening() -> bool:
    """Whether any display listens here (a backend may stream only then)."""
    return bool(_listeners.get())


def begin(label: str, *, model: str = "", max_tokens: int | None = None) -> LLMCall:
    """Start reporting one call to the listeners of the current context (none: a silent call)."""
    call = LLMCall(label=label or "query", model=model, max_tokens=max_tokens,
                   listeners=_listeners.get())
    call._emit("start")
    return call
