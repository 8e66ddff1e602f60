"""The journal: the tree of experiment nodes (baseline / draft / improve / debug), as in AIDE.

Each node is one step of the search: a plan with its rationale and the code cell that tests it,
what happened when the code ran, and the metric it produced. The journal is saved as
``journal.json`` beside the record notebook after every node, and a run resumes from it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, computed_field

from ..atomic import atomic_write_text
from ..errors import InputError
from ..llm.budget import Spend

NodeKind = Literal["baseline", "draft", "improve", "debug"]
NodeStatus = Literal["pending", "ok", "error", "timeout", "dead", "rejected", "no_metric",
                     "llm_error"]
RunStatus = Literal["running", "done", "interrupted", "failed"]
#: What the search selects on: the validation metric the cells report (the held-out test is
#: scored once, for the verified best node), the test metric itself (a task without validation
#: data: said in the report), or the one metric cells report (a task with no held-out split).
Selection = Literal["validation", "test", "reported"]
SELECTION_NOTES: dict[str, str] = {
    "validation": "selected on the validation metric the cells report; the held-out test split "
                  "is scored once, for the verified best node (and the baseline)",
    "test": "selected on the test metric: the task gives no validation metric, so the reported "
            "gain is optimistic (selection and report use the same data)",
    "reported": "selected on the metric the cells report: the task has no held-out split, so "
                "selection and report use the same data",
}
JOURNAL_FILE = "journal.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Node(BaseModel):
    """One step of the search."""

    id: str
    parent: str | None = None
    kind: NodeKind
    step: int
    title: str = ""
    plan: str = ""
    code: str = ""
    recipe: str | None = None
    status: NodeStatus = "pending"
    metric: float | None = None
    metric_source: str = Field(default="", description="'MLR_METRIC', 'eval.py' or 'llm'.")
    output: str = Field(default="", description="Head+tail of the output, as the agent saw it.")
    error: str = ""
    message: str = ""
    lost_state: bool = False
    elapsed: float = 0.0
    tokens: int = 0
    usage: Spend = Field(default_factory=Spend, description="LLM usage of proposing, reviewing "
                         "(and, for llm_error nodes, failing to propose) this node.")
    feedback: str = ""
    approval: str = Field(default="auto", description="auto, approved, edited or rejected.")
    verified: bool | None = None
    verified_metric: float | None = None
    verify_error: str = Field(default="", description="Why the replay in a fresh kernel and "
                              "workspace did not reproduce the metric.")
    test_metric: float | None = Field(default=None, description="Held-out test score (eval.py "
                                      "or the copilot's scorer): baseline and verified best only.")
    test_message: str = ""
    review: str = Field(default="", description="The review of the output (LLM or heuristic).")
    created: str = Field(default_factory=now_iso)

    @property
    def is_buggy(self) -> bool:
        return self.status in {"error", "timeout", "dead"}

    @property
    def is_good(self) -> bool:
        return self.status == "ok" and self.metric is not None


class Journal(BaseModel):
    """All nodes of a run plus its headline facts; JSON round-trippable."""

    run_id: str
    task: str
    metric_name: str
    direction: Literal["maximize", "minimize"]
    nodes: list[Node] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list)
    status: RunStatus = "running"
    best_node: str | None = None
    message: str = ""
    started: str = Field(default_factory=now_iso)
    finished: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    selection: Selection | None = None
    metric_evidence: str = Field(default="", description="How metric name and direction were "
                                 "determined, quoting the words.")
    metric_origin: str = ""
    warnings: list[str] = Field(default_factory=list)
    sandbox: dict[str, Any] = Field(default_factory=dict, description="Which sandbox ran the "
                                    "run's kernels (kernels.sandbox.SandboxStatus.to_dict()).")
    reference: str | None = Field(default=None, description="The first working version of the "
                                  "baseline (the baseline, or the debug node that fixed it).")
    artifacts: list[str] = Field(default_factory=list, description="Files the scorer reads; "
                                 "set aside before each node's cell.")
    test_source: str = Field(default="", description="'eval.py' or 'held-out split'.")
    required_artifacts: list[str] = Field(default_factory=list, description="The artifacts a "
                                          "node must write itself to be scored.")
    answers_held_out: list[str] = Field(default_factory=list, description="Answer files of "
                                        "env/ whose labels the agent's copy has blanked.")
    validation: str = Field(default="", description="Where the baseline's validation score came "
                            "from when it printed none (a dev file, or carved rows and seed).")
    verify_usage: Spend = Field(default_factory=Spend, description="LLM usage of verification "
                                "(the reviews of the replays).")
    stopped_by: str = Field(default="", description="The limit that ended the search: "
                            "'token_budget', 'cost_budget' or 'deadline' ('' otherwise).")
    stop_reason: str = Field(default="", description="Why, in one line, e.g. 'token budget of "
                             "5000 reached (5210 tokens used)'.")
    limits: dict[str, Any] = Field(default_factory=dict, description="The budgets of the run's "
                                   "last start (token_budget, cost_budget, deadline, prices).")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usage(self) -> Spend:
        """LLM usage of the whole run: every node plus verification (resumes included)."""
        total = self.verify_usage
        for node in self.nodes:
            total = total + node.usage
        return total

    # -- queries ---------------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def next_id(self) -> str:
        return f"n{len(self.nodes)}"

    @property
    def baseline(self) -> Node | None:
        return next((n for n in self.nodes if n.kind == "baseline"), None)

    def better(self, a: float, b: float) -> bool:
        """Whether metric ``a`` is better than ``b`` in this task's direction."""
        return a > b if self.direction == "maximize" else a < b

    def good_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.is_good]

    def best(self, *, exclude: set[str] | frozenset[str] = frozenset()) -> Node | None:
        """The best node by metric (ties: the earlier node)."""
        best: Node | None = None
        for node in self.good_nodes():
            if node.id in exclude or node.verified is False:
                continue
            if best is None or self.better(node.metric, best.metric):  # type: ignore[arg-type]
                best = node
        return best

    def children(self, node_id: str) -> list[Node]:
        return [n for n in self.nodes if n.parent == node_id]

    def debug_depth(self, node: Node) -> int:
        depth = 0
        while node.kind == "debug" and node.parent is not None:
            depth += 1
            node = self.node(node.parent)
        return depth

    def buggy_leaves(self, max_depth: int) -> list[Node]:
        """Failed nodes nobody has tried to fix yet, whose debug chain is not too deep."""
        return [n for n in self.nodes if n.is_buggy
                and not [c for c in self.children(n.id) if c.status != "llm_error"]
                and self.debug_depth(n) < max_depth]

    def lineage(self, node_id: str) -> list[Node]:
        """The successful nodes whose cells, run in order, rebuild ``node_id``'s kernel state.

        A debug node replaces the failed node it fixes, so failed ancestors are skipped.
        """
        chain: list[Node] = []
        node: Node | None = self.node(node_id)
        while node is not None:
            if node.id == node_id or node.status == "ok" or node.status == "no_metric":
                chain.append(node)
            node = self.node(node.parent) if node.parent else None
        return list(reversed(chain))

    @property
    def reference_node(self) -> Node | None:
        """The first working version of the baseline, which improvements are measured against."""
        return self.node(self.reference) if self.reference else None

    def relative(self, value: float | None, base: float | None) -> float | None:
        """Relative improvement of ``value`` over ``base``, direction-aware."""
        if value is None or base is None or base == 0:
            return None
        delta = value - base if self.direction == "maximize" else base - value
        return delta / abs(base)

    def improvement(self, value: float | None) -> float | None:
        """Relative improvement of ``value`` over the reference (working baseline) metric."""
        ref = self.reference_node
        return self.relative(value, ref.metric if ref else None)

    def test_improvement(self) -> float | None:
        """Relative improvement of the verified best node over the reference on the test split."""
        ref = self.reference_node
        best = self.node(self.best_node) if self.best_node else None
        if ref is None or best is None:
            return None
        return self.relative(best.test_metric, ref.test_metric)

    def summary_for_prompt(self, max_nodes: int = 8, max_chars: int = 2400) -> str:
        """A bounded summary of the search so far: the best nodes and the most recent ones.

        Bounded in both nodes and characters, so the prompt does not grow with the step count.
        """
        picked: dict[str, Node] = {}
        good = sorted(self.good_nodes(), key=lambda n: n.metric or 0.0,
                      reverse=self.direction == "maximize")
        for node in good[: max_nodes // 2] + self.nodes[-(max_nodes - max_nodes // 2):]:
            picked[node.id] = node
        lines = []
        for node in sorted(picked.values(), key=lambda n: n.step):
            metric = f"{self.metric_name}={node.metric:.4g}" if node.metric is not None else node.status
            what = (node.title or node.plan.split("\n", 1)[0])[:120]
            lines.append(f"- {node.id} ({node.kind}, parent {node.parent or '-'}): {what} -> {metric}")
        skipped = len(self.nodes) - len(picked)
        if skipped > 0:
            lines.insert(0, f"({skipped} earlier nodes not shown)")
        text = "\n".join(lines)
        return text if len(text) <= max_chars else text[: max_chars - 20] + "\n[... truncated]"

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.model_dump_json(indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Journal:
        file = Path(path)
        try:
            return cls.model_validate(json.loads(file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError(f"no journal at {file}", hint="is this a run folder?") from None
        except (json.JSONDecodeError, ValidationError, UnicodeDecodeError) as exc:
            raise InputError(f"journal {file} is not valid ({str(exc).splitlines()[0]})") from None
