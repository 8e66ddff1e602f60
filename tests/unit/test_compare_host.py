"""A comparison runs through the facade it is given (issue 25 item 4): it publishes its status to
``record_comparison`` and never writes the research state itself, each worker builds its own
facade of the caller's class, and a benchmark is checked by the facade before anything runs."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlr_copilot_jupyter.api import Copilot
from mlr_copilot_jupyter.compare.facade import ComparisonHost, finished_runs, prepare_comparison
from mlr_copilot_jupyter.compare.runner import run_idea
from mlr_copilot_jupyter.config import MLRCopilot
from mlr_copilot_jupyter.errors import InputError
from mlr_copilot_jupyter.state import ComparisonEntry, ComparisonRef, ResearchState, RunRef
from tests.support.review import make_idea


class RecordingHost:
    """A facade that keeps what a comparison hands it (and a state nobody may write)."""

    def __init__(self, run_dir: Path) -> None:
        self.settings = MLRCopilot(run_dir=str(run_dir))
        self._state = ResearchState(ideas=[make_idea(1), make_idea(2)])
        self.recorded: list[tuple[ComparisonRef, list[RunRef]]] = []
        self.sandbox_checked: list[dict[str, Any]] = []

    @property
    def state(self) -> ResearchState:
        return self._state

    def sandbox_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self.sandbox_checked.append(dict(options))
        return {}

    def record_comparison(self, comparison: ComparisonRef, runs: Any = ()) -> None:
        self.recorded.append((comparison, list(runs)))


class FailingFacade:
    """A worker's facade: remembers how it was built, refuses the task."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        FailingFacade.built.append(kwargs)

    def prepare_experiment(self, task: str, **kwargs: Any) -> Any:
        raise InputError(f"task {task!r} refused by the worker's own facade")


def test_a_comparison_publishes_through_the_facade_and_never_writes_its_state(
        tmp_path: Path) -> None:
    host = RecordingHost(tmp_path / "runs")
    before = host.state.model_dump()
    _: ComparisonHost = host  # it is what prepare_comparison types against
    comparison_id, work = prepare_comparison(host, ["idea-1", "idea-2"], "digits",
                                             out=tmp_path / "cmp", seeds=0)
    assert callable(work)
    assert len(host.recorded) == 1  # published once, as it starts: every idea pending
    ref, runs = host.recorded[0]
    assert ref.comparison_id == comparison_id and ref.status == "running"
    assert [e.idea_id for e in ref.entries] == ["idea-1", "idea-2"]
    assert {e.status for e in ref.entries} == {"pending"} and runs == []
    assert host.sandbox_checked  # the facade checked the sandbox, once, before any worker
    assert host.state.model_dump() == before  # read (the idea ids), never written
    assert not (tmp_path / "runs").exists()  # no state file either


def test_copilot_is_a_comparison_host_that_records_comparisons(tmp_path: Path) -> None:
    copilot = Copilot(run_dir=str(tmp_path))
    ref = ComparisonRef(comparison_id="c1", task="digits", out_dir=str(tmp_path / "c1"),
                        metric_name="accuracy", direction="maximize",
                        entries=[ComparisonEntry(idea_id="a", title="A", record_path="a.ipynb",
                                                 run_id="r-a", status="done", best_metric=0.9),
                                 ComparisonEntry(idea_id="b", title="B", record_path="b.ipynb")])
    runs = finished_runs(ref)
    assert [(r.run_id, r.idea_id, r.status, r.best_metric) for r in runs] == \
        [("r-a", "a", "done", 0.9)]  # the pending idea has no run yet
    copilot.record_comparison(ref, runs)
    saved = ResearchState.load(tmp_path / "state.json")
    assert [c.comparison_id for c in saved.comparisons] == ["c1"]
    assert [r.run_id for r in saved.runs] == ["r-a"]


def test_each_worker_builds_its_own_facade_of_the_callers_class() -> None:
    FailingFacade.built.clear()
    job = {"facade": FailingFacade, "settings": {"model": "m", "backend": "offline"},
           "task": "no-such-task", "idea": make_idea(1).model_dump(mode="json"),
           "out": "unused", "options": {}}
    previous = signal.getsignal(signal.SIGTERM)
    try:
        outcome = run_idea(job)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert outcome["status"] == "failed"
    assert "refused by the worker's own facade" in outcome["error"]
    assert len(FailingFacade.built) == 1
    built = FailingFacade.built[0]
    assert built["model"] == "m" and built["backend"] == "offline" and "announce_to" in built


def test_a_benchmark_is_checked_by_the_facade_before_anything_runs(tmp_path: Path) -> None:
    copilot = Copilot(run_dir=str(tmp_path))
    with pytest.raises(InputError, match="--seeds must be at least 1"):
        copilot.prepare_bench(["digits"], 0, tmp_path / "bench")
    (tmp_path / "bench" / "digits" / "seed1").mkdir(parents=True)
    with pytest.raises(InputError, match="seed1 already exists"):
        copilot.prepare_bench(["digits"], 2, tmp_path / "bench")
    with pytest.raises(InputError, match="--max-steps"):
        copilot.prepare_bench(["digits"], 1, tmp_path / "other", max_steps=-1)
    plan = copilot.prepare_bench(["digits", "wine"], 3, tmp_path / "other", metric="accuracy")
    assert plan.runs == 6 and plan.tasks == ("digits", "wine") and plan.metric == "accuracy"
