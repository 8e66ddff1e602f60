"""The experiment agent: an AIDE-style search over draft / improve / debug nodes in one kernel.

Each step: choose the kind of step and its parent, ask the policy for a plan and code, (in
``approve`` mode) let a human approve, edit or reject the cell, run it in the persistent kernel,
score it, and record it — the record notebook and ``journal.json`` are saved after every cell.
At the end the best node's lineage is re-run in a fresh kernel and must reproduce its metric
(within ``rel_tol`` relative or ``abs_tol`` absolute) before it is reported as the verified best.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import MLRCopilotError
from ..models import Idea
from .executor import KernelExecutor
from .journal import JOURNAL_FILE, Journal, Node, NodeKind
from .policies import Exhausted, LLMPolicy, OfflinePolicy, Proposal, StepRequest
from .record import RECORD_FILE, RecordNotebook
from .result import CellResult
from .scoring import eval_score, pick_metric
from .task import Task

EventHook = Callable[[str, dict[str, Any]], Any]


@dataclass
class Approval:
    """A human's decision on a proposed code cell."""

    action: Literal["approve", "edit", "reject"]
    code: str | None = None
    comment: str = ""


ApproveHook = Callable[[Node], "Approval | Awaitable[Approval]"]


@dataclass
class RunOptions:
    """Budgets and behaviour of one run."""

    max_steps: int = 10
    mode: Literal["auto", "approve"] = "auto"
    num_drafts: int = 3
    max_debug_depth: int = 3
    seed: int = 0
    cell_timeout: float | None = None
    wall_time: float | None = None
    verify: bool = True
    max_verify: int = 3
    rel_tol: float = 0.01
    abs_tol: float = 1e-4
    kernel_name: str = "python3"
    memory_limit_mb: int | None = None
    cpu_time_limit_s: int | None = None
    extra_env_deny: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse values that would silently switch a limit off (negative, zero, NaN)."""
        from ..errors import InputError

        def positive(flag: str, value: float | None, unit: str) -> None:
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InputError(f"{flag} must be a positive number of {unit}, got {value}")

        positive("--cell-timeout", self.cell_timeout, "seconds")
        positive("--wall-time", self.wall_time, "seconds")
        positive("--cpu-time-limit", self.cpu_time_limit_s, "seconds")
        if self.memory_limit_mb is not None and not self.memory_limit_mb >= 256:
            raise InputError(f"--memory-limit-mb must be at least 256 (a kernel needs that much "
                             f"address space), got {self.memory_limit_mb}")
        if self.max_steps < 0:
            raise InputError(f"--max-steps must be >= 0, got {self.max_steps}")
        if self.mode not in ("auto", "approve"):
            raise InputError(f"--mode must be auto or approve, got {self.mode!r}")


@dataclass
class Hooks:
    on_event: EventHook | None = None
    approve: ApproveHook | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class ExperimentAgent:
    """Runs (or resumes) one experiment in ``run_dir`` with a policy and hooks."""

    def __init__(self, task: Task, run_dir: Path, policy: OfflinePolicy | LLMPolicy, *,
                 journal: Journal, record: RecordNotebook, options: RunOptions,
                 idea: Idea | None = None, plan_text: str = "", hooks: Hooks | None = None) -> None:
        self.task, self.run_dir, self.policy = task, Path(run_dir), policy
        self.journal, self.record, self.options = journal, record, options
        self.idea, self.plan_text = idea, plan_text
        self.hooks = hooks or Hooks()
        self.workspace = self.run_dir / "workspace"
        self._stop_requested = False
        self._pending_feedback: list[str] = []
        self._lost_state = False
        self.executor: KernelExecutor | None = None

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

    def _save(self) -> None:
        self.journal.save(self.journal_path)

    async def _emit(self, event: str, **data: Any) -> None:
        if self.hooks.on_event is not None:
            try:
                await _maybe_await(self.hooks.on_event(event, data))
            except Exception as exc:  # a broken display must not break the run
                self.journal.message = f"event hook failed on {event}: {exc}"

    # -- the run ------------------------------------------------------------------------------
    async def arun(self) -> Journal:
        """Run the search to its budget, verify the best node, and return the journal."""
        opts = self.options
        self.journal.status = "running"
        self._save()
        started = time.monotonic()
        self.executor = KernelExecutor(
            self.run_dir, kernel_name=opts.kernel_name,
            cell_timeout=opts.cell_timeout or self.task.budget.cell_timeout_s,
            memory_limit_mb=opts.memory_limit_mb, cpu_time_limit_s=opts.cpu_time_limit_s,
            env_deny=opts.extra_env_deny, kernel_log=self.run_dir / "kernel.log",
            setup_code=self.record.setup_sources(),  # re-run after every kernel restart too
        )
        try:
            await self.executor.astart()
            await self._emit("run_started", run_id=self.journal.run_id)
            if self.journal.baseline is None:
                await self._step_baseline()
            while not self._stop_requested:
                done = sum(1 for n in self.journal.nodes if n.kind != "baseline")
                if done >= opts.max_steps:
                    break
                wall = opts.wall_time or self.task.budget.wall_time_s
                if time.monotonic() - started > wall:
                    self.journal.message = f"wall-time budget of {wall:g} s used up"
                    break
                kind, parent = self._next_step()
                try:
                    proposal = await self.policy.propose(self._request(kind, parent))
                except Exhausted as exc:
                    self.journal.message = str(exc)
                    break
                await self._step(kind, parent, proposal)
            if self._stop_requested:
                self.journal.message = "stopped by the user"
            if opts.verify:
                await self._verify()
            else:
                best = self.journal.best()
                self.journal.best_node = best.id if best else None
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
                self._save()
            except MLRCopilotError:
                if self.journal.status in {"done", "running"}:
                    raise  # the only error: the user must hear that the journal was not saved
                # else the first error is already on its way; keep it visible
            finally:
                await self.executor.ashutdown()
                await self._emit("run_finished", status=self.journal.status)
        return self.journal

    def _record_unfinished(self, why: str) -> None:
        """Persist before raising: a node whose cell never finished goes into the record too."""
        for node in self.journal.nodes:
            if node.status == "pending":
                node.status, node.error = "error", why
                try:
                    self.record.record_node(node, outcome=f"**{why[:1].upper()}{why[1:]}.**")
                except MLRCopilotError:  # the run folder itself may be what failed
                    pass

    async def _exec(self, code: str) -> CellResult:
        assert self.executor is not None
        return await self.executor.arun(code)

    # -- choosing steps -----------------------------------------------------------------------
    def _next_step(self) -> tuple[NodeKind, Node | None]:
        j, opts = self.journal, self.options
        drafts = [n for n in j.nodes if n.kind == "draft"]
        if len(drafts) < opts.num_drafts:
            return "draft", j.baseline
        buggy = j.buggy_leaves(opts.max_debug_depth)
        if buggy:
            return "debug", buggy[-1]
        best = j.best()
        if best is None or best.kind == "baseline":
            return "draft", j.baseline
        return "improve", best

    def _request(self, kind: NodeKind, parent: Node | None) -> StepRequest:
        return StepRequest(kind=kind, parent=parent, journal=self.journal, task=self.task,
                           idea=self.idea, plan_text=self.plan_text,
                           feedback=list(self.journal.feedback) + self._pending_feedback,
                           data_preview=self._data_preview(), lost_state=self._lost_state)

    def _data_preview(self) -> str:
        lines = []
        for rel in self.task.data_files[:3]:
            path = self.workspace / rel
            if path.suffix in {".csv", ".tsv", ".txt"} and path.is_file():
                with path.open(encoding="utf-8", errors="replace") as handle:
                    head = [next(handle, "")[:300] for _ in range(3)]
                lines.append(f"{rel}:\n" + "".join(head))
        return "\n".join(lines)

    # -- one step -----------------------------------------------------------------------------
    async def _step_baseline(self) -> None:
        from .recipes import baseline_code

        proposal = Proposal(title="Baseline", plan=(
            f"Run the task's baseline (`{self.task.baseline}`) unchanged, to measure the "
            f"{self.task.metric.name} every later step is compared with."),
            code=baseline_code(self.task))
        await self._step("baseline", None, proposal)

    async def _step(self, kind: NodeKind, parent: Node | None, proposal: Proposal) -> Node:
        j = self.journal
        feedback = "; ".join(self._pending_feedback)
        j.feedback.extend(self._pending_feedback)
        self._pending_feedback.clear()
        node = Node(id=j.next_id(), parent=parent.id if parent else None, kind=kind,
                    step=len(j.nodes), title=proposal.title, plan=proposal.plan,
                    code=proposal.code, recipe=proposal.recipe, tokens=proposal.tokens,
                    feedback=feedback)
        j.nodes.append(node)
        if proposal.retrieval is not None:
            self.record.record_retrieval(node.id, proposal.retrieval)
        if self.options.mode == "approve" and kind != "baseline" and self.hooks.approve:
            await self._emit("approval_needed", node=node)
            approval: Approval = await _maybe_await(self.hooks.approve(node))
            if approval.action == "reject":
                node.status, node.approval = "rejected", "rejected"
                node.error = f"rejected by the human: {approval.comment}".strip()
                if approval.comment:
                    j.feedback.append(approval.comment)
                self.record.record_node(node, outcome="**Rejected by the human.** " + approval.comment)
                self._save()
                await self._emit("node_finished", node=node, result=None)
                return node
            if approval.action == "edit" and approval.code is not None:
                node.code, node.approval = approval.code, "edited"
            else:
                node.approval = "approved"
            if approval.comment:
                j.feedback.append(approval.comment)
        self._save()  # the journal has the code before it runs; resume records pending nodes
        await self._emit("node_started", node=node)
        result = await self._exec(node.code)
        await self._score(node, result)
        self._lost_state = result.lost_state
        self.record.record_node(node, outputs=result.outputs,
                                execution_count=result.execution_count, outcome=self._outcome(node))
        self._save()
        await self._emit("node_finished", node=node, result=result)
        return node

    async def _score(self, node: Node, result: CellResult) -> None:
        node.elapsed = result.elapsed
        node.output = result.for_llm(3000)
        node.lost_state = result.lost_state
        node.message = result.message
        if not result.ok:
            node.status = result.status
            node.error = f"{result.ename}: {result.evalue}" if result.ename else result.message
            return
        changed = self.task.check_read_only(self.run_dir)
        if changed:
            node.status = "error"
            node.error = f"modified read-only files: {', '.join(changed)}"
            self.task.prepare_workspace(self.run_dir)  # restore the originals
            return
        if self.task.eval_script:
            node.metric, message = await eval_score(self.task, self.workspace)
            node.metric_source = "eval.py" if node.metric is not None else ""
            if node.metric is None:
                node.message = message
        else:
            node.metric = pick_metric(result.metrics, self.task.metric.name)
            node.metric_source = "MLR_METRIC" if node.metric is not None else ""
            if node.metric is None:
                node.metric = await self.policy.read_metric(result.stdout_text,
                                                            self.task.metric.name)
                node.metric_source = "llm" if node.metric is not None else ""
        node.status = "ok" if node.metric is not None else "no_metric"

    def _outcome(self, node: Node) -> str:
        if node.metric is not None:
            gain = self.journal.improvement(node.metric)
            rel = f" ({gain:+.1%} vs baseline)" if gain is not None and node.kind != "baseline" else ""
            return (f"**Result:** {self.task.metric.name} = {node.metric:.6g}{rel}, "
                    f"from {node.metric_source}, in {node.elapsed:.1f} s.")
        if node.status == "no_metric":
            return "**Result:** ran, but reported no metric (no MLR_METRIC line)."
        return f"**Failed ({node.status}):** {node.error or node.message}. The code is kept below as a raw cell."

    # -- verification ---------------------------------------------------------------------
    async def _verify(self) -> None:
        j, opts = self.journal, self.options
        await self._emit("verify_started")
        tried: set[str] = set()
        while len(tried) < opts.max_verify:
            candidate = j.best(exclude=tried)
            if candidate is None:
                break
            tried.add(candidate.id)
            assert self.executor is not None
            await self.executor.arestart()  # a fresh kernel; the executor re-runs the setup
            reproduced: float | None = None
            for node in j.lineage(candidate.id):
                result = await self._exec(node.code)
                if not result.ok:
                    break
                if node.id == candidate.id:
                    probe = Node(id="verify", kind=node.kind, step=node.step)
                    await self._score(probe, result)
                    reproduced = probe.metric
            candidate.verified_metric = reproduced
            tolerance = max(opts.abs_tol, opts.rel_tol * abs(candidate.metric or 0.0))
            candidate.verified = reproduced is not None and abs(reproduced - candidate.metric) <= tolerance  # type: ignore[operator]
            self._save()
            if candidate.verified:
                j.best_node = candidate.id
                break
        if j.best_node is None:
            j.message = (j.message + "; " if j.message else "") + "no result could be verified"
        await self._emit("verify_finished", best=j.best_node)


def _now() -> str:
    from .journal import now_iso

    return now_iso()
