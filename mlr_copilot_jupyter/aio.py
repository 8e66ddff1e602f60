"""Run a coroutine to completion from sync code, also inside Jupyter's running event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

R = TypeVar("R")


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """``asyncio.run(coro)``, or — when this thread already runs a loop (a Jupyter kernel) — run it
    on a fresh loop in a worker thread and wait, so the caller's loop is never re-entered."""
    from .llm.budget import time_left

    left = time_left()
    if left is not None:  # inside a stage with a deadline: cut the coroutine off there
        coro = _within(coro, left)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()  # usage scopes and the deadline follow into the thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlr-aio") as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


async def _within(coro: Coroutine[Any, Any, R], seconds: float) -> R:
    from .llm.budget import deadline_error, time_left

    try:
        return await asyncio.wait_for(coro, seconds)
    except TimeoutError:
        left = time_left()
        if left is not None and left > 0.5:
            raise  # the coroutine's own timeout, well before the deadline
        raise deadline_error("waiting for the LLM") from None
