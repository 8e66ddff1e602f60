"""Running an experiment in a daemon thread, so the notebook's kernel stays free for widgets.

The run gets its own event loop in its own thread; the kernel's loop keeps handling clicks.
Listeners receive the agent's events in the run's thread, plus a final ``run_done`` event
(``summary``, ``error``) once the report is written. In ``approve`` mode the agent's ``approve``
hook returns a future on the run's loop; :meth:`BackgroundRun.resolve` settles it from any thread
with ``call_soon_threadsafe`` — nothing ever blocks the kernel waiting for a click.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, MLRCopilotError
from ..llm.progress import ProgressListener, progress_scope
from .agent import Approval, ExperimentAgent, Hooks
from .journal import Journal, Node

EventListener = Callable[[str, dict[str, Any]], Any]


@dataclass
class PendingApproval:
    """A proposed cell waiting for a human decision; ``future`` lives on the run's loop."""

    node: Node
    future: asyncio.Future[Approval]


#: The run's phase after each event of the runner (``BackgroundRun.phase``).
_PHASES = {"verify_started": "verifying", "verify_finished": "reporting",
           "run_finished": "reporting"}


class BackgroundRun:
    """Runs ``copilot.arun_experiment(agent)`` on a fresh event loop in a daemon thread.

    Parameters
    ----------
    agent
        A prepared :class:`ExperimentAgent` (``Copilot.prepare_experiment``). Its hooks are
        replaced by ones that fan events out to the listeners; an ``on_event`` it already had
        becomes the first listener, an ``approve`` hook it already had is kept.
    copilot
        The :class:`~mlr_copilot_jupyter.api.Copilot` that records the run in the research state.
    listeners
        ``callable(event, data)``, sync or async, called in the run's thread; errors are ignored.
    start
        Start at once (default); otherwise call :meth:`start` after attaching listeners.
    progress
        A :class:`~mlr_copilot_jupyter.llm.progress.ProgressListener` (a notebook's progress
        widget) shown the run's LLM calls; it is closed when the run ends.
    """

    def __init__(self, agent: ExperimentAgent, copilot: Any, *,
                 listeners: tuple[EventListener, ...] = (), start: bool = True,
                 progress: ProgressListener | None = None) -> None:
        self.agent, self.copilot = agent, copilot
        self.progress = progress
        self.summary: dict[str, Any] | None = None
        self.error: str | None = None
        self.started_at: float | None = None
        self._listeners: list[EventListener] = list(listeners)
        previous = agent.hooks
        if previous.on_event is not None:
            self._listeners.insert(0, previous.on_event)
        self._owns_approval = previous.approve is None
        agent.hooks = Hooks(on_event=self._dispatch, approve=previous.approve or self._approve,
                            extra=previous.extra)
        self._pending: PendingApproval | None = None
        self._phase = "running"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self._ready = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True,
                                        name=f"mlr-experiment-{agent.journal.run_id}")
        if start:
            self.start()

    # -- facts ------------------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.agent.journal.run_id

    @property
    def run_dir(self) -> Path:
        return self.agent.run_dir

    @property
    def journal(self) -> Journal:
        return self.agent.journal

    @property
    def mode(self) -> str:
        return self.agent.options.mode

    @property
    def done(self) -> bool:
        """Whether the run has ended (finished, failed or was interrupted) and its report is written."""
        return self._finished.is_set()

    @property
    def phase(self) -> str:
        """Where the run is: ``running`` (the search), ``verifying`` (the best node replayed in a
        fresh kernel), ``reporting`` (the search and verification over, the report being
        written), then the journal's final status (``done``, ``interrupted``, ``failed``) once
        :attr:`done` is true and the report is on disk."""
        if self.done:
            return self.journal.status
        return self._phase

    @property
    def pending(self) -> PendingApproval | None:
        """The proposal waiting for approval, if any."""
        return self._pending

    # -- control (from any thread) ------------------------------------------------------------
    def start(self) -> None:
        if not self._thread.is_alive() and not self.done:
            self.started_at = time.monotonic()
            self._thread.start()
            self._ready.wait()

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is done (or ``timeout`` seconds pass); whether it is done."""
        return self._finished.wait(timeout)

    def stop(self) -> None:
        """Stop after the current cell; a proposal waiting for approval is rejected."""
        self.agent.stop()
        if self._pending is not None:
            self.resolve(Approval("reject"))

    def cancel(self) -> None:
        """Interrupt at once (the current cell too); the record stays valid and resumable."""
        if self._loop is not None and self._task is not None and not self.done:
            self._loop.call_soon_threadsafe(self._task.cancel)

    def feedback(self, text: str) -> None:
        """Free-text feedback for the agent's next step."""
        if not text.strip():
            raise InputError("the feedback is empty")
        self.agent.add_feedback(text)

    def resolve(self, approval: Approval) -> None:
        """Answer the pending proposal (thread-safe)."""
        pending, loop = self._pending, self._loop
        if pending is None or loop is None:
            raise InputError("no proposal is waiting for approval")
        self._pending = None

        def settle() -> None:
            if not pending.future.done():
                pending.future.set_result(approval)

        loop.call_soon_threadsafe(settle)

    def approve(self, code: str | None = None, comment: str = "") -> None:
        """Approve the pending proposal, with edited ``code`` if given."""
        if code is None:
            self.resolve(Approval("approve", comment=comment))
        else:
            self.resolve(Approval("edit", code=code, comment=comment))

    def reject(self, comment: str = "") -> None:
        self.resolve(Approval("reject", comment=comment))

    # -- the run's thread --------------------------------------------------------------------
    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._phase = _PHASES.get(event, self._phase)
        if event == "approval_needed" and self._owns_approval:  # before listeners show it
            future = asyncio.get_running_loop().create_future()
            self._pending = PendingApproval(node=data["node"], future=future)
        for listener in list(self._listeners):
            try:
                result = listener(event, data)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a broken display must not break the run
                continue

    async def _approve(self, node: Node) -> Approval:
        pending = self._pending
        if pending is None or pending.node is not node:
            pending = PendingApproval(node, asyncio.get_running_loop().create_future())
            self._pending = pending
        if getattr(self.agent, "_stop_requested", False):  # stopped before the proposal showed
            self._pending = None
            return Approval("reject")
        try:
            return await pending.future
        finally:
            if self._pending is pending:
                self._pending = None

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        scope = progress_scope(self.progress) if self.progress is not None else nullcontext()
        with scope:  # the task copies this context: its LLM calls report to self.progress
            self._task = loop.create_task(self.copilot.arun_experiment(self.agent))
        self._ready.set()
        try:
            self.summary = loop.run_until_complete(self._task)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.error = (f"interrupted; the record is saved — resume with "
                          f"%mlr_experiment --resume {self.run_dir}")
        except MLRCopilotError as exc:
            self.error = exc.one_line()
        except BaseException as exc:  # reported on the handle, not lost in a thread
            first = (str(exc).strip().splitlines() or [""])[0]
            self.error = f"{type(exc).__name__}: {first}".rstrip(": ")
        try:
            if self.summary is None:
                from .report import run_summary

                self.summary = run_summary(self.journal, self.run_dir)
            loop.run_until_complete(self._dispatch(
                "run_done", {"summary": self.summary, "error": self.error}))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            close = getattr(self.progress, "close", None)
            if close is not None:
                close()
            self._finished.set()

    def __repr__(self) -> str:
        state = ("failed: " + self.error) if self.error else ("done" if self.done else "running")
        return f"BackgroundRun({self.run_id}, {self.mode}, {state}, dir={self.run_dir})"
