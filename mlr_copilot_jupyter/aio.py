"""Run a coroutine to completion from sync code, also inside Jupyter's running event loop."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

R = TypeVar("R")

#: Seconds a Ctrl-C waits for the cancelled coroutine to clean up before it is re-raised.
CANCEL_GRACE = 5.0


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """``asyncio.run(coro)``, or — when this thread already runs a loop (a Jupyter kernel) — run it
    on a fresh loop in a worker thread and wait, so the caller's loop is never re-entered.

    The worker runs in a copy of the caller's context (usage and progress scopes reach its calls),
    and a Ctrl-C while waiting cancels the coroutine at once (its requests are dropped) instead of
    waiting for it to finish.
    """
    from .llm.budget import time_left

    left = time_left()
    if left is not None:  # inside a stage with a deadline: cut the coroutine off there
        coro = _within(coro, left)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    started = threading.Event()
    done = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> R:
        box["loop"], box["task"] = asyncio.get_running_loop(), asyncio.ensure_future(coro)
        started.set()
        return await box["task"]

    def work() -> None:
        try:
            box["result"] = context.run(asyncio.run, main())
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            started.set()
            done.set()

    threading.Thread(target=work, name="mlr-aio", daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        started.wait(CANCEL_GRACE)
        if "task" in box and not done.is_set():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to cancel
                box["loop"].call_soon_threadsafe(box["task"].cancel)
        done.wait(CANCEL_GRACE)
        raise
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


async def _within(coro: Coroutine[Any, Any, R], seconds: float) -> R:
    from .llm.budget import deadline_error, time_left

    try:
        return await asyncio.wait_for(coro, seconds)
    except TimeoutError:
        left = time_left()
        if left is not None and left > 0.5:
            raise  # the coroutine's own timeout, well before the deadline
        raise deadline_error("waiting for the LLM") from None
