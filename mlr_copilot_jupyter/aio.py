"""Run a coroutine to completion from sync code, also inside Jupyter's running event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

R = TypeVar("R")


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """``asyncio.run(coro)``, or — when this thread already runs a loop (a Jupyter kernel) — run it
    on a fresh loop in a worker thread and wait, so the caller's loop is never re-entered."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlr-aio") as pool:
        return pool.submit(asyncio.run, coro).result()
