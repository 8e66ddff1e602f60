"""The offline engine: a no-LLM heuristic backend, used when no endpoint or key is configured.

It is not a language model and never pretends to be one. Each structured request is answered by a
registered heuristic *solver* for that schema (problem extraction from sections and cue sentences,
ideas from a catalog of ML improvement strategies, experiment steps from code recipes); the
agents register their solvers when they are imported. A free-text request is answered
extractively — the sentences of the prompt that best cover it, chosen by TF-IDF centrality — and
the reply says so. A schema with no solver is a clear error, not invented text.

A solver is found by the request's schema, else by its call kind (the label up to the first "-");
it is called as ``solver(messages, inputs)`` with the typed ``inputs`` the caller passed along
(a Paper, a Task, a request object), so nothing is parsed back out of the prompt. It returns an
instance of the schema (or of a subclass that carries the heuristic's full result), or a string
for a free-text call. The solver registry is ``llm/solvers.py``: the modules that define the
heuristics register them there, and the entry-point group ``mlr_copilot_jupyter.offline_solvers``
names those modules, imported at the first query, so this module names no agent code.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import LLMError
from ..models import Usage
from .base import Backend, Capabilities, Message, Reply, T, as_messages, record_usage
from .solvers import (  # noqa: F401  (the solver API, re-exported for llm.offline users)
    Solver,
    call_kind,
    expect_inputs,
    find_solver,
    is_counted,
    load_solvers,
    register_solver,
)

log = logging.getLogger("mlr_copilot")

BANNER = "no LLM configured: using the offline engine (heuristics, not a language model)"

_announced = threading.Event()


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
    # heuristics cannot rewrite code, review what they did not write, or read a prompt
    capabilities = Capabilities(repairs_code=False, reviews_every_step=False,
                                writes_markdown_steps=False, reads_context=False)
    engine_label = "offline engine (heuristics, no LLM)"
    status_note = "no LLM: heuristic engine"
    model_note = "unused by the offline engine"

    def __init__(self, settings: Any = None) -> None:
        super().__init__()
        self.settings = settings

    def describe(self) -> str:
        return "offline engine (no LLM)"

    def announce(self, stream: Any = None) -> bool:
        return announce(stream)

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
        started = time.monotonic()
        msgs = as_messages(messages)
        parsed: Any = None
        solver = find_solver(schema, label)
        if solver is None and schema is not None:
            kind = f" (call kind {call_kind(label)!r})" if label else ""
            raise LLMError(
                f"the offline engine has no heuristic for {schema.__name__}{kind}",
                hint="configure an LLM endpoint (OPENAI_API_KEY / OPENAI_BASE_URL) for this step",
            )
        answer = solver(msgs, inputs) if solver is not None else extractive_answer(msgs)
        if isinstance(answer, str):
            if schema is not None:
                raise LLMError(f"the offline solver for {schema.__name__} returned text, "
                               "not the structured answer")
            text = answer
        else:
            if schema is not None and not isinstance(answer, schema):
                raise LLMError(f"the offline solver for {schema.__name__} returned "
                               f"{type(answer).__name__}")
            parsed = answer
            text = answer.model_dump_json()
        if on_token is not None:
            on_token(text)
        latency = time.monotonic() - started
        # no tokens: nothing was sent to a model
        usage = Usage(calls=1 if solver is None or is_counted(solver) else 0)
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
        inputs: object = None,
    ) -> Reply[T]:
        return self.query(messages, schema=schema, model=model, temperature=temperature,
                          on_token=on_token, label=label, max_tokens=max_tokens, inputs=inputs)


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
