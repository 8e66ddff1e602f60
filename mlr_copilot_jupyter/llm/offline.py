"""The offline engine: a no-LLM heuristic backend, used when no endpoint or key is configured.

It is not a language model and never pretends to be one. Each structured request is answered by a
registered heuristic *solver* for that schema (problem extraction from sections and cue sentences,
ideas from a catalog of ML improvement strategies, experiment steps from code recipes); the
agents register their solvers when they are imported. A free-text request is answered
extractively — the sentences of the prompt that best cover it, chosen by TF-IDF centrality — and
the reply says so. A schema with no solver is a clear error, not invented text.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from ..errors import LLMError
from ..models import Usage
from .base import Backend, Message, Reply, T, as_messages, record_usage

log = logging.getLogger("mlr_copilot")

BANNER = "no LLM configured: using the offline engine (heuristics, not a language model)"

Solver = Callable[[list[Message]], BaseModel]
_solvers: dict[type[BaseModel], Solver] = {}
_announced = threading.Event()


def register_solver(schema: type[BaseModel], solver: Solver) -> None:
    """Let the offline engine answer requests for ``schema`` with ``solver(messages)``."""
    _solvers[schema] = solver


def announce(stream: Any = None) -> bool:
    """Say once per process that the offline engine is in use. Returns True the first time."""
    if _announced.is_set():
        return False
    _announced.set()
    print(BANNER, file=stream or sys.stderr)
    return True


class OfflineBackend(Backend):
    """Answers the :class:`Backend` interface with heuristics; ``is_llm`` is False."""

    name = "offline"
    is_llm = False

    def __init__(self, settings: Any = None) -> None:
        super().__init__()
        self.settings = settings

    def describe(self) -> str:
        return "offline engine (no LLM)"

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
    ) -> Reply[T]:
        started = time.monotonic()
        msgs = as_messages(messages)
        parsed: Any = None
        if schema is not None:
            solver = _solvers.get(schema)
            if solver is None:
                raise LLMError(
                    f"the offline engine has no heuristic for {schema.__name__}",
                    hint="configure an LLM endpoint (OPENAI_API_KEY / OPENAI_BASE_URL) for this step",
                )
            parsed = solver(msgs)
            text = parsed.model_dump_json()
        else:
            text = extractive_answer(msgs)
        if on_token is not None:
            on_token(text)
        latency = time.monotonic() - started
        usage = Usage(calls=1)  # no tokens: nothing was sent to a model
        record_usage(usage, model="offline", latency=latency, label=label)
        self.meter.add(usage, model="offline", latency=latency, label=label)
        return Reply(text=text, parsed=parsed, usage=usage, latency=latency, model="offline",
                     backend=self.name)

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
    ) -> Reply[T]:
        return self.query(messages, schema=schema, model=model, temperature=temperature,
                          on_token=on_token, label=label, max_tokens=max_tokens)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


def extractive_answer(messages: list[Message], max_sentences: int = 5) -> str:
    """The prompt sentences most central to the prompt (TF-IDF cosine to the whole), in order.

    This is the offline engine's honest answer to a free-text request: it can select and order
    what the prompt already says; it cannot write anything new.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") != "system")
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if len(s.split()) >= 4]
    header = "[offline engine: extractive answer, no LLM]"
    if not sentences:
        return f"{header} the request contains no sentences to select from."
    if len(sentences) <= max_sentences:
        return header + " " + " ".join(sentences)
    try:
        matrix = TfidfVectorizer(stop_words="english").fit_transform(sentences + [text])
    except ValueError:  # only stop words
        return header + " " + " ".join(sentences[:max_sentences])
    scores = (matrix[:-1] @ matrix[-1].T).toarray().ravel()
    best = sorted(sorted(range(len(sentences)), key=lambda i: -scores[i])[:max_sentences])
    return header + " " + " ".join(sentences[i] for i in best)
