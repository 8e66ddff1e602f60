"""Displays of the LLM calls in flight: a tqdm line per call on the CLI, an ipywidgets line in a
notebook. Both are :class:`~.progress.ProgressListener` s; register them with
:func:`~.progress.progress_scope` (:func:`cli_progress` and :func:`notebook_progress` do).

A line reads ``LLM plan-2 · 143 tok · 38.2 tok/s · 4.1 s``; before the first token it says
``waiting for first token``, and the elapsed time keeps ticking. ``MLR_COPILOT_PROGRESS=off``
turns every display off.
"""

from __future__ import annotations

import contextlib
import html
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from .progress import Event, LLMCall, progress_scope

ENV = "MLR_COPILOT_PROGRESS"
#: Seconds of streaming before a speed is shown (one token in a millisecond is no speed).
SPEED_AFTER = 0.25


def progress_wanted(no_progress: bool = False) -> bool:
    """Whether to show progress: not with ``--no-progress`` nor ``$MLR_COPILOT_PROGRESS=off``."""
    if no_progress:
        return False
    return os.environ.get(ENV, "").strip().lower() not in {"off", "0", "false", "no", "none"}


def describe(call: LLMCall) -> str:
    """One line about a call: its label, tokens, speed and elapsed time (and how it ended)."""
    parts = [f"LLM {call.label}"]
    if call.first_token is None and call.finished is None:
        parts.append("waiting for first token")
    else:
        parts.append(f"{call.tokens} tok")
        streaming = (call.finished or time.monotonic()) - (call.first_token or time.monotonic())
        if call.tokens_per_s > 0 and streaming >= SPEED_AFTER:
            parts.append(f"{call.tokens_per_s:.1f} tok/s")
    parts.append(f"{call.elapsed:.1f} s")
    if call.finished is not None:
        parts.append(_outcome(call.error))
    return " · ".join(parts)


def _outcome(error: str | None) -> str:
    if not error:
        return "done"
    lowered = error.lower()
    return "stopped" if "cancel" in lowered or "interrupt" in lowered else "failed"


class _Ticker:
    """Calls ``tick()`` every ``period`` seconds in a daemon thread until stopped."""

    def __init__(self, tick: Callable[[], None], period: float) -> None:
        self._tick, self.period = tick, period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="mlr-llm-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self._tick()
            except Exception:  # a display must never raise into anything
                pass

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)


class CLIProgress:
    """One line per LLM call in flight on ``stream`` (stderr by default).

    On a terminal each call gets a tqdm line, rewritten in place at most every ``interval``
    seconds (the first token and every start, restart and end at once) and ticking while the
    reply is awaited; when the call ends the line is replaced by a compact final line. Elsewhere
    (a pipe, a log file) it writes plain lines: one when the call starts, one at the first token,
    then at most one per ``line_interval`` seconds while tokens arrive, one per ``quiet_interval``
    seconds while nothing arrives, and the final line. :meth:`close` removes the lines of calls
    still in flight and writes nothing, so an error or interrupt line printed after it stands alone.

    A call shows up once it has run ``show_after`` seconds (well within a second); one that ends
    sooner (a quick answer, an immediate HTTP 401) leaves no line at all, so a fast failure is
    still the CLI's one error line.
    """

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 interval: float = 0.2, line_interval: float = 1.0,
                 quiet_interval: float = 10.0, tick: float = 0.25,
                 show_after: float = 0.5) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            try:
                tty = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.interval, self.line_interval, self.quiet_interval = interval, line_interval, quiet_interval
        self.show_after = show_after
        self._lock = threading.RLock()
        self._calls: dict[int, LLMCall] = {}
        self._last: dict[int, float] = {}  # when each call's line was last written
        self._bars: dict[int, Any] = {}
        self._ticker = _Ticker(self.tick, tick)
        self.closed = False

    # -- events ------------------------------------------------------------------------------
    def on_call(self, call: LLMCall, event: Event) -> None:
        with self._lock:
            if self.closed:
                return
            if event == "end":
                self._finish(call)
                return
            self._calls[call.id] = call
            if call.id in self._last:  # shown already
                first_token = event == "token" and call.chunks == 1
                self._show(call, force=first_token or event != "token")
            elif call.elapsed >= self.show_after:
                self._show(call, force=True)
            self._ticker.ensure()

    def tick(self) -> None:
        """Refresh the lines of calls that have waited (elapsed time; quiet non-TTY calls)."""
        with self._lock:
            if self.closed:
                return
            now = time.monotonic()
            for call in list(self._calls.values()):
                if call.id not in self._last:
                    if call.elapsed >= self.show_after:
                        self._show(call, force=True)
                elif self.tty or now - self._last[call.id] >= self.quiet_interval:
                    self._show(call, force=True)

    def close(self) -> None:
        """Stop; remove the lines of calls still in flight (idempotent)."""
        self._ticker.stop()
        with self._lock:
            self.closed = True
            for bar in self._bars.values():
                with contextlib.suppress(Exception):
                    bar.close()
            self._bars.clear()
            self._calls.clear()

    # -- output ------------------------------------------------------------------------------
    def _show(self, call: LLMCall, *, force: bool) -> None:
        now = time.monotonic()
        wait = self.interval if self.tty else self.line_interval
        if not force and now - self._last.get(call.id, 0.0) < wait:
            return
        self._last[call.id] = now
        text = describe(call)
        if not self.tty:
            self._write(text)
            return
        bar = self._bars.get(call.id)
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=None, bar_format="{desc}", desc=text, file=self.stream, leave=False,
                       dynamic_ncols=True, mininterval=0)
            self._bars[call.id] = bar
        else:
            bar.set_description_str(text, refresh=True)

    def _finish(self, call: LLMCall) -> None:
        self._calls.pop(call.id, None)
        if self._last.pop(call.id, None) is None:
            return  # never shown: a quick call leaves no line
        bar = self._bars.pop(call.id, None)
        if bar is not None:
            bar.close()
        self._write(describe(call))

    def _write(self, text: str) -> None:
        if self.tty:
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)  # above the lines of the calls still in flight
        else:
            self.stream.write(text + "\n")
            self.stream.flush()


