"""The agent core without a kernel: step choice, scoring from a node's own files, baseline
debugging, direction and verification in a fresh workspace, with fakes at the runtime boundary
(as aideml tests ``Agent.step(exec_callback)``). Real kernels run the same agent in
tests/integration/test_experiment_agent.py and tests/integration/test_trustworthy.py.
"""

from __future__ import annotations

import asyncio
import io
import shutil
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlr_copilot_jupyter.experiment.agent import ExperimentAgent, RunOptions
from mlr_copilot_jupyter.experiment.journal import Journal, Node
from mlr_copilot_jupyter.experiment.policies import Exhausted, Proposal, StepRequest
from mlr_copilot_jupyter.experiment.record import RecordNotebook
from mlr_copilot_jupyter.experiment.result import CellResult
from mlr_copilot_jupyter.experiment.runner import arun, fill_task_defaults
from mlr_copilot_jupyter.experiment.task import Budget, MetricSpec, Task
from mlr_copilot_jupyter.kernels.metric_line import parse_metrics


class FakeExecutor:
    """Runs cell code with exec() in one namespace (the 'kernel state'); ``ws`` is the workspace."""

    def __init__(self, workspace: Path, log: list[str]) -> None:
        self.workspace, self.log = workspace, log
        self.ns: dict[str, Any] = {}

    def _fresh(self) -> None:
        self.ns = {"ws": self.workspace, "report_metric": _report_metric}

    async def astart(self) -> None:
        self.log.append(f"{self.workspace.name}: [start]")
        self._fresh()

    async def arestart(self) -> None:
        self._fresh()

    async def ashutdown(self, *, now: bool = False) -> None:
        self.log.append(f"{self.workspace.name}: [shutdown]")
        self.ns = {}

    async def arun(self, code: str) -> CellResult:
        self.log.append(f"{self.workspace.name}: {code.splitlines()[0] if code else ''}")
        out = io.StringIO()
        try:
            with redirect_stdout(out):
                exec(compile(code, "<cell>", "exec"), self.ns)
        except Exception as exc:  # the cell's error, as a kernel reports it
            return CellResult(status="error", ename=type(exc).__name__, evalue=str(exc),
                              stdout_text=out.getvalue(), message=f"{type(exc).__name__}: {exc}")
        text = out.getvalue()
        return CellResult(status="ok", stdout_text=text, metrics=parse_metrics(text))


def _report_metric(name: str, value: float) -> float:
    import json

    print("MLR_METRIC " + json.dumps({"name": name, "value": float(value)}))
    return value


class FakeRuntime:
    """Workspaces are copies of ``original``; eval.py reads the number in submission.csv."""

    def __init__(self, run_dir: Path, original: Path, *, eval_: bool = True,
                 heldout: bool = False) -> None:
        self.run_dir, self.original = run_dir, original
        self.workspace = run_dir / "workspace"
        shutil.copytree(original, self.workspace)
        self.has_eval, self.has_heldout = eval_, heldout
        self.log: list[str] = []
        self.fresh: list[Path] = []

    def executor(self, workspace: Path, *, label: str) -> FakeExecutor:
        return FakeExecutor(workspace, self.log)

    def fresh_workspace(self, label: str) -> Path:
        target = self.run_dir / "verify" / label
        shutil.copytree(self.original, target)
        self.fresh.append(target)
        return target

    def discard_workspace(self, path: Path) -> None:
        shutil.rmtree(path)

    def original_files(self) -> set[str]:
        return {p.name for p in self.original.iterdir()}

    def named_artifacts(self, rewritten: object = ()) -> list[str]:
        return ["submission.csv"]

    def restore_original(self, workspace: Path, rel: str) -> None:
        shutil.copy2(self.original / rel, workspace / rel)

    def read_only_changes(self, workspace: Path) -> list[str]:
        return []

    def restore_read_only(self, workspace: Path) -> None:
        pass

    async def eval_score(self, workspace: Path) -> tuple[float | None, str]:
        path = workspace / "submission.csv"
        if not path.is_file():
            return None, "eval.py failed: FileNotFoundError: submission.csv"
        return float(path.read_text()), "scored by eval.py"

    async def heldout_score(self, workspace: Path) -> tuple[float | None, str]:
        path = workspace / "submission.csv"
        if not path.is_file():
            return None, "no submission.csv"
        return float(path.read_text()) - 0.05, "scored on the held-out split"

    async def validation_replay(self, code: str, submission: list[str]
                                ) -> tuple[float | None, str]:
        self.log.append("validation replay")
        return None, "the fake task has no validation data"


