"""``ResearchService``: what the MCP tools do, as plain methods over one :class:`Copilot`.

Blocking work (papers, ideas, batch) runs in worker threads, one research operation at a time
(the research state is one JSON file). Experiments run as
:class:`~mlr_copilot_jupyter.experiment.background.BackgroundRun` threads, several at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError
from ..models import Idea, ResearchProblem
from ..options_spec import IDEAS_N, ExperimentOptions
from .guard import Folders, Redactor
from .runs import RunRegistry, run_resources

Decision = Literal["accept", "reject", "reset", "edit"]
CellAction = Literal["approve", "edit", "reject"]
#: The fields extract_problem returns, in order (``engine`` and ``related_works`` last).
PROBLEM_FIELDS: tuple[str, ...] = (
    *(name for name in ResearchProblem.model_fields if name not in {"related_works", "engine"}),
    "related_works", "engine")
EDITABLE = ("title", "hypothesis", "rationale", "comment")


def idea_brief(idea: Idea) -> dict[str, Any]:
    """An idea as an agent reads it: text, plan, review scores and decision."""
    review = idea.review
    return {
        "id": idea.id, "title": idea.title, "hypothesis": idea.hypothesis,
        "rationale": idea.rationale, "plan": idea.plan.model_dump(mode="json"),
        "status": idea.status, "comment": idea.comment,
        "review": review.model_dump(mode="json") if review else None,
        "overall": review.overall if review else None,
    }


class ResearchService:
    """The research line and the experiment runs behind one MCP server."""

    def __init__(self, copilot: Any, folders: Folders, *, human_approval: bool = False,
                 redactor: Redactor | None = None) -> None:
        self.copilot = copilot
        self.folders = folders
        self.human_approval = human_approval
        self.redactor = redactor or Redactor()
        self.runs = RunRegistry()
        self.lock = threading.Lock()

    # -- IdeaAgent ---------------------------------------------------------------------------
    def read_paper(self, source: str) -> dict[str, Any]:
        resolved = self.folders.paper_source(source)
        with self.lock:
            paper = self.copilot.read_paper(resolved)
        return {"title": paper.title, "source": paper.source, "abstract": paper.abstract,
                "sections": sorted(paper.sections), "characters": len(paper.text),
                "pages": paper.n_pages, "engine": self.copilot.backend.describe()}

    def extract_problem(self) -> dict[str, Any]:
        with self.lock:
            problem = self.copilot.extract_problem()
        data = problem.model_dump(mode="json", exclude={"related_works"})
        data["related_works"] = [{"title": w.title, "year": w.year, "url": w.url,
                                  "source": w.source} for w in problem.related_works]
        data["engine"] = problem.engine
        return data

    def generate_ideas(self, n: int, keep_existing: bool,
                       semantic_scholar: bool = True) -> dict[str, Any]:
        IDEAS_N.check(n)  # -n's one range (options_spec), as on the CLI and the magics
        with self.lock:
            if semantic_scholar:  # as `mlr-copilot ideas` and %mlr_idea: soft when offline
                self.copilot.related_by_default()
            ideas = self.copilot.generate_ideas(n, keep_existing=keep_existing)
            warnings = [self.redactor.text(w) for w in self.copilot.warnings]
            self.copilot.warnings.clear()
        return {"ideas": [idea_brief(i) for i in ideas], "engine": self.copilot.backend.describe(),
                "related_works": len(self.copilot.state.related_works), "warnings": warnings}

    def review_ideas(self) -> dict[str, Any]:
        from ..types import RANKING_FORMULA

        with self.lock:
            ranked = self.copilot.review_ideas()
        return {"ranking": RANKING_FORMULA, "ideas": [idea_brief(i) for i in ranked]}

    def decide_idea(self, idea_id: str, action: Decision, comment: str,
                    edits: dict[str, str] | None) -> dict[str, Any]:
        comment = self.redactor.text(comment)  # a pasted key must not reach the state file
        edits = {k: self.redactor.text(v) for k, v in edits.items()} if edits else edits
        with self.lock:
            if action == "edit":
                if not edits:
                    raise InputError("action 'edit' needs edits, e.g. {\"hypothesis\": \"...\"}")
                plan_fields = set(type(self.copilot.state.idea(idea_id).plan).model_fields)
                bad = [k for k in edits if k not in EDITABLE and k not in plan_fields]
                if bad:
                    raise InputError(f"cannot edit {', '.join(bad)} of an idea",
                                     hint=f"editable: {', '.join([*EDITABLE, *sorted(plan_fields)])}")
                idea = self.copilot.edit_idea(idea_id, **edits)
            else:
                idea = self.copilot.decide(idea_id, action, comment)
        return idea_brief(idea)

    def state(self) -> dict[str, Any]:
        """The research state: paper, problem, ideas, decisions and runs (no full paper text)."""
        state = self.copilot.state
        data = state.model_dump(mode="json", exclude={"paper": {"text", "sections"}})
        data["state_file"] = str(self.copilot.state_path)
        data["engine"] = self.copilot.backend.describe()
        return data

    # -- ExperimentAgent ---------------------------------------------------------------------
    def start_run(self, task: str | None, *, idea_id: str | None, plan: str,
                  max_steps: int | None, mode: str, seed: int | None, verify: bool,
                  resume: str | None) -> Any:
        # the options' one check each (options_spec), as on the CLI and the magics
        options = ExperimentOptions(max_steps=max_steps, mode=mode, seed=seed, verify=verify)
        if resume:
            folder = self.folders.run_dir(resume)
            if resume in self.runs.live and not self.runs.live[resume].done:
                raise InputError(f"run {resume} is still running", hint="stop_run it first")
            run = self.copilot.start_experiment(
                "", resume=folder, options=ExperimentOptions(max_steps=max_steps))
        else:
            if task is None:
                raise InputError("task is missing",
                                 hint="pass a bundled task such as 'digits', or a task folder")
            resolved = self.folders.task(task)
            plan = self.redactor.text(plan)
            idea = self.copilot.state.idea(idea_id) if idea_id else None
            run = self.copilot.start_experiment(resolved, idea=idea, plan=plan, options=options)
        self.runs.add(run)
        return run

    def started(self, run: Any) -> dict[str, Any]:
        return {"run_id": run.run_id, "status": "running", "mode": run.mode,
                "run_dir": str(run.run_dir), "resources": run_resources(run.run_id),
                "next": "poll run_status(run_id) until report_ready is true, then get_report(run_id)"}

    def run_status(self, run_id: str) -> dict[str, Any]:
        return self.runs.status(run_id, self.folders.run_dir(run_id))

    def send_feedback(self, run_id: str, text: str) -> dict[str, Any]:
        self.folders.run_dir(run_id)
        run = self.runs.get(run_id)
        if run.done:
            raise InputError(f"run {run_id} has ended; feedback would not be read")
        text = self.redactor.text(text)
        run.feedback(text)
        return {"run_id": run_id, "queued": True, "feedback": text.strip()}

    def decide_cell(self, run_id: str, action: CellAction, code: str | None,
                    comment: str) -> dict[str, Any]:
        self.folders.run_dir(run_id)
        if self.human_approval:
            raise InputError("this server runs with --human-approval: only a person may approve, "
                             "edit or reject cells",
                             hint="open the run in Jupyter (the experiment monitor) to decide")
        run = self.runs.get(run_id)
        pending = run.pending
        if pending is None:
            raise InputError(f"run {run_id} has no cell waiting for approval",
                             hint="run_status shows pending_approval when one is waiting")
        node_id = pending.node.id
        comment, code = self.redactor.text(comment), self.redactor.text(code) if code else code
        if action == "approve":
            run.approve(comment=comment)
        elif action == "edit":
            if not code or not code.strip():
                raise InputError("action 'edit' needs the new code")
            run.approve(code=code, comment=comment)
        else:
            run.reject(comment)
        return {"run_id": run_id, "node_id": node_id, "action": action}

    def stop_run(self, run_id: str) -> Any:
        self.folders.run_dir(run_id)
        run = self.runs.get(run_id)
        run.stop()
        return run

    def report(self, run_id: str) -> dict[str, Any]:
        folder = self.folders.run_dir(run_id)
        report = folder / "report.md"
        run = self.runs.live.get(run_id)
        if not report.is_file():
            raise InputError(f"run {run_id} has no report yet",
                             hint="the report is written when the run ends; see run_status")
        return {"run_id": run_id, "markdown": report.read_text(encoding="utf-8"),
                "record_path": str(folder / "experiment.ipynb"),
                "journal_path": str(folder / "journal.json"),
                "summary": run.summary if run is not None else None,
                "resources": run_resources(run_id)}

    def comparison(self, runs: Sequence[Any], idea_ids: Sequence[str]) -> dict[str, Any]:
        rows = []
        for idea_id, run in zip(idea_ids, runs, strict=True):
            s = run.summary or {}
            rows.append({"idea_id": idea_id, "run_id": run.run_id, "status": s.get("status"),
                         "metric": s.get("metric"), "baseline": s.get("baseline_metric"),
                         "best": s.get("best_metric"), "verified": s.get("verified"),
                         "relative_improvement": s.get("relative_improvement"),
                         "selection": s.get("selection"),
                         "baseline_test": s.get("baseline_test_metric"),
                         "best_test": s.get("best_test_metric"),
                         "test_improvement": s.get("test_improvement"),
                         "error": run.error})
        direction = (runs[0].summary or {}).get("direction", "maximize") if runs else "maximize"
        sign = 1 if direction == "maximize" else -1
        scored = [r for r in rows if r["best"] is not None and r["verified"]]
        winner = max(scored, key=lambda r: sign * r["best"])["idea_id"] if scored else None
        header = "| idea | run | status | baseline | best (verified) |\n|---|---|---|---|---|\n"
        table = header + "".join(
            f"| {r['idea_id']} | {r['run_id']} | {r['status']} | {r['baseline']} | {r['best']}"
            f"{'' if r['verified'] else ' (not verified)'} |\n" for r in rows)
        return {"rows": rows, "best_idea": winner, "direction": direction, "table": table}

    def batch(self, notebooks: Sequence[str], params: dict[str, list[Any]] | None,
              out: str | None, workers: int) -> dict[str, Any]:
        if not notebooks:
            raise InputError("no notebooks given")
        if workers < 1 or workers > 16:
            raise InputError(f"workers must be between 1 and 16, got {workers}")
        paths = [self.folders.path(n, "notebook path") for n in notebooks]
        target = (self.folders.path(out, "output folder") if out
                  else self.folders.run_root / "batch")
        with self.lock:
            table = self.copilot.batch(paths, params, out=target, workers=workers,
                                       progress=False)
        rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        return {"out": str(Path(target)), "rows": rows, "executions": len(rows)}
