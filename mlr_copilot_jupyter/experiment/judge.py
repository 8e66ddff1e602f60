"""What a node's numbers are worth: its own validation metric, its own artifacts, the test split.

The judge is part of the agent core: it decides from a :class:`CellResult`, two workspace
snapshots and the runtime's scorers, and never starts a kernel itself.

- The **validation metric** comes from the cell's ``MLR_METRIC`` line for the task's metric,
  else from the policy's review of the code and output (an LLM, or the offline engine's labelled
  heuristic readout).
- The **selection** of a run is fixed by its first working baseline (see :data:`SELECTION_NOTES`).
- A node is credited only with artifacts it wrote itself; a node that wrote none has no metric.
- The **test metric** (``eval.py`` or the held-out split) is scored for the baseline and, after
  verification, for the verified best node only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .journal import Journal, Node, Selection
from .result import CellResult
from .runtime import Artifacts, Runtime, Snapshot
from .task import Task, canonical_metric


@dataclass
class Verdict:
    """The numbers one execution earned."""

    metric: float | None
    source: str
    reason: str = ""  # why there is no metric
    bug: str = ""  # the review found the cell did not really work
    review: str = ""


def named_metric(metrics: list[dict[str, Any]], name: str) -> float | None:
    """The last reported value named like the task's metric; else the last value reported."""
    if not metrics:
        return None
    wanted = canonical_metric(name)
    for record in reversed(metrics):
        if canonical_metric(str(record.get("name", ""))) == wanted:
            return float(record["value"])
    return float(metrics[-1]["value"])


