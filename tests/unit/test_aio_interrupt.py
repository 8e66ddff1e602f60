"""A KeyboardInterrupt raised inside a task of :func:`run_sync` (a signal handler's, as a
comparison worker's SIGTERM raises it) leaves nothing on the loop for interpreter exit.

Seen on a busy machine: Ctrl-C of `mlr-copilot compare` on the process pool printed a worker's
"Exception ignored in atexit callback: _close_loops ... KeyboardInterrupt" and "Token ... was
created in a different Context" (issue 26, must-show 4). The interrupt had come out of the loop,
the run's other tasks stayed pending, and closing the loop at exit ran them into it again.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import pytest

from mlr_copilot_jupyter import aio
from mlr_copilot_jupyter.llm.base import usage_scope


async def _a_run_interrupted_in_a_child_task(unwound: list[str]) -> None:
    """Like an experiment: a usage scope around a step, whose child task (nbclient's poll of
    the kernel) is where the signal handler raises."""

    async def poll() -> None:
        await asyncio.sleep(0.01)
        raise KeyboardInterrupt  # what compare.runner._raise_interrupt does on SIGTERM

    with usage_scope():
        try:
            await asyncio.wait_for(asyncio.ensure_future(poll()), 30)
        finally:
            unwound.append("finally")


def test_an_interrupt_inside_a_task_leaves_nothing_for_exit(
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert threading.current_thread() is threading.main_thread()  # the Runner path
    unwound: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        aio.run_sync(_a_run_interrupted_in_a_child_task(unwound))
    runner = aio._local.runner
    assert unwound == ["finally"]  # the run's own clean-up ran, in its context, before exit
    assert not [t for t in asyncio.all_tasks(runner.get_loop()) if not t.done()]
    caplog.clear()  # what was logged before exit (a worker may log at DEBUG) is not the question
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            aio._close_loops()  # what atexit runs
            gc.collect()
    finally:
        aio._local.runner = None  # this thread's next run_sync builds a new one
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors  # "Task was destroyed but it is pending!", "never retrieved"
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err
