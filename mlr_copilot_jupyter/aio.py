"""Run a coroutine to completion from sync code, also inside Jupyter's running event loop.

One event loop per thread, kept for the life of the thread (not a new loop per call), so clients
bound to a loop (``openai.AsyncOpenAI``, its HTTP connection pool) are built once and reused:

* a thread that runs no loop (the CLI, a background run's thread) gets its own
  :class:`asyncio.Runner`, reused by every call from that thread;
* a thread that already runs a loop (a Jupyter kernel's main thread) hands the coroutine to one
  long-lived worker thread with its own loop, so the caller's loop is never re-entered.

Both carry the caller's context (usage and progress scopes) into the coroutine, and a Ctrl-C
cancels it at once. The loops are closed at interpreter exit.

This is the package's one bridge from sync code to a coroutine: the facade's sync methods, the
idea stages, the kernel executor's sync twins, the CLI's experiment run and the comparison
workers all call :func:`run_sync`. (A background run's thread owns its run's loop instead, since
other threads post approvals and stops to it.)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .budget import deadline_error, time_left

R = TypeVar("R")

#: Seconds a Ctrl-C waits for the cancelled coroutine to clean up before it is re-raised.
CANCEL_GRACE = 5.0

_local = threading.local()
_lock = threading.Lock()
_runners: list[Any] = []  # every per-thread Runner, closed at exit
_workers: dict[int, _LoopThread] = {}  # by the calling thread's ident


class _LoopThread:
    """A daemon thread running one event loop forever, for coroutines from a thread whose own
    loop is busy (Jupyter's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="mlr-aio", daemon=True)
        self.thread.start()

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CANCEL_GRACE)
            if not self.thread.is_alive():
                self.loop.close()


def _thread_runner() -> Any:
    """This thread's :class:`asyncio.Runner` (Python >= 3.11), created on first use."""
    runner = getattr(_local, "runner", None)
    if runner is None:
        # a loop_factory keeps the Runner from installing its loop as the thread's current one
        runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)  # type: ignore[attr-defined]
        _local.runner = runner
        with _lock:
            _runners.append(runner)
    return runner


def _worker() -> _LoopThread:
    key = threading.get_ident()
    with _lock:
        worker = _workers.get(key)
        if worker is None or not worker.thread.is_alive():
            worker = _workers[key] = _LoopThread()
    return worker


@atexit.register
def _close_loops() -> None:
    with _lock:
        workers, runners = list(_workers.values()), list(_runners)
        _workers.clear()
        _runners.clear()
    # BaseException too: a KeyboardInterrupt while closing at exit must not print a traceback
    for worker in workers:
        with contextlib.suppress(BaseException):
            worker.close()
    for runner in runners:
        with contextlib.suppress(BaseException):
            runner.close()


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """Run ``coro`` to completion on this thread's loop, or — when this thread already runs a
    loop (a Jupyter kernel) — on the long-lived worker loop, and wait for it.

    The coroutine runs in a copy of the caller's context (usage and progress scopes reach its
    calls), and a Ctrl-C while waiting cancels it at once (its requests are dropped) instead of
    waiting for it to finish.
    """
    left = time_left()
    if left is not None:  # inside a stage with a deadline: cut the coroutine off there
        coro = _within(coro, left)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if sys.version_info < (3, 11):  # no asyncio.Runner: a loop per call
            return asyncio.run(coro)
        runner = _thread_runner()
        try:
            return runner.run(coro, context=contextvars.copy_context())  # type: ignore[no-any-return]
        except KeyboardInterrupt:
            _unwind(runner.get_loop())
            raise
    return _run_on_worker(coro)


#: Rounds of cancelling what an interrupted run left on its loop (a task that raises the
#: interrupt again while it unwinds stops a round; the next one goes on).
_UNWIND_ROUNDS = 5


def _unwind(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and finish every task an interrupted run left on ``loop``, now.

    A signal handler that raises KeyboardInterrupt (a comparison worker's SIGTERM) raises it
    inside whichever task runs at that moment. asyncio lets it out of the loop and leaves the
    run's other tasks pending; the loop's close at interpreter exit then cancelled them, the
    stored interrupt came back out of ``atexit`` with a traceback ("Exception ignored in atexit
    callback", seen in a worker of `mlr-copilot compare` stopped by Ctrl-C on a busy machine),
    and a coroutine collected later reset its context variables in the wrong context. Unwound
    here, each task's ``finally`` runs in its own context while the caller handles the
    interrupt, and nothing is left for exit."""
    for _ in range(_UNWIND_ROUNDS):
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        with contextlib.suppress(BaseException):  # the interrupt being handled, raised again
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _run_on_worker(coro: Coroutine[Any, Any, R]) -> R:
    worker = _worker()
    context = contextvars.copy_context()
    started = threading.Event()
    done = threading.Event()
    box: dict[str, Any] = {}

    def finished(task: asyncio.Task[R]) -> None:
        try:
            box["result"] = task.result()
        except BaseException as exc:  # handed to the caller's thread (CancelledError too)
            box["error"] = exc
        done.set()

    def start() -> None:
        task = worker.loop.create_task(coro)  # runs in ``context``: this callback does
        box["task"] = task
        task.add_done_callback(finished)
        started.set()

    worker.loop.call_soon_threadsafe(start, context=context)
    try:
        done.wait()
    except KeyboardInterrupt:
        started.wait(CANCEL_GRACE)
        if "task" in box and not done.is_set():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to cancel
                worker.loop.call_soon_threadsafe(box["task"].cancel)
        done.wait(CANCEL_GRACE)
        raise
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


def close_on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
                  timeout: float = CANCEL_GRACE) -> None:
    """Run a clean-up coroutine (``client.close()``) on the loop its object is bound to: at once
    if that loop is idle, through its thread if it runs elsewhere, scheduled if it runs here.
    A closed loop took its connections with it: the coroutine is dropped."""
    try:
        if loop.is_closed():
            coro.close()
        elif not loop.is_running():
            loop.run_until_complete(coro)
        elif _running_loop() is loop:
            loop.create_task(coro)
        else:
            asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)
    except Exception:  # clean-up is best effort: never turn a close into an error
        coro.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _within(coro: Coroutine[Any, Any, R], seconds: float) -> R:
    try:
        return await asyncio.wait_for(coro, seconds)
    except TimeoutError:
        left = time_left()
        if left is not None and left > 0.5:
            raise  # the coroutine's own timeout, well before the deadline
        raise deadline_error("waiting for the LLM") from None