def echo(line: str, stream: TextIO | None = None) -> None:
    """Print a line on stderr without garbling the progress lines shown there."""
    from tqdm import tqdm

    stream = stream if stream is not None else sys.stderr
    tqdm.write(line, file=stream)
    stream.flush()


@contextlib.contextmanager
def cli_progress(enabled: bool = True, stream: TextIO | None = None) -> Iterator[CLIProgress | None]:
    """Show the LLM calls made inside the block on stderr (unless disabled); close on exit."""
    if not (enabled and progress_wanted()):
        yield None
        return
    display = CLIProgress(stream)
    try:
        with progress_scope(display):
            yield display
    finally:
        display.close()


class WidgetProgress:
    """An ipywidgets line in the cell's output showing the LLM calls in flight.

    It is displayed with the first call (``display`` is :func:`IPython.display.display`), updated
    at most every ``interval`` seconds while tokens arrive (the first token, starts and ends at
    once) and every ``tick`` seconds while a reply is awaited; after the last call it keeps that
    call's final line and how many calls there were.
    """

    def __init__(self, *, display: Callable[[Any], Any] | None = None, interval: float = 0.25,
                 tick: float = 1.0) -> None:
        import ipywidgets

        if display is None:
            from IPython.display import display as display_
            display = display_
        self._display: Callable[[Any], Any] = display
        self.widget = ipywidgets.HTML(value="")
        self.interval = interval
        self.displayed = False
        self.finished = 0
        self.last_final = ""
        self._calls: dict[int, LLMCall] = {}
        self._shown = 0.0
        self._lock = threading.RLock()
        self._ticker = _Ticker(self.tick, tick)
        self.closed = False

    def show(self) -> None:
        """Display the (so far empty) line now, e.g. above a background run's monitor."""
        with self._lock:
            if not self.displayed:
                self.displayed = True
                self._display(self.widget)

    def on_call(self, call: LLMCall, event: Event) -> None:
        with self._lock:
            if self.closed:
                return
            if event == "end":
                self._calls.pop(call.id, None)
                self.finished += 1
                self.last_final = describe(call)
            else:
                self._calls[call.id] = call
                self._ticker.ensure()
            urgent = event != "token" or call.chunks == 1
            if urgent or time.monotonic() - self._shown >= self.interval:
                self._render()

    def tick(self) -> None:
        with self._lock:
            if self._calls and not self.closed:
                self._render()

    def text(self) -> str:
        """What the line shows now (plain text)."""
        with self._lock:
            lines = [describe(c) for c in self._calls.values()]
            if not lines and self.last_final:
                count = f" ({self.finished} LLM calls)" if self.finished > 1 else ""
                lines = [self.last_final + count]
            return "\n".join(lines)

    def _render(self) -> None:
        self.show()
        self._shown = time.monotonic()
        rows = "<br>".join(html.escape(line) for line in self.text().splitlines())
        self.widget.value = f'<span style="font-family: monospace; font-size: 90%">{rows}</span>'

    def close(self) -> None:
        """Stop ticking; calls still in flight are shown as stopped (idempotent)."""
        self._ticker.stop()
        with self._lock:
            if self.closed:
                return
            self.closed = True
            if self._calls:  # interrupted (Ctrl-C) or the magic failed meanwhile
                self.last_final = "\n".join(describe(c) + " · stopped" for c in self._calls.values())
                self.finished = 0
            self._calls.clear()
            if self.displayed:
                self._render()


def in_kernel() -> bool:
    """Whether this runs inside a Jupyter kernel (where widgets can be shown)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def notebook_widget() -> WidgetProgress | None:
    """A :class:`WidgetProgress` when in a kernel with ipywidgets and progress wanted, else None."""
    if not (progress_wanted() and in_kernel()):
        return None
    try:
        return WidgetProgress()
    except Exception:  # no ipywidgets, no comm: show nothing rather than fail the magic
        return None


@contextlib.contextmanager
def notebook_progress() -> Iterator[WidgetProgress | None]:
    """Show the LLM calls made inside the block in the running cell's output (when possible)."""
    widget = notebook_widget()
    if widget is None:
        yield None
        return
    try:
        with progress_scope(widget):
            yield widget
    finally:
        widget.close()
