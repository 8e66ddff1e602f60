"""Listeners and streams for the LLM progress display: a :class:`Recorder` of call events
(tests/unit/test_llm_limits.py, tests/integration/test_llm_limits.py) and the streams a
``CLIProgress`` writes to (tests/unit/test_progress.py, tests/integration/test_progress.py)."""

from __future__ import annotations

import io

from mlr_copilot_jupyter.llm.progress import LLMCall


class Recorder:
    """A progress listener that keeps every ``(event, call id)`` and each call once."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.calls: list[LLMCall] = []

    def on_call(self, call: LLMCall, event: str) -> None:
        self.events.append((event, call.id))
        if call not in self.calls:
            self.calls.append(call)


class Pipe(io.StringIO):
    """A non-terminal stream (like stderr piped to a log)."""

    def isatty(self) -> bool:
        return False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[str]:
    return [ln for ln in stream.getvalue().splitlines() if ln.strip()]
