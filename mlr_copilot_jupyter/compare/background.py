"""``ComparisonRun``: a comparison in a background thread (review board button, magic)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .session import ComparisonInterrupted, ComparisonResult


class ComparisonRun:
    """Runs ``work(stop)`` in a daemon thread; ``stop()`` ends it like Ctrl-C.

    ``work`` gets a callable telling whether a stop was asked, and returns the
    :class:`ComparisonResult`. After an interrupt ``result`` holds what was saved; after an
    error, ``error`` holds its one line.
    """

    def __init__(self, comparison_id: str, work: Callable[[Callable[[], bool]], ComparisonResult],
                 ) -> None:
        self.comparison_id = comparison_id
        self.result: ComparisonResult | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._work = work
        self._thread = threading.Thread(target=self._main, name=f"mlr-{comparison_id}",
                                        daemon=True)

    def start(self) -> ComparisonRun:
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    def stop(self) -> None:
        """Stop every idea's run (their records stay valid); the comparison is ``interrupted``."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until finished (or ``timeout`` seconds); whether it finished."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        from ..errors import MLRCopilotError

        try:
            self.result = self._work(self._stop.is_set)
        except ComparisonInterrupted as stopped:
            self.result = stopped.result
        except MLRCopilotError as exc:
            self.error = exc.one_line()
        except Exception as exc:  # a bug: still one line for the surfaces
            self.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        if self.result is not None:
            state = self.result.status
        elif self.error:
            state = f"failed: {self.error}"
        return f"ComparisonRun({self.comparison_id!r}, {state})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))
