"""The experiment agent: an AIDE-style search over draft / improve / debug nodes in one kernel.

Each step: choose the kind of step and its parent, ask the policy for a plan and code, (in
``approve`` mode) let a human approve, edit or reject the cell, set aside the files the scorer
reads, run the cell, score it from its own output and files (:mod:`.judge`), and record it: the
record notebook and ``journal.json`` are saved after every cell. A baseline that fails is the
first thing debugged.

The agent decides steps; it is handed everything else (aideml's shape). The runner
(:mod:`.runner`) builds its :class:`~.runtime.Runtime`, fills the options with the task's
defaults, starts and stops the kernel the search runs in, and afterwards verifies the best node
(:mod:`.verify`: its lineage replayed in a fresh kernel and a fresh copy of the workspace) through
the agent's public methods. The agent never starts a kernel or copies a file itself, so its
choices are unit-tested with fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..errors import LLMAuthError, LLMError, LLMModelNotFound, MLRCopilotError
from ..llm.base import UsageMeter, usage_scope
from ..llm.budget import Spend
from ..models import Idea
from .journal import JOURNAL_FILE, SELECTION_NOTES, Journal, Node, NodeKind
from .judge import Judge
from .options import Approval, ApproveHook, EventHook, Hooks, RunOptions
from .policies import Exhausted, Proposal, StepPolicy, StepRequest
from .record import RECORD_FILE, RecordNotebook
from .runtime import Executor, Runtime, snapshot
from .task import Task

__all__ = ["Approval", "ApproveHook", "EventHook", "ExperimentAgent", "Hooks", "RunOptions"]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class ExperimentAgent:
    """Decides the steps of one experiment in ``run_dir`` with a policy, through the runtime it
    is handed.

    ``options`` come filled with the task's defaults (:func:`.runner.fill_task_defaults`);
    ``lost_state``: the kernel is new to this run (a resume), so earlier variables are gone.
    """

    def __init__(self, task: Task, run_dir: Path, policy: StepPolicy, *, runtime: Runtime,
                 journal: Journal, record: RecordNotebook, options: RunOptions,
                 idea: Idea | None = None, plan_text: str = "", hooks: Hooks | None = None,
                 context: str = "", lost_state: bool = False) -> None:
        self.task, self.run_dir, self.policy = task, Path(run_dir), policy
        self.journal, self.record, self.options = journal, record, options
        self.idea, self.plan_text, self.context = idea, plan_text, context
        self.hooks = hooks or Hooks()
        self.max_steps, self.cell_timeout, self.wall_time = options.budgets()
        self.runtime = runtime
        self.workspace = runtime.workspace
        self.judge = Judge(task, journal, runtime, policy)
        self._stop_requested = False
        self._pending_feedback: list[str] = []
        self._lost_state = lost_state
        self._llm_failures = 0
        self.executor: Executor | None = None
        self.limits = options.limits()
        self._started = time.monotonic()

    # -- control from other threads / widgets ------------------------------------------------
    def stop(self) -> None:
        """Stop after the current cell (the cell itself is interrupted by the executor timeout)."""
        self._stop_requested = True

    def add_feedback(self, text: str) -> None:
        """Free-text human feedback; it enters the next prompt and is recorded on that node."""
        if text.strip():
            self._pending_feedback.append(text.strip())

    @property
    def journal_path(self) -> Path:
        return self.run_dir / JOURNAL_FILE

    @property
    def record_path(self) -> Path:
        return self.run_dir / RECORD_FILE

    def save(self) -> None:
        """Write ``journal.json`` (done after every cell and every verified candidate)."""
        self.journal.save(self.journal_path)

    async def emit(self, event: str, **data: Any) -> None:
        """Tell the ``on_event`` hook (progress lines, the monitor widget); never raises."""
        if self.hooks.on_event is not None:
            try:
                await _maybe_await(self.hooks.on_event(event, data))
            except Exception as exc:  # a broken display must not break the run
                self.journal.message = f"event hook failed on {event}: {exc}"

    def note(self, text: str) -> None:
        """Add ``text`` to the journal's message (once)."""
        j = self.journal
        if text not in j.message:
            j.message = f"{j.message}; {text}" if j.message else text

    # -- the run ------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Journal]:
        """The journal's side of one run, around the runner's stages (:func:`.runner.arun`).

        On entry the journal is ``running`` (saved; a resume gets a fresh deadline); on exit it
        is ``done``, ``interrupted`` (with the resume hint) or ``failed`` (the error in one
        line), unfinished cells are recorded as such, and it is saved again.
        """
        self.journal.status = "running"
        self.journal.stopped_by = self.journal.stop_reason = ""  # resumed: a fresh deadline
        self.journal.limits = self.limits.describe()
        self.save()
        self._started = time.monotonic()
        try:
            yield self.journal
            self.journal.status = "done"
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.journal.status = "interrupted"
            self.journal.message = "interrupted; resume with --resume " + str(self.run_dir)
            self._record_unfinished("interrupted before the cell finished")
            raise
        except BaseException as exc:
            self.journal.status = "failed"
            self.journal.message = f"{type(exc).__name__}: {exc}"[:500]
            self._record_unfinished(f"the run failed: {self.journal.message}")
            raise
        finally:
            self.journal.finished = _now()
            try:
                self.save()
            except MLRCopilotError:
                if self.journal.status in {"done", "running"}:
                    raise  # the only error: the user must hear that the journal was not saved
                # else the first error is already on its way; keep it visible

    async def search(self, executor: Executor) -> None:
        """The search, in ``executor`` (a kernel the runner started): the baseline unless the
        journal has one, then draft / improve / debug steps until a budget, the policy or the
        user ends it."""
        self.executor = executor
        self._adopt_reference()
        await self.emit("run_started", run_id=self.journal.run_id)
        if self.journal.baseline is None:
            await self._step_baseline()
        while not self._stop_requested:
            done = sum(1 for n in self.journal.nodes
                       if n.kind != "baseline" and n.status != "llm_error")
            if done >= self.max_steps:
                break
            if time.monotonic() - self._started > self.wall_time:
                self.note(f"wall-time budget of {self.wall_time:g} s used up")
                break
            if self._limit_reached():
                break
            kind, parent = self._next_step()
            with usage_scope() as meter:  # this node's LLM usage: proposal and review
                try:
                    proposal = await self._within_deadline(
                        self.policy.propose(self._request(kind, parent)))
                except _DeadlineHit:
                    break
                except Exhausted as exc:
                    self.note(str(exc))
                    break
                except (LLMAuthError, LLMModelNotFound):
                    raise  # configuration: no later step can succeed either
                except LLMError as exc:
                    self._llm_failed(kind, parent, exc, meter)  # raises after too many
                    continue
                self._llm_failures = 0
                await self._step(kind, parent, proposal, meter)
        if self._stop_requested:
            self.note("stopped by the user")

    def keep_unverified_best(self) -> None:
        """The best node without verification (``--no-verify``, or a limit ended the run)."""
        best = self.journal.best()
        self.journal.best_node = best.id if best else None
        if self.options.verify and best is not None:
            self.note("the best node is not verified: verification was skipped because "
                      "the limit is reached (--resume with a larger one verifies it)")

    # -- budgets -------------------------------------------------------------------------------
    def _limit_reached(self) -> bool:
        """Whether a token / cost budget or the deadline ends the search (then say which)."""
        hit = self.limits.reached(self.journal.usage, time.monotonic() - self._started)
        if hit is not None:
            self._stopped(*hit)
        return hit is not None

    def _stopped(self, limit: str, why: str) -> None:
        self.journal.stopped_by, self.journal.stop_reason = limit, why
        self.note(why)

    async def _within_deadline(self, coro: Any) -> Any:
        """Await an LLM call, cut off at the deadline (raises :class:`_DeadlineHit` then)."""
        left = self.limits.remaining(time.monotonic() - self._started)
        if left is None:
            return await coro
        try:
            return await asyncio.wait_for(coro, left)
        except TimeoutError:
            elapsed = time.monotonic() - self._started
            if elapsed + 0.5 < (self.limits.deadline or 0.0):
                raise  # a timeout of the call itself, well before the deadline
            self._stopped("deadline", self.limits.deadline_message(elapsed)
                          + "; the LLM request in flight was abandoned")
            raise _DeadlineHit from None

    def _charge(self, node: Node, meter: UsageMeter | None) -> None:
        if meter is not None:
            node.usage = Spend.of(meter.total, self.limits.prices)
            node.tokens = node.usage.total_tokens

    def _llm_failed(self, kind: NodeKind, parent: Node | None, exc: LLMError,
                    meter: UsageMeter | None = None) -> None:
        """Record an unusable LLM reply as a failed node; raise after too many in a row.

        Such nodes run no code and do not count as steps of the budget.
        """
        j = self.journal
        self._llm_failures += 1
        raw = getattr(exc, "raw", "") or ""
        node = Node(id=j.next_id(), parent=parent.id if parent else None, kind=kind,
                    step=len(j.nodes), title="LLM reply unusable", status="llm_error",
                    plan=f"The model's reply for this {kind} step could not be used.",
                    code="# The model's raw reply (not run):\n" + "\n".join(
                        "# " + line for line in raw.splitlines()[:400]),
                    error=f"LLM: {exc.one_line()}"[:500], output=raw[:3000])
        self._charge(node, meter)
        j.nodes.append(node)
        self.record.record_node(node, outcome=f"**Failed (LLM):** {node.error}")
        self.save()
        limit = self.options.max_llm_failures
        if self._llm_failures >= limit:
            raise LLMError(f"stopped after {limit} unusable LLM replies in a row (the record is "
                           f"saved; --resume continues); last: {exc}"[:600])

    def _record_unfinished(self, why: str) -> None:
        """Persist before raising: a node whose cell never finished goes into the record too."""
        for node in self.journal.nodes:
            if node.status == "pending":
                node.status, node.error = "error", why
                try:
                    self.record.record_node(node, outcome=f"**{why[:1].upper()}{why[1:]}.**")
                except MLRCopilotError:  # the run folder itself may be what failed
                    pass

    # -- choosing steps -----------------------------------------------------------------------
    def _adopt_reference(self) -> None:
        """A journal written before references existed: its working baseline is the reference."""
        j = self.journal
        if j.reference is None:
            good = [n for n in self._baseline_chain() if n.is_good]
            if good:
                j.reference = good[0].id
                j.selection = j.selection or self.judge.selection()

    def _baseline_chain(self) -> list[Node]:
        """The baseline and the debug nodes that try to fix it, oldest first."""
        chain: list[Node] = []
        node = self.journal.baseline
        while node is not None:
            chain.append(node)
            fixes = [c for c in self.journal.children(node.id)
                     if c.kind == "debug" and c.status != "llm_error"]
            node = fixes[-1] if fixes else None
        return chain

    def _next_step(self) -> tuple[NodeKind, Node | None]:
        j, opts = self.journal, self.options
        if j.reference is None and j.baseline is not None:
            last = self._baseline_chain()[-1]
            can_fix = getattr(self.policy, "repairs_code", False)
            if last.status != "ok" and can_fix and j.debug_depth(last) < opts.max_debug_depth:
                return "debug", last  # a baseline that fails is the first thing to fix
            base = j.baseline
            self.note(f"baseline failed: {base.error or base.message or base.status}; "
                       "no improvement can be measured")
        drafts = [n for n in j.nodes if n.kind == "draft"]
        if len(drafts) < opts.num_drafts:
            return "draft", j.reference_node or j.baseline
        buggy = [n for n in j.buggy_leaves(opts.max_debug_depth)
                 if n not in self._baseline_chain()]
        if buggy:
            return "debug", buggy[-1]
        best = j.best()
        if best is None or best.id == j.reference or best.kind == "baseline":
            return "draft", j.reference_node or j.baseline
        return "improve", best

    def _request(self, kind: NodeKind, parent: Node | None) -> StepRequest:
        return StepRequest(kind=kind, parent=parent, journal=self.journal, task=self.task,
                           idea=self.idea, plan_text=self.plan_text, context=self.context,
                           feedback=list(self.journal.feedback) + self._pending_feedback,
                           lost_state=self._lost_state, workspace=self.workspace,
                           artifacts=self.judge.artifacts.preview(self.workspace),
                           cell_timeout=self.cell_timeout)

    # -- one step -----------------------------------------------------------------------------
    async def _step_baseline(self) -> None:  # the baseline's usage: the review of its output
        from .recipes import baseline_code

        proposal = Proposal(title="Baseline", plan=(
            f"Run the task's baseline (`{self.task.baseline}`) unchanged, to measure the "
            f"{self.task.metric.name} every later step is compared with."),
            code=baseline_code(self.task))
        with usage_scope() as meter:
            await self._step("baseline", None, proposal, meter)

    def _fixes_baseline(self, node: Node) -> bool:
        return self.journal.reference is None and node in self._baseline_chain()

    async def _step(self, kind: NodeKind, parent: Node | None, proposal: Proposal,
                    meter: UsageMeter | None = None) -> Node:
        j = self.journal
        feedback = "; ".join(self._pending_feedback)
        j.feedback.extend(self._pending_feedback)
        self._pending_feedback.clear()
        node = Node(id=j.next_id(), parent=parent.id if parent else None, kind=kind,
                    step=len(j.nodes), title=proposal.title, plan=proposal.plan,
                    code=proposal.code, recipe=proposal.recipe, tokens=proposal.tokens,
                    feedback=feedback)
        self._charge(node, meter)  # the proposal's usage, even if the cell never finishes
        j.nodes.append(node)
        if proposal.retrieval is not None:
            self.record.record_retrieval(node.id, proposal.retrieval)
        if self.options.mode == "approve" and kind != "baseline" and self.hooks.approve:
            await self.emit("approval_needed", node=node)
            approval: Approval = await _maybe_await(self.hooks.approve(node))
            if approval.action == "reject":
                node.status, node.approval = "rejected", "rejected"
                node.error = f"rejected by the human: {approval.comment}".strip()
                if approval.comment:
                    j.feedback.append(approval.comment)
                self.record.record_node(node, outcome="**Rejected by the human.** " + approval.comment)
                self.save()
                await self.emit("node_finished", node=node, result=None)
                return node
            if approval.action == "edit" and approval.code is not None:
                node.code, node.approval = approval.code, "edited"
            else:
                node.approval = "approved"
            if approval.comment:
                j.feedback.append(approval.comment)
        self.save()  # the journal has the code before it runs; resume records pending nodes
        await self.emit("node_started", node=node)
        reference = self._fixes_baseline(node)
        if not reference:
            self.judge.artifacts.set_aside(self.runtime, self.workspace)
        before = snapshot(self.workspace)
        assert self.executor is not None
        result = await self.executor.arun(node.code)
        node.elapsed, node.output = result.elapsed, result.for_llm(3000)
        node.lost_state, node.message = result.lost_state, result.message
        if not result.ok:
            node.status = result.status
            node.error = f"{result.ename}: {result.evalue}" if result.ename else result.message
        elif changed := self.runtime.read_only_changes(self.workspace):
            node.status = "error"
            node.error = f"modified read-only files: {', '.join(changed)}"
            self.runtime.restore_read_only(self.workspace)
        elif reference:
            await self.judge.score_reference(node, result, before, snapshot(self.workspace),
                                             self.workspace)
        else:
            await self.judge.score(node, result, before, snapshot(self.workspace), self.workspace)
        self._lost_state = result.lost_state
        self._charge(node, meter)  # now with the review of the output
        self.record.record_node(node, outputs=result.outputs,
                                execution_count=result.execution_count, outcome=self.outcome(node))
        self.save()
        await self.emit("node_finished", node=node, result=result)
        return node

    def outcome(self, node: Node) -> str:
        """The line under a node's cell in the record: its result, or why it failed."""
        j = self.journal
        if node.metric is not None:
            gain = j.improvement(node.metric)
            rel = f" ({gain:+.1%} vs baseline)" if gain is not None and node.id != j.reference else ""
            which = {"validation": "validation ", "test": "test "}.get(j.selection or "", "")
            text = (f"**Result:** {which}{self.task.metric.name} = {node.metric:.6g}{rel}, "
                    f"from {node.metric_source}, in {node.elapsed:.1f} s.")
            if node.id == j.reference and j.selection:
                text += f" Selection: {SELECTION_NOTES[j.selection]}."
            if node.test_metric is not None and j.selection == "validation":
                text += f" Held-out test {self.task.metric.name} = {node.test_metric:.6g} ({j.test_source})."
            return text
        if node.status == "no_metric":
            return f"**Result:** ran, but has no metric: {node.message or 'no MLR_METRIC line'}."
        return f"**Failed ({node.status}):** {node.error or node.message}. The code is kept below as a raw cell."


class _DeadlineHit(Exception):
    """The deadline passed while an LLM call was in flight."""


def _now() -> str:
    from .journal import now_iso

    return now_iso()
