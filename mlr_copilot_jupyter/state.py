"""``ResearchState``: paper, problem, related works, ideas, decisions and runs, persisted as JSON.

The state file (``<run_dir>/state.json`` by default) is rewritten atomically after every change,
so a new kernel — or the CLI — can pick up where a notebook left off.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from .atomic import atomic_write_text
from .errors import InputError
from .models import Idea, Paper, RelatedWork, ResearchProblem

STATE_FILE = "state.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Decision(BaseModel):
    """One decision the researcher took on an idea (kept as a history, newest last)."""

    idea_id: str
    action: Literal["accept", "reject", "reset", "edit", "reorder", "run"]
    comment: str = ""
    time: str = Field(default_factory=now_iso)


class RunRef(BaseModel):
    """A pointer to an experiment run and its headline result."""

    run_id: str
    idea_id: str | None = None
    task: str = ""
    status: str = "pending"
    record_path: str = ""
    baseline_metric: float | None = None
    best_metric: float | None = None
    baseline_test_metric: float | None = None  # the held-out test split (or eval.py)
    best_test_metric: float | None = None
    metric_name: str = ""
    #: which sandbox ran the run's kernels ("bubblewrap: no network, workspace-only writes",
    #: "none: <reason>"; "" when not known) and whether it confined them (None: not known)
    sandbox: str = ""
    sandbox_active: bool | None = None
    updated: str = Field(default_factory=now_iso)


class ComparisonEntry(BaseModel):
    """One idea's experiment inside a comparison (its own kernel and record)."""

    idea_id: str
    title: str = ""
    run_id: str | None = None
    status: str = "pending"  # pending, running, done, failed, stopped
    record_path: str = ""
    best_metric: float | None = None  # validation, verified
    best_test_metric: float | None = None  # held-out test split (or eval.py)
    baseline_metric: float | None = None
    seed_mean: float | None = None  # mean validation metric over the seed re-runs
    seed_se: float | None = None
    error: str = ""
    baseline_test_metric: float | None = None
    seeds: list[float] = Field(default_factory=list)  # validation metric per seed, original first
    steps: int | None = None
    tokens: int | None = None
    elapsed_s: float | None = None
    sandbox: str = ""  # which sandbox ran its kernels (the run summary's "sandbox")


class ComparisonRef(BaseModel):
    """A comparison of several ideas on one task (``mlr-copilot compare``)."""

    comparison_id: str
    task: str = ""
    out_dir: str = ""
    notebook: str = ""  # compare.ipynb, once written
    metric_name: str = ""
    direction: str = ""  # maximize or minimize
    status: str = "running"  # running, done, interrupted, failed
    entries: list[ComparisonEntry] = Field(default_factory=list)
    winner_idea_id: str | None = None
    winner_run_id: str | None = None
    verdict: str = ""  # one sentence: which idea won, by how much, and how sure
    executor: str = ""  # where the runs ran (local process pool, Dask ...)
    csv: str = ""  # comparison.csv, once written
    plot: str = ""  # comparison.png, once written
    updated: str = Field(default_factory=now_iso)