class Judge:
    """Scores executions for one run; see the module docstring."""

    def __init__(self, task: Task, journal: Journal, runtime: Runtime, policy: Any) -> None:
        self.task, self.journal, self.runtime, self.policy = task, journal, runtime, policy
        named = runtime.named_artifacts()
        self.artifacts = Artifacts(list(journal.artifacts) or list(named),
                                   list(journal.required_artifacts) or list(named))

    @property
    def file_scored(self) -> bool:
        return self.runtime.has_eval or self.runtime.has_heldout

    def selection(self) -> Selection:
        """The run's selection, or the one it will have when the baseline has not worked yet."""
        if self.journal.selection is not None:
            return self.journal.selection
        if self.runtime.has_heldout:
            return "validation"
        return "test" if self.runtime.has_eval else "reported"

    async def validation(self, node: Node, result: CellResult) -> Verdict:
        """The metric the cell itself reports (MLR_METRIC), else what the review reads."""
        value = named_metric(result.metrics, self.task.metric.name)
        source = "MLR_METRIC"
        verdict = Verdict(value, source)
        reviews_always = getattr(self.policy, "reviews_every_step", False)
        if value is None or reviews_always:
            review = await self._review(node, result)
            verdict.review = review.summary
            if value is None and review.metric is not None:
                # an unsure reading is kept but marked, in the node's metric source (the record)
                unsure = getattr(review, "unsure", "")
                verdict.metric = float(review.metric)
                verdict.source = f"{review.source} (unsure)" if unsure else review.source
            if not result.metrics:
                verdict.bug = _bug(review)
        if verdict.metric is None:
            verdict.reason = (f"the cell reported no {self.task.metric.name} "
                              "(no MLR_METRIC line, and none could be read from its output)")
        return verdict

    async def test(self, workspace: Path) -> tuple[float | None, str]:
        """The test score of the artifacts in ``workspace`` (held-out split, else eval.py)."""
        if self.runtime.has_heldout:
            value, message = await self.runtime.heldout_score(workspace)
            self.journal.test_source = "held-out split"
        elif self.runtime.has_eval:
            value, message = await self.runtime.eval_score(workspace)
            self.journal.test_source = "eval.py"
        else:
            return None, "the task has no held-out test split and no eval.py"
        return value, message

    def cross_check(self, node: Node, what: str, *, consequence: str = "") -> bool:
        """A loud warning (journal, record, report, monitor, CLI) when ``node``'s validation and
        held-out test figures cannot both be right (see :mod:`.crosscheck`); True then."""
        from .crosscheck import implausible

        why = implausible(self.task.metric.name, node.metric, node.test_metric)
        if why is None:
            return False
        warning = (f"the {what} (node {node.id}): {why}; one of them is probably misread or "
                   f"computed on the wrong data (read from {node.metric_source or 'its output'}"
                   f"). {consequence or 'Check the node output before trusting the selection'}")
        self._warn(warning)
        return True

    async def reread_reference(self, node: Node) -> None:
        """The baseline's validation figure disagrees with its test score: re-read it by scoring
        the baseline on validation data itself (a validation replay) rather than select on a
        suspect value; when that cannot be done, the value is marked suspect."""
        from .crosscheck import implausible

        value, how = None, "the task has a held-out split scored by the copilot"
        if self.runtime.has_eval and not self.runtime.has_heldout:
            value, how = await self.runtime.validation_replay(
                node.code, self.artifacts.required or self.artifacts.files)
        printed = node.metric
        if value is not None and implausible(self.task.metric.name, value, node.test_metric) is None:
            node.metric = value
            node.metric_source = f"{how} (re-read: the printed {printed:.6g} disagreed with the test)"
            self.journal.validation = how.removeprefix("validation replay: ")
            self._warn(f"the baseline's printed validation figure {printed:.6g} was replaced by "
                       f"its validation replay, {value:.6g}, which agrees with its test score")
            return
        node.metric_source = f"{node.metric_source} (suspect)"
        self._warn(f"the baseline's validation figure {printed:.6g} could not be re-read ({how}); "
                   "the search compares nodes against a suspect reference")

    def _warn(self, warning: str) -> None:
        """A loud warning, once (a verification replay of the baseline scores it again)."""
        if warning not in self.journal.warnings:
            self.journal.warnings.append(warning)

    async def score_reference(self, node: Node, result: CellResult, before: Snapshot,
                              after: Snapshot, workspace: Path) -> None:
        """Score a baseline (or its fix): it fixes the artifacts and the run's selection."""
        from .runtime import baseline_artifacts

        verdict = await self.validation(node, result)
        node.review = verdict.review
        self.artifacts = baseline_artifacts(self.runtime, before, after)
        self.journal.artifacts = list(self.artifacts.files)
        self.journal.required_artifacts = list(self.artifacts.required)
        selection: Selection = "reported"
        if self.file_scored:
            test, message = await self.test(workspace)
            node.test_metric, node.test_message = test, message
            if self.runtime.has_heldout or verdict.metric is not None:
                selection = "validation"
            else:
                # never select on the test split: score the baseline on validation data itself
                value, how = await self.runtime.validation_replay(node.code, self.artifacts.required
                                                                  or self.artifacts.files)
                if value is not None:
                    selection, verdict = "validation", Verdict(value, how)
                    self.journal.validation = how.removeprefix("validation replay: ")
                else:
                    selection = "test"
                    verdict = Verdict(test, self.journal.test_source, reason=message)
                    warning = (f"SELECTED ON THE TEST SPLIT: the baseline prints no validation "
                               f"metric and none could be computed ({how}); every node is "
                               "compared by eval.py's test score, so the reported gain is "
                               "optimistic. Print a validation metric in the baseline, or add a "
                               "labelled dev file")
                    self._warn(warning)
        node.metric, node.metric_source = verdict.metric, verdict.source
        replayable = self.runtime.has_eval and not self.runtime.has_heldout
        if selection == "validation" and self.cross_check(
                node, "baseline", consequence="Re-reading it from a validation replay"
                if replayable else "Its value is marked suspect"):
            await self.reread_reference(node)
        if node.metric is None:
            node.status, node.message = "no_metric", verdict.reason
            return
        node.status = "ok"
        self.journal.reference, self.journal.selection = node.id, selection

    async def score(self, node: Node, result: CellResult, before: Snapshot, after: Snapshot,
                    workspace: Path) -> None:
        """Score a search node from its own output and its own artifacts only."""
        selection = self.selection()
        unwritten = self.artifacts.unwritten(before, after) if self.file_scored else []
        if selection == "test":
            if unwritten:
                verdict = Verdict(None, "", reason=self._unwritten_reason(unwritten))
            else:
                value, message = await self.test(workspace)
                verdict = Verdict(value, self.journal.test_source, reason=message)
            if verdict.metric is not None or not unwritten:
                review = await self._review_only(node, result)
                verdict.bug, node.review = review.bug, review.review
        else:
            verdict = await self.validation(node, result)
            node.review = verdict.review
            if verdict.metric is not None and unwritten:
                verdict = Verdict(None, "", reason=self._unwritten_reason(unwritten))
        if verdict.bug:
            node.status, node.error = "error", verdict.bug
            return
        node.metric, node.metric_source = verdict.metric, verdict.source
        node.status = "ok" if node.metric is not None else "no_metric"
        if node.metric is None:
            node.message = verdict.reason

    async def _review(self, node: Node, result: CellResult) -> Any:
        """The policy's review of the cell's code and output (an LLM, or the labelled heuristic)."""
        return await self.policy.review(node.code, result.for_llm(8000), self.task,
                                        node_id=node.id)

    async def _review_only(self, node: Node, result: CellResult) -> Verdict:
        if not getattr(self.policy, "reviews_every_step", False):
            return Verdict(None, "")
        review = await self._review(node, result)
        return Verdict(None, "", bug=_bug(review), review=review.summary)

    def _unwritten_reason(self, unwritten: list[str]) -> str:
        names = ", ".join(unwritten[:4]) + (" ..." if len(unwritten) > 4 else "")
        scorer = "eval.py" if self.runtime.has_eval else "the held-out test scorer"
        return (f"did not write {names}, which {scorer} reads: a node is credited only with "
                "files it wrote itself")