@dataclass
class Review:
    is_bug: bool = False
    summary: str = "looks fine"
    metric: float | None = None
    metric_name: str | None = None
    source: str = "test review"


class ScriptedPolicy:
    """Proposes the scripted cells in order, per kind; reviews find no metric."""

    name = "scripted"

    def __init__(self, script: dict[str, list[str]], *, repairs_code: bool = True) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.repairs_code = repairs_code
        self.requests: list[StepRequest] = []

    async def propose(self, request: StepRequest) -> Proposal:
        self.requests.append(request)
        cells = self.script.get(request.kind) or []
        if not cells:
            raise Exhausted(f"no scripted {request.kind} left")
        return Proposal(title=f"{request.kind} {len(self.requests)}", plan="scripted",
                        code=cells.pop(0))

    async def review(self, code: str, output: str, task: Task, **_: Any) -> Review:
        return Review()


WRITE = 'open(ws / "submission.csv", "w").write("{}")\nprint("wrote")\n'


def make_agent(tmp_path: Path, policy: ScriptedPolicy, *, baseline: str, direction: str = "maximize",
               heldout: bool = False, max_steps: int = 4, num_drafts: int = 2,
               eval_: bool = True, runtime_class: type[FakeRuntime] | None = None,
               lost_state: bool = False) -> tuple[ExperimentAgent, FakeRuntime]:
    original = tmp_path / "task"
    original.mkdir()
    (original / "train.py").write_text(baseline)
    (original / "data.csv").write_text("x,y\n1,2\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    runtime = (runtime_class or FakeRuntime)(run_dir, original, eval_=eval_, heldout=heldout)
    task = Task(name="fake", description="a fake task", data_files=["data.csv"],
                baseline="train.py", metric=MetricSpec(name="score", direction=direction),
                budget=Budget(), root=original, eval_script=None)
    record = RecordNotebook.create(run_dir / "experiment.ipynb", title="t", intro="", metadata={},
                                   seed=0, data_dir=str(runtime.workspace))
    journal = Journal(run_id="r", task="fake", metric_name="score", direction=direction)
    options = fill_task_defaults(RunOptions(max_steps=max_steps, num_drafts=num_drafts), task)
    agent = ExperimentAgent(task, run_dir, policy, journal=journal, record=record,  # type: ignore[arg-type]
                            options=options, runtime=runtime,  # type: ignore[arg-type]
                            lost_state=lost_state)
    return agent, runtime


def run(agent: ExperimentAgent) -> Journal:
    """The runner's stages (search, then verification) around the agent."""
    return asyncio.run(arun(agent))


def test_lower_value_wins_on_a_minimise_task(tmp_path: Path) -> None:
    policy = ScriptedPolicy({"draft": [WRITE.format(3.0), WRITE.format(4.0)],
                             "improve": [WRITE.format(3.5)]})
    agent, _ = make_agent(tmp_path, policy, baseline=WRITE.format(5.0), direction="minimize",
                          max_steps=3)
    journal = run(agent)
    assert journal.selection == "test"  # eval.py only, no validation metric: said so
    metrics = {n.id: n.metric for n in journal.nodes}
    assert metrics == {"n0": 5.0, "n1": 3.0, "n2": 4.0, "n3": 3.5}
    assert journal.best_node == "n1"
    assert journal.node("n3").parent == "n1"  # improve starts from the lowest, not the highest
    assert journal.improvement(3.0) == pytest.approx(0.4)


def test_a_node_is_credited_only_with_files_it_wrote(tmp_path: Path) -> None:
    policy = ScriptedPolicy({"draft": [
        WRITE.format(0.8),                                   # n1: node A writes its submission
        'print("skipping")\n',                               # n2: node B writes nothing
        'model = 0.95\nraise ValueError("late bug")\n',      # n3: defines model, then fails
    ], "debug": [
        WRITE.replace('"{}"', "str(model)"),                  # n4: reuses n3's variable
    ]})
    agent, runtime = make_agent(tmp_path, policy, baseline=WRITE.format(0.5), num_drafts=3)
    journal = run(agent)
    a, b, failed, reuse = (journal.node(i) for i in ("n1", "n2", "n3", "n4"))
    assert a.metric == 0.8 and a.status == "ok"
    # B ran after A in the same workspace, yet A's submission.csv is not credited to B
    assert b.status == "no_metric" and b.metric is None
    assert "did not write submission.csv" in b.message
    assert failed.status == "error"
    # n4 scored 0.95 in the live kernel thanks to n3's leftover variable ...
    assert reuse.metric == 0.95 and reuse.parent == "n3"
    # ... but its replay (fresh kernel, fresh workspace) fails and names the missing name
    assert reuse.verified is False
    assert "NameError" in reuse.verify_error and "`model`" in reuse.verify_error
    assert "n3" in reuse.verify_error
    # A is verified from a fresh copy of the workspace, which held no submission.csv
    assert journal.best_node == "n1" and a.verified and a.verified_metric == 0.8
    assert {p.name for p in runtime.fresh} == {"n4", "n1"}
    assert not (tmp_path / "run" / "verify").exists() or not any((tmp_path / "run" / "verify").iterdir())


def test_verification_uses_a_fresh_workspace_not_the_live_one(tmp_path: Path) -> None:
    # n1 only appends to a file a previous node left behind: in the live workspace that works
    appender = ('text = (ws / "notes.txt").read_text()\n'
                'open(ws / "submission.csv", "w").write(str(0.6 + 0.1 * text.count("x")))\n')
    policy = ScriptedPolicy({"draft": ['open(ws / "notes.txt", "w").write("xxx")\n' + WRITE.format(0.55),
                                       appender]})
    agent, _ = make_agent(tmp_path, policy, baseline=WRITE.format(0.5), max_steps=2)
    journal = run(agent)
    second = journal.node("n2")
    assert second.metric == pytest.approx(0.9)
    assert second.verified is False and "FileNotFoundError" in second.verify_error
    assert journal.best_node == "n1"


def test_failed_baseline_is_debugged_first_and_is_the_reference(tmp_path: Path) -> None:
    policy = ScriptedPolicy({"debug": ['raise KeyError("still broken")\n', WRITE.format(0.5)],
                             "draft": [WRITE.format(0.6)], "improve": [WRITE.format(0.7)]})
    agent, _ = make_agent(tmp_path, policy, baseline='raise ImportError("numpy 2")\n',
                          max_steps=4, num_drafts=1)
    journal = run(agent)
    kinds = [(n.id, n.kind, n.parent) for n in journal.nodes]
    assert kinds[:3] == [("n0", "baseline", None), ("n1", "debug", "n0"), ("n2", "debug", "n1")]
    assert journal.reference == "n2" and journal.node("n2").metric == 0.5
    assert journal.best_node == "n4"
    assert journal.improvement(0.7) == pytest.approx(0.4)  # against the fixed baseline's 0.5


def test_offline_style_policy_reports_a_failed_baseline(tmp_path: Path) -> None:
    policy = ScriptedPolicy({"draft": [WRITE.format(0.6)]}, repairs_code=False)
    agent, _ = make_agent(tmp_path, policy, baseline='raise ImportError("numpy 2")\n',
                          max_steps=2, num_drafts=1)
    journal = run(agent)
    assert "baseline failed: ImportError: numpy 2; no improvement can be measured" in journal.message
    assert journal.reference is None and journal.improvement(0.6) is None
    assert all(r.kind != "debug" or r.parent != "n0" for r in policy.requests)


def test_validation_selection_scores_the_test_split_once(tmp_path: Path) -> None:
    valid = 'report_metric("score", {v})\n' + WRITE.format("{t}")
    policy = ScriptedPolicy({"draft": [valid.format(v=0.9, t=0.7), valid.format(v=0.8, t=0.95)]})
    agent, _ = make_agent(tmp_path, policy, baseline=valid.format(v=0.6, t=0.6), heldout=True,
                          eval_=False, max_steps=2)
    journal = run(agent)
    assert journal.selection == "validation"
    # selected on validation (0.9), although the other node's submission would test higher
    assert journal.best_node == "n1"
    assert journal.node("n1").test_metric == pytest.approx(0.65)  # 0.7 - 0.05 held-out offset
    assert journal.node("n2").test_metric is None  # never scored on the test split
    assert journal.node("n0").test_metric == pytest.approx(0.55)
    assert journal.test_improvement() == pytest.approx(0.65 / 0.55 - 1)


class BrokenReplies(ScriptedPolicy):
    """Every step reply is unusable, as from a model that cannot write the schema."""

    async def propose(self, request: StepRequest) -> Proposal:
        from mlr_copilot_jupyter.errors import LLMSchemaError

        self.requests.append(request)
        raise LLMSchemaError("test-model did not return valid StepDraft JSON after 3 tries",
                             raw='{"title": "x", "code": "print(1)\n')


def test_unusable_llm_replies_become_failed_nodes_then_the_run_ends(tmp_path: Path) -> None:
    from mlr_copilot_jupyter.errors import LLMError

    agent, _ = make_agent(tmp_path, BrokenReplies({}), baseline=WRITE.format(0.5), max_steps=10)
    with pytest.raises(LLMError, match="3 unusable LLM replies in a row"):
        run(agent)
    journal = Journal.load(tmp_path / "run" / "journal.json")
    failed = [n for n in journal.nodes if n.kind != "baseline"]
    assert len(failed) == 3 and all(n.status == "llm_error" for n in failed)
    assert all('"title": "x"' in n.output and "StepDraft" in n.error for n in failed)
    assert journal.status == "failed" and "unusable LLM replies" in journal.message
    cells = [c for c in agent.record.nb.cells if c.metadata.get("mlr_copilot", {}).get("node_id") == "n1"]
    assert {c.cell_type for c in cells} == {"markdown", "raw"}


def test_files_the_baseline_leaves_are_cleared_but_only_named_ones_are_required(
    tmp_path: Path,
) -> None:
    # the baseline also caches features; later nodes need not write them, but they never linger
    baseline = 'open(ws / "features.npy", "w").write("epoch 1")\n' + WRITE.format(0.5)
    check_cache = '(ws / "features.npy").read_text()\n'
    policy = ScriptedPolicy({"draft": [WRITE.format(0.6), check_cache + WRITE.format(0.7)]})
    agent, _ = make_agent(tmp_path, policy, baseline=baseline, max_steps=2)
    journal = run(agent)
    assert journal.artifacts == ["submission.csv", "features.npy"]
    assert journal.node("n1").metric == 0.6  # wrote no features.npy: still scored
    second = journal.node("n2")  # relied on the baseline cache: set aside before it ran
    assert second.status == "error" and "FileNotFoundError" in second.error


class ReplayRuntime(FakeRuntime):
    """A task with validation data: the baseline's validation replay gives ``replayed``."""

    replayed: float | None = 0.5

    async def validation_replay(self, code: str, submission: list[str]
                                ) -> tuple[float | None, str]:
        self.log.append("validation replay")
        return self.replayed, "validation replay: the baseline rerun on dev.csv"


REPORT = 'report_metric("score", {})\n' + WRITE


def test_a_baseline_without_validation_is_replayed_and_the_search_never_sees_a_test_score(
        tmp_path: Path) -> None:
    policy = ScriptedPolicy({"draft": [REPORT.format(0.7, 0.7), REPORT.format(0.6, 0.99)]})
    agent, runtime = make_agent(tmp_path, policy, baseline=WRITE.format(0.4), max_steps=2,
                                runtime_class=ReplayRuntime)
    journal = run(agent)
    assert runtime.log.count("validation replay") == 1
    assert journal.selection == "validation" and journal.validation == "the baseline rerun on dev.csv"
    assert journal.node("n0").metric == 0.5 and "validation replay" in journal.node("n0").metric_source
    # n2's submission would score 0.99 on test, but it reports 0.6 on validation: n1 is selected
    assert journal.best_node == "n1" and journal.node("n2").test_metric is None
    assert not any("TEST SPLIT" in w for w in journal.warnings)


def test_a_suspect_baseline_is_re_read_rather_than_selected_on(tmp_path: Path) -> None:
    """The baseline reports 50 on validation while eval.py scores its submission 0.4 (125x
    apart): the warning is loud and the baseline is re-read by its validation replay (0.5)."""
    policy = ScriptedPolicy({"draft": [REPORT.format(0.7, 0.7)]})
    agent, runtime = make_agent(tmp_path, policy, baseline=REPORT.format(50.0, 0.4), max_steps=1,
                                runtime_class=ReplayRuntime)
    journal = run(agent)
    base = journal.node("n0")
    assert base.metric == 0.5 and "re-read: the printed 50 disagreed" in base.metric_source
    assert any("differ by" in w and "Re-reading" in w for w in journal.warnings)
    assert any("replaced by its validation replay, 0.5" in w for w in journal.warnings)
    assert journal.best_node == "n1" and journal.improvement(0.7) == pytest.approx(0.4)


def test_a_suspect_baseline_that_cannot_be_re_read_is_marked(tmp_path: Path) -> None:
    policy = ScriptedPolicy({"draft": [REPORT.format(0.7, 0.7)]})
    ReplayRuntime.replayed = None
    try:
        agent, _ = make_agent(tmp_path, policy, baseline=REPORT.format(50.0, 0.4), max_steps=1,
                              runtime_class=ReplayRuntime)
        journal = run(agent)
    finally:
        ReplayRuntime.replayed = 0.5
    assert journal.node("n0").metric == 50.0 and journal.node("n0").metric_source.endswith("(suspect)")
    assert any("could not be re-read" in w for w in journal.warnings)


def test_baseline_draft_debug_and_verification_as_the_runner_runs_them(tmp_path: Path) -> None:
    """Issue 25 must-show 4: no kernel; the runner starts the fake kernel, the agent searches
    (baseline, a draft that fails, a draft, a debug of the failure), verification replays the
    best node's lineage in a fresh kernel and workspace, and the runner stops the kernel."""
    policy = ScriptedPolicy({"draft": ['raise ValueError("draft bug")\n', WRITE.format(0.7)],
                             "debug": ["# fixed\n" + WRITE.format(0.8)]})
    agent, runtime = make_agent(tmp_path, policy, baseline=WRITE.format(0.5), max_steps=3,
                                num_drafts=2)
    events: list[str] = []
    agent.hooks.on_event = lambda event, data: events.append(event)
    journal = run(agent)

    assert [(n.id, n.kind, n.parent, n.status, n.metric) for n in journal.nodes] == [
        ("n0", "baseline", None, "ok", 0.5), ("n1", "draft", "n0", "error", None),
        ("n2", "draft", "n0", "ok", 0.7), ("n3", "debug", "n1", "ok", 0.8)]
    assert journal.node("n1").error == "ValueError: draft bug"
    debug = policy.requests[-1]  # the debug step was asked with the failed node as its parent
    assert debug.kind == "debug" and debug.parent is not None and debug.parent.id == "n1"
    # verification: the best node's lineage (the failed draft skipped) in a fresh workspace
    best = journal.node("n3")
    assert journal.best_node == "n3" and best.verified and best.verified_metric == 0.8
    assert journal.lineage("n3") == [journal.node("n0"), best]
    first_line = journal.node("n0").code.splitlines()[0]
    assert [line for line in runtime.log if line.startswith("n3: ")] == [
        "n3: [start]", f"n3: {first_line}", "n3: # fixed", "n3: [shutdown]"]
    assert [p.name for p in runtime.fresh] == ["n3"] and journal.node("n2").verified is None
    # the main kernel: started before the baseline, stopped after verification
    assert runtime.log[:2] == ["workspace: [start]", f"workspace: {first_line}"]
    assert runtime.log[-1] == "workspace: [shutdown]"
    assert events[0] == "run_started" and events.count("node_finished") == 4
    assert events[-3:] == ["verify_started", "verify_finished", "run_finished"]
    assert journal.status == "done"
    assert Journal.load(tmp_path / "run" / "journal.json").best_node == "n3"


def test_a_resumed_agent_tells_the_first_step_that_the_kernel_state_is_gone(tmp_path: Path) -> None:
    """resume_run builds the agent with lost_state=True (it used to set a private attribute)."""
    policy = ScriptedPolicy({"draft": [WRITE.format(0.6), WRITE.format(0.7)]})
    agent, _ = make_agent(tmp_path, policy, baseline=WRITE.format(0.5), max_steps=2,
                          lost_state=True)
    journal = agent.journal
    journal.nodes.append(Node(id="n0", kind="baseline", step=0, title="Baseline", status="ok",
                              metric=0.5, code=WRITE.format(0.5)))  # ran before the "crash"
    journal.reference = "n0"
    run(agent)
    assert [r.lost_state for r in policy.requests] == [True, False]


@pytest.mark.parametrize(("metric", "candidate", "replay", "reproduced"), [
    ("runtime_seconds", 0.301, 0.225, True),   # a short timing: start-up noise, 0.1 s absolute
    ("runtime_seconds", 0.301, 0.45, False),   # beyond both 25% and 0.1 s
    ("runtime_seconds", 10.0, 12.4, True),     # a long timing: 25% relative
    ("runtime_seconds", 10.0, 12.6, False),
    ("accuracy", 0.80, 0.78, False),           # not a timing: the run's own tolerance
    ("accuracy", 0.80, 0.80, True),
])
def test_a_replay_reproduces_a_timing_within_its_noise(
    metric: str, candidate: float, replay: float, reproduced: bool,
) -> None:
    from types import SimpleNamespace

    from mlr_copilot_jupyter.experiment.verify import replay_tolerance

    agent = SimpleNamespace(task=SimpleNamespace(metric=SimpleNamespace(name=metric)),
                            options=RunOptions())
    assert (abs(replay - candidate) <= replay_tolerance(agent, candidate)) is reproduced