class ResearchState(BaseModel):
    """Everything the copilot knows about one line of research."""

    version: int = 1
    paper: Paper | None = None
    problem: ResearchProblem | None = None
    related_works: list[RelatedWork] = Field(default_factory=list)
    ideas: list[Idea] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    runs: list[RunRef] = Field(default_factory=list)
    comparisons: list[ComparisonRef] = Field(default_factory=list)
    updated: str = Field(default_factory=now_iso)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the state atomically (temp file, fsync, rename)."""
        self.updated = now_iso()
        # the paper's full text is its sections joined: store it once (load() rebuilds it)
        exclude = {"paper": {"text"}} if self.paper is not None and self.paper.sections else None
        return atomic_write_text(path, self.model_dump_json(indent=1, exclude=exclude))

    @classmethod
    def load(cls, path: str | Path) -> ResearchState:
        """Read a state file; a missing file gives an empty state."""
        file = Path(path)
        if not file.exists():
            return cls()
        try:
            state = cls.model_validate(json.loads(file.read_text(encoding="utf-8")))
            if state.paper is not None and not state.paper.text and state.paper.sections:
                state.paper.text = "\n\n".join(state.paper.sections.values())
            return state
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise InputError(
                f"research state {file} is not valid ({first})",
                hint="move it away to start fresh",
            ) from None

    # -- ideas -----------------------------------------------------------------------------
    def idea(self, idea_id: str) -> Idea:
        for idea in self.ideas:
            if idea.id == idea_id:
                return idea
        known = ", ".join(i.id for i in self.ideas) or "none yet"
        raise InputError(f"no idea with id {idea_id!r}", hint=f"known ids: {known}")

    def decide(self, idea_id: str, action: str, comment: str = "") -> Idea:
        """Accept, reject or reset an idea and remember the decision."""
        idea = self.idea(idea_id)
        status = {"accept": "accepted", "reject": "rejected", "reset": "pending"}.get(action)
        if status is None:
            raise InputError(f"unknown decision {action!r}", hint="use accept, reject or reset")
        idea.status = status  # type: ignore[assignment]
        if comment:
            idea.comment = comment
        self.decisions.append(Decision(idea_id=idea_id, action=action, comment=comment))  # type: ignore[arg-type]
        return idea

    def edit(self, idea_id: str, **fields: Any) -> Idea:
        """Change an idea's text fields (title, hypothesis, rationale, plan fields)."""
        idea = self.idea(idea_id)
        plan_fields = set(type(idea.plan).model_fields)
        for name, value in fields.items():
            if name in plan_fields:
                setattr(idea.plan, name, value)
            elif name in {"title", "hypothesis", "rationale", "comment"}:
                setattr(idea, name, value)
            else:
                raise InputError(f"cannot edit field {name!r} of an idea")
        self.decisions.append(Decision(idea_id=idea_id, action="edit", comment=", ".join(fields)))
        return idea

    def move(self, idea_id: str, offset: int) -> None:
        """Move an idea up (negative) or down (positive) in the list."""
        idea = self.idea(idea_id)
        index = self.ideas.index(idea)
        new = max(0, min(len(self.ideas) - 1, index + offset))
        self.ideas.insert(new, self.ideas.pop(index))
        self.decisions.append(Decision(idea_id=idea_id, action="reorder", comment=str(new)))

    def accepted(self) -> list[Idea]:
        return [i for i in self.ideas if i.status == "accepted"]

    def ranked(self) -> list[Idea]:
        """Ideas by review score, best first (unreviewed last, in list order)."""
        return sorted(self.ideas, key=lambda i: -(i.review.overall if i.review else -1.0))

    def upsert_run(self, run: RunRef) -> None:
        self.runs = [r for r in self.runs if r.run_id != run.run_id] + [run]

    def upsert_comparison(self, comparison: ComparisonRef) -> None:
        comparison.updated = now_iso()
        self.comparisons = [c for c in self.comparisons
                            if c.comparison_id != comparison.comparison_id] + [comparison]

    def _problem_summary(self) -> dict[str, Any] | None:
        """The problem's sections for the side panel (each result with its page and quote)."""
        p = self.problem
        if p is None:
            return None
        return {
            "task_definition": p.task_definition, "method_summary": p.method_summary,
            "datasets": list(p.datasets),
            "reported_results": [{"metric": r.metric, "dataset": r.dataset, "value": r.value,
                                  "page": r.page, "quote": r.quote}
                                 for r in p.reported_results],
            "unsupported": [{"kind": u.kind, "text": u.text, "reason": u.reason}
                            for u in p.unsupported],
            "research_gaps": list(p.research_gaps), "limitations": list(p.limitations),
            "related_works": [{"title": w.title, "year": w.year, "url": w.url,
                               "source": w.source} for w in p.related_works],
            "keywords": list(p.keywords), "engine": p.engine,
        }

    def summary(self) -> dict[str, Any]:
        """A compact view for the side panel and `--json` outputs."""
        return {
            "paper": {"title": self.paper.title, "source": self.paper.source} if self.paper else None,
            "problem": self._problem_summary(),
            "ideas": [
                {"id": i.id, "title": i.title, "status": i.status,
                 "overall": i.review.overall if i.review else None}
                for i in self.ideas
            ],
            "runs": [r.model_dump() for r in self.runs],
            "comparisons": [c.model_dump() for c in self.comparisons],
        }