def _bug(review: Any) -> str:
    """The failure a review found, as a node's error ('' when it found none)."""
    return f"the review found a bug: {review.summary}"[:500] if review.is_bug else ""


def replay_failure(node: Node, result: CellResult, journal: Journal, lineage: list[Node]) -> str:
    """One line on why a lineage replay failed, naming a variable only another node defined."""
    what = f"{result.ename}: {result.evalue}" if result.ename else (result.message or result.status)
    line = f"replay of {node.id} in a fresh kernel and workspace failed: {what}"
    match = re.search(r"name '(\w+)' is not defined", result.evalue or "")
    if result.ename == "NameError" and match:
        name = match.group(1)
        inside = {n.id for n in lineage}
        definers = [n.id for n in journal.nodes if n.id not in inside and _defines(n.code, name)]
        where = (f"only {', '.join(definers)} (outside its lineage) defines it" if definers
                 else "no cell of its lineage defines it")
        line += (f" — {node.id} uses `{name}` but {where}; each node's cells must be "
                 "self-contained")
    return line[:600]


def _defines(code: str, name: str) -> bool:
    word = re.escape(name)
    patterns = (rf"^\s*{word}\s*(?:,[^=\n]*)?=(?!=)", rf"^\s*(?:[\w\s,]*,\s*)?{word}\s*(?:,[^=\n]*)?=(?!=)",
                rf"^\s*(?:async\s+)?def\s+{word}\b", rf"^\s*class\s+{word}\b",
                rf"^\s*(?:from\s+\S+\s+)?import\s+.*\b{word}\b", rf"^\s*for\s+.*\b{word}\b.*\bin\b")
    return any(re.search(p, code, re.MULTILINE) for p in patterns)
