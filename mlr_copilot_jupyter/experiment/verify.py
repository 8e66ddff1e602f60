"""Verification: the best node's lineage replayed in a fresh kernel and a fresh workspace.

A candidate is verified when the replay reproduces its metric (within ``rel_tol`` relative or
``abs_tol`` absolute; timings get at least 25%). Only then is its test metric scored. Candidates
are tried best first, up to ``max_verify``; a failed replay says why in one line.

A stage of the runner (:func:`.runner.arun`) after the search: it works on the run through the
agent's public parts (:class:`Verified`), never the other way round.
"""

from __future__ import annotations

from typing import Protocol

from .journal import Journal, Node
from .judge import Judge, replay_failure
from .options import RunOptions
from .record import RecordNotebook
from .runtime import Runtime, snapshot
from .task import Task


class Verified(Protocol):
    """What verification needs of a run (an :class:`~.agent.ExperimentAgent` has it)."""

    task: Task
    journal: Journal
    record: RecordNotebook
    options: RunOptions
    runtime: Runtime
    judge: Judge

    def save(self) -> None: ...

    def outcome(self, node: Node) -> str: ...


async def verify_best(agent: Verified) -> None:
    """Verify the best nodes in turn; set ``journal.best_node`` to the first that reproduces."""
    j, opts = agent.journal, agent.options
    tried: set[str] = set()
    while len(tried) < opts.max_verify:
        candidate = j.best(exclude=tried)
        if candidate is None:
            break
        tried.add(candidate.id)
        reproduced, test, error = await replay(agent, candidate)
        candidate.verified_metric, candidate.verify_error = reproduced, error
        tolerance = replay_tolerance(agent, candidate.metric)
        candidate.verified = (reproduced is not None and candidate.metric is not None
                              and abs(reproduced - candidate.metric) <= tolerance)
        if candidate.verified and test is not None and candidate.id != j.reference:
            candidate.test_metric, candidate.test_message = test
            if agent.judge.cross_check(candidate, "best node", consequence="It is not selected; "
                                       "the next best node is tried"):
                candidate.verified = False  # never select on a suspect value
                candidate.verify_error = ("its validation and test figures disagree (see the "
                                          "warning); not selected on a suspect value")
        elif not candidate.verified and not error:
            candidate.verify_error = (f"the replay gave {reproduced} instead of "
                                      f"{candidate.metric:.6g}" if reproduced is not None else
                                      "the replay reported no metric")
        agent.record.record_node(candidate, outcome=agent.outcome(candidate)
                                 + verify_line(candidate))
        agent.save()
        if candidate.verified:
            j.best_node = candidate.id
            break


#: The least absolute tolerance of a timing's replay, in the metric's units (seconds, as a
#: runtime metric usually is): a Python start-up alone varies by about this much on a busy
#: machine, which no relative tolerance covers for a short runtime (0.30 s, then 0.22 s).
TIMING_ABS_TOL = 0.1


def is_timing(agent: Verified) -> bool:
    """Whether the task's metric is a measured time (noisy from one run to the next)."""
    name = agent.task.metric.name.lower()
    return any(word in name for word in ("time", "latency", "second", "elapsed", "speed"))


def rel_tol(agent: Verified) -> float:
    """Relative tolerance of a replay: timings are noisy, so they get at least 25%."""
    return max(agent.options.rel_tol, 0.25) if is_timing(agent) else agent.options.rel_tol


def replay_tolerance(agent: Verified, metric: float | None) -> float:
    """How far a replay may land from ``metric`` and still reproduce it: the larger of the
    absolute and the relative tolerance, and for a timing at least :data:`TIMING_ABS_TOL`."""
    tolerance = max(agent.options.abs_tol, rel_tol(agent) * abs(metric or 0.0))
    return max(tolerance, TIMING_ABS_TOL) if is_timing(agent) else tolerance


def verify_line(node: Node) -> str:
    if node.verified:
        return (f"\n\n**Verified:** replayed in a fresh kernel and a fresh workspace, it gave "
                f"{node.verified_metric:.6g}.")
    return f"\n\n**Not verified:** {node.verify_error}."


async def replay(agent: Verified, candidate: Node
                 ) -> tuple[float | None, tuple[float | None, str] | None, str]:
    """Replay ``candidate``'s lineage in a fresh kernel and workspace; score it there.

    Returns (metric, test score or None, why it failed).
    """
    j, runtime, judge = agent.journal, agent.runtime, agent.judge
    workspace = runtime.fresh_workspace(candidate.id)
    executor = runtime.executor(workspace, label=f"verify-{candidate.id}")
    lineage = j.lineage(candidate.id)
    try:
        await executor.astart()
        for node in lineage:
            if node.id == candidate.id and candidate.id != j.reference:
                judge.artifacts.set_aside(runtime, workspace)
            before = snapshot(workspace)
            result = await executor.arun(node.code)
            if not result.ok:
                return None, None, replay_failure(node, result, j, lineage)
            if node.id != candidate.id:
                continue
            probe = Node(id=f"verify-{node.id}", kind=node.kind, step=node.step, code=node.code)
            if candidate.id == j.reference:
                await judge.score_reference(probe, result, before, snapshot(workspace), workspace)
                j.reference = candidate.id  # scoring a probe must not move the reference
                return probe.metric, None, probe.message
            await judge.score(probe, result, before, snapshot(workspace), workspace)
            test = None
            if j.selection == "validation" and judge.file_scored:
                test = await judge.test(workspace)
            return probe.metric, test, probe.message if probe.metric is None else ""
        return None, None, "the lineage is empty"
    finally:
        await executor.ashutdown()
        runtime.discard_workspace(workspace)
