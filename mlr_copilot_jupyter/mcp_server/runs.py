"""The experiment runs an MCP server started: status, following with progress, cancellation."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from ..errors import InputError

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]


def node_brief(node: Any) -> dict[str, Any] | None:
    """The facts of one journal node an agent needs (no code, no output)."""
    if node is None:
        return None
    get = node.get if isinstance(node, dict) else (lambda k, d=None: getattr(node, k, d))
    return {"id": get("id"), "kind": get("kind"), "step": get("step"), "title": get("title"),
            "status": get("status"), "metric": get("metric"), "error": get("error") or ""}


#: What ``run_status`` returns, field by field (the tool's description is made from this, and a
#: test holds the returned keys to it).
STATUS_FIELDS: dict[str, str] = {
    "run_id": "the run's id",
    "status": "running (the search), verifying (the best node replayed in a fresh kernel), "
              "reporting (writing the report), then done, interrupted or failed",
    "done": "true once the run has ended, whatever the outcome",
    "report_ready": "true once the run has ended and its report is written: wait for this "
                    "before get_report",
    "mode": "auto or approve",
    "error": "why the run ended early, or null",
    "message": "the journal's last message (e.g. how to resume)",
    "metric": "the metric's name",
    "direction": "maximize or minimize",
    "progress": "{nodes, steps_done, max_steps}",
    "best": "the best node so far {id, kind, step, title, status, metric, error}, or null",
    "last_node": "the latest node, same fields, or null",
    "pending_approval": "in approve mode, the cell waiting for decide_cell {node_id, kind, "
                        "title, plan, code}, else null",
    "run_dir": "the run's folder",
    "resources": "the mlr:// resources of the record notebook, journal and report",
}


def describe_fields(fields: dict[str, str]) -> str:
    """``fields`` as a description's list: "`name`: meaning; ..."."""
    return "; ".join(f"`{name}`: {meaning}" for name, meaning in fields.items())


class RunRegistry:
    """Background runs by id, and the status of any run found on disk in the run folder."""

    def __init__(self) -> None:
        self.live: dict[str, Any] = {}

    def add(self, run: Any) -> None:
        self.live[run.run_id] = run

    def get(self, run_id: str) -> Any:
        run = self.live.get(run_id)
        if run is None:
            raise InputError(f"run {run_id!r} is not running in this server",
                             hint="it may have been started elsewhere; resume it with "
                                  "run_experiment(resume=RUN_ID)")
        return run

    def status(self, run_id: str, run_dir: Path) -> dict[str, Any]:
        """Progress, best metric, last node and any pending approval of a run."""
        run = self.live.get(run_id)
        if run is not None:
            journal = run.journal.model_dump(mode="json")
            max_steps = run.agent.options.max_steps
            pending = run.pending
            approval = None if pending is None else {
                "node_id": pending.node.id, "kind": pending.node.kind,
                "title": pending.node.title, "plan": pending.node.plan,
                "code": pending.node.code}
            done, error, mode = run.done, run.error, run.mode
            status = run.phase
        else:
            journal = json.loads((run_dir / "journal.json").read_text(encoding="utf-8"))
            max_steps = journal.get("settings", {}).get("options", {}).get("max_steps")
            approval, done, error = None, journal.get("status") != "running", None
            mode = journal.get("settings", {}).get("options", {}).get("mode", "auto")
            status = journal.get("status")
            if status == "running":  # not ours and not finished: it was killed
                done, error = True, "the run is not active in this server (interrupted?)"
                status = "interrupted"
        nodes = journal.get("nodes", [])
        best = next((n for n in nodes if n["id"] == journal.get("best_node")), None)
        if best is None:
            good = [n for n in nodes if n.get("status") == "ok" and n.get("metric") is not None]
            sign = 1 if journal.get("direction") == "maximize" else -1
            best = max(good, key=lambda n: sign * n["metric"], default=None)
        steps_done = len([n for n in nodes if n.get("kind") != "baseline"
                          and n.get("status") != "pending"])
        report = run_dir / "report.md"
        return {
            "run_id": run_id, "status": status, "done": done,
            # the one field to wait on before get_report: the run has ended and its report is
            # written (a run killed before writing one never gets ready: `done` says it ended)
            "report_ready": bool(done and report.is_file()), "mode": mode,
            "error": error, "message": journal.get("message", ""),
            "metric": journal.get("metric_name"), "direction": journal.get("direction"),
            "progress": {"nodes": len(nodes), "steps_done": steps_done, "max_steps": max_steps},
            "best": node_brief(best), "last_node": node_brief(nodes[-1] if nodes else None),
            "pending_approval": approval, "run_dir": str(run_dir),
            "resources": run_resources(run_id),
        }


def run_resources(run_id: str) -> dict[str, str]:
    return {name: f"mlr://runs/{run_id}/{name}"
            for name in ("experiment.ipynb", "journal.json", "report.md")}


async def follow(runs: list[Any], progress: ProgressFn, *, poll: float = 0.25) -> None:
    """Wait until every run is done, reporting progress as nodes finish.

    If the MCP request is cancelled, each run is cancelled too (the cell is interrupted and the
    record saved), the wait for that save is shielded from the cancellation, and the cancellation
    is then re-raised so the SDK answers the request as cancelled.
    """
    last: tuple[int, ...] = ()
    try:
        while True:
            counts = tuple(len(r.journal.nodes) for r in runs)
            if counts != last:
                last = counts
                total = sum((r.agent.options.max_steps + 1) for r in runs)
                nodes = [r.journal.nodes[-1] for r in runs if r.journal.nodes]
                note = "; ".join(f"{r.run_id}: {n.kind} {n.id} {n.status}"
                                 for r, n in zip(runs, nodes, strict=False))
                await progress(float(min(sum(counts), total)), float(total), note or "starting")
            if all(r.done for r in runs):
                return
            await anyio.sleep(poll)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            for run in runs:
                run.cancel()
            for run in runs:
                await anyio.to_thread.run_sync(run.wait, 120.0)
        raise
