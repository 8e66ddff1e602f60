"""What the experiment agent acts through: kernels, workspaces and scorers.

The agent core (:mod:`.agent`) decides which step comes next and what a result is worth; it never
starts a kernel, copies a file or runs ``eval.py`` itself. It receives a :class:`Runtime` (as
aideml's ``Agent.step`` receives its ``exec_callback``), so its choices are unit-tested with fakes
and run for real through :class:`TaskRuntime` (nbclient kernels, task workspaces, ``eval.py`` and
the held-out test split).

Artifacts are the files a scorer reads (``submission.csv``, whatever the baseline writes that
``eval.py`` reads). A node is credited only with artifacts it wrote itself: before each scored cell
they are set aside (removed, or restored to the task's original when the task ships the file).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..kernels.sandbox import SandboxStatus, confine
from .result import CellResult
from .task_model import CELL_TIMEOUT_S, Task

Snapshot = dict[str, tuple[int, int]]
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".git"}
_MAX_SNAPSHOT_FILES = 20000


class Executor(Protocol):
    """One kernel: cells run in order and share state until a restart."""

    async def astart(self) -> None: ...
    async def arun(self, code: str) -> CellResult: ...
    async def arestart(self) -> None: ...
    async def ashutdown(self, *, now: bool = False) -> None: ...


class Runtime(Protocol):
    """Kernels, workspaces and scorers for one run (see the module docstring)."""

    workspace: Path
    has_eval: bool
    has_heldout: bool

    def executor(self, workspace: Path, *, label: str) -> Executor:
        """A kernel (not started) whose cells run in ``workspace``."""
        ...

    def fresh_workspace(self, label: str) -> Path:
        """A fresh copy of the task's workspace, as it was before any cell ran."""
        ...

    def discard_workspace(self, path: Path) -> None: ...

    def original_files(self) -> set[str]:
        """Workspace-relative files the task ships (everything else was written by cells)."""
        ...

    def named_artifacts(self, rewritten: Collection[str] = ()) -> list[str]:
        """Files the scorer reads by name (``submission.csv``, names in ``eval.py``); shipped
        files it names count when the baseline rewrote them (``rewritten``)."""
        ...

    def restore_original(self, workspace: Path, rel: str) -> None: ...

    def read_only_changes(self, workspace: Path) -> list[str]: ...

    def restore_read_only(self, workspace: Path) -> None: ...

    async def eval_score(self, workspace: Path) -> tuple[float | None, str]:
        """``eval.py``'s ``get_score`` on ``workspace`` (only when :attr:`has_eval`)."""
        ...

    async def heldout_score(self, workspace: Path) -> tuple[float | None, str]:
        """The copilot's own score of the submission on the held-out test split."""
        ...

    async def validation_replay(self, code: str, submission: Sequence[str]
                                ) -> tuple[float | None, str]:
        """A baseline's score on validation data when it prints none: (value, how), or (None,
        why not). Only for an ``eval.py`` task (see :meth:`TaskRuntime.validation_replay`)."""
        ...


def snapshot(workspace: Path) -> Snapshot:
    """Size and modification time of every file under ``workspace`` (caches skipped)."""
    out: Snapshot = {}
    if not workspace.is_dir():
        return out
    for path in workspace.rglob("*"):
        rel = path.relative_to(workspace)
        if _SKIP.intersection(rel.parts) or not path.is_file():
            continue
        stat = path.stat()
        out[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
        if len(out) >= _MAX_SNAPSHOT_FILES:
            break
    return out


def written(before: Snapshot, after: Snapshot) -> set[str]:
    """Files created or changed between two snapshots."""
    return {rel for rel, sig in after.items() if before.get(rel) != sig}


def head_lines(path: Path, lines: int = 3, width: int = 300) -> str:
    """The first lines of a text file (empty for binary or unreadable files)."""
    try:
        with path.open(encoding="utf-8") as handle:
            return "".join(next(handle, "")[:width] for _ in range(lines))
    except (OSError, UnicodeDecodeError):
        return ""


@dataclass
class Artifacts:
    """The scored files of a run and how to clear them before a node's cell.

    ``files`` are set aside before every node's cell (what the scorer names, plus what the
    baseline created); ``required`` are the ones the scorer reads by name, which a node must
    write itself to earn a metric. A created file the scorer reads without naming it is cleared
    too, so a node that does not rewrite it makes ``eval.py`` fail rather than score a stale copy.
    """

    files: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)

    def set_aside(self, runtime: Runtime, workspace: Path) -> None:
        """Remove every artifact a cell wrote; restore the ones the task ships."""
        originals = runtime.original_files()
        for rel in self.files:
            path = workspace / rel
            if rel in originals:
                runtime.restore_original(workspace, rel)
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists() or path.is_symlink():
                path.unlink()

    def unwritten(self, before: Snapshot, after: Snapshot) -> list[str]:
        """Required artifacts that the cell between the two snapshots did not write."""
        changed = written(before, after)
        return [rel for rel in self.required
                if rel not in changed and not any(c.startswith(rel.rstrip("/") + "/") for c in changed)]

    def preview(self, workspace: Path, limit: int = 6) -> dict[str, str]:
        """First lines of the artifacts the baseline left (the required ones first)."""
        ordered = list(dict.fromkeys([*self.required, *self.files]))
        return {rel: head_lines(workspace / rel) for rel in ordered[:limit]
                if (workspace / rel).is_file()}


def baseline_artifacts(runtime: Runtime, before: Snapshot, after: Snapshot) -> Artifacts:
    """The files the scorer reads: its named files plus what the baseline created.

    Files the baseline created are included only when the task is scored from files (an
    ``eval.py`` or a held-out split); logs and caches a baseline writes are harmless to clear.
    """
    changed = written(before, after) & runtime.original_files()
    required = list(dict.fromkeys(runtime.named_artifacts(rewritten=changed)))
    names = list(required)
    if runtime.has_eval or runtime.has_heldout:
        created = sorted(set(after) - set(before) - runtime.original_files())
        names += [rel for rel in created if rel not in names and not _is_noise(rel)]
    return Artifacts(names, required)


def _is_noise(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.endswith((".pyc", ".log")) or name.startswith(".")


def run_sandbox(mode: str, network: bool = False, *, warn: bool = False) -> SandboxStatus:
    """The sandbox of a run's kernels (see :mod:`..kernels.sandbox`).

    ``require`` without a working bubblewrap raises :class:`~..errors.SandboxError` (one line,
    exit status 2); ``auto`` then runs unconfined and, with ``warn``, says so in one warning line
    on the ``mlr_copilot`` logger (the CLI prints it, the record and report keep it).
    """
    return confine(mode, network, warn=logging.getLogger("mlr_copilot").warning if warn else None)


class TaskRuntime:
    """The real runtime: kernels through :class:`KernelExecutor`, copies of the task's files."""

    def __init__(self, task: Task, run_dir: Path, *, setup_code: Sequence[str],
                 kernel_name: str = "python3", cell_timeout: float = CELL_TIMEOUT_S,
                 memory_limit_mb: int | None = None, cpu_time_limit_s: int | None = None,
                 env_deny: Sequence[str] = (), sandbox: SandboxStatus | None = None) -> None:
        self.task, self.run_dir = task, Path(run_dir)
        self.sandbox = sandbox
        self.workspace = self.run_dir / "workspace"
        self.setup_code = list(setup_code)
        self.kernel_name, self.cell_timeout = kernel_name, cell_timeout
        self.memory_limit_mb, self.cpu_time_limit_s = memory_limit_mb, cpu_time_limit_s
        self.env_deny = tuple(env_deny)
        self.has_eval = task.eval_script is not None
        self.has_heldout = task.heldout
        self._originals: set[str] | None = None
        #: answer files of env/ (labels blanked in the workspace, restored for eval.py only)
        self.answers = task.answer_files() if self.has_eval else []
        self._replays: dict[str, tuple[float | None, str]] = {}

    def executor(self, workspace: Path, *, label: str) -> Executor:
        from .executor import KernelExecutor
        from .record import parameters_source

        setup = list(self.setup_code)
        if workspace.resolve() != self.workspace.resolve() and setup:
            seed = _seed_of(setup[0])
            setup[0] = parameters_source(seed, str(workspace))  # its cells run in that copy
        confined = self.sandbox_config(workspace)
        return KernelExecutor(
            workspace if confined else self.run_dir, sandbox=confined,
            kernel_name=self.kernel_name, cell_timeout=self.cell_timeout,
            memory_limit_mb=self.memory_limit_mb, cpu_time_limit_s=self.cpu_time_limit_s,
            env_deny=self.env_deny, kernel_log=self.run_dir / f"kernel-{label}.log"
            if label != "main" else self.run_dir / "kernel.log",
            setup_code=setup)

    def sandbox_config(self, workspace: Path) -> dict[str, Any] | None:
        """The sandbox provisioner's config for a kernel whose cells run in ``workspace``: that
        folder is all it may write; the task folder (answers, eval.py) and the run's record are
        not visible. None when the run is not sandboxed."""
        if self.sandbox is None or not self.sandbox.active:
            return None
        return {"bwrap": self.sandbox.bwrap, "network": self.sandbox.network,
                "writable": [str(workspace.resolve())],
                "hidden": [str(self.task.root), str(self.run_dir)]}

    def fresh_workspace(self, label: str) -> Path:
        target = self.run_dir / "verify" / label
        if target.exists():
            shutil.rmtree(target)
        return self.task.prepare_workspace(self.run_dir, workspace=target)

    def discard_workspace(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        parent = path.parent
        if parent.name == "verify" and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

    def original_files(self) -> set[str]:
        if self._originals is None:
            self._originals = set(self.task.workspace_files())
            if self.has_heldout:
                self._originals.add(self.task.test_features)
        return self._originals

    def named_artifacts(self, rewritten: Collection[str] = ()) -> list[str]:
        return self.task.eval_artifacts(rewritten)

    def restore_original(self, workspace: Path, rel: str) -> None:
        from .answers import write_blanked

        source = self.task.workspace_root / rel
        if source.is_file():
            (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
            answers = {a.rel: a for a in self.answers}
            if rel in answers:  # the agent's copy of an answer file has its labels blanked
                write_blanked(source, workspace / rel, answers[rel].labels)
            else:
                shutil.copy2(source, workspace / rel)

    def read_only_changes(self, workspace: Path) -> list[str]:
        if workspace.resolve() == self.workspace.resolve():
            return self.task.check_read_only(self.run_dir)
        return []

    def restore_read_only(self, workspace: Path) -> None:
        for rel in self.task.read_only_files:
            self.restore_original(workspace, rel)

    async def eval_score(self, workspace: Path) -> tuple[float | None, str]:
        from .answers import scoring_mirror
        from .scoring import eval_score

        timeout = max(self.cell_timeout, 60.0)
        if not self.answers:
            return await eval_score(self.task, workspace, timeout=timeout, env_deny=self.env_deny)
        # eval.py reads answers from the workspace: it scores a mirror with the originals in place
        mirror = scoring_mirror(workspace, self.task.workspace_root, self.answers,
                                self.run_dir / "scoring" / workspace.name)
        try:
            return await eval_score(self.task, mirror, timeout=timeout, env_deny=self.env_deny)
        finally:
            shutil.rmtree(mirror, ignore_errors=True)
            if not any(mirror.parent.iterdir()):
                mirror.parent.rmdir()

    async def validation_replay(self, code: str, submission: Sequence[str]
                                ) -> tuple[float | None, str]:
        """Score a baseline that prints no validation metric on validation data.

        Its code runs once more in a fresh kernel and workspace where the file it predicts for
        holds the validation rows (labels blanked; see :func:`.answers.validation_plan`); its
        submission is scored against their labels: by ``eval.py`` when the answers sit in the
        workspace (a mirror with the validation labels in their place), else by the copilot's
        scorer. Returns (value, what was done) or (None, why not). Cached per code.
        """
        if code not in self._replays:
            self._replays[code] = await self._validation_replay(code, submission)
        return self._replays[code]

    async def _validation_replay(self, code: str, submission: Sequence[str]
                                 ) -> tuple[float | None, str]:
        from .answers import scoring_mirror, stage_validation, write_table
        from .heldout import score_rows
        from .scoring import eval_score

        plan = self.task.validation_plan()
        if plan is None:
            return None, ("no labelled dev/valid file, and no training file with the test file's "
                          "columns to carve validation rows from")
        workspace = self.fresh_workspace("validation")
        executor = self.executor(workspace, label="validation")
        scratch = self.run_dir / "scoring"
        try:
            truth_header, truth = stage_validation(plan, self.task.workspace_root, workspace)
            where = plan.describe(len(truth))
            await executor.astart()
            result = await executor.arun(code)
            if not result.ok:
                what = f"{result.ename}: {result.evalue}" if result.ename else result.message
                return None, f"the baseline failed on {where}: {what}"[:400]
            if plan.answer_in_workspace:
                labels = scratch / "validation-labels" / plan.test_input
                write_table(labels, truth_header, truth)
                mirror = scoring_mirror(workspace, self.task.workspace_root, self.answers,
                                        scratch / "validation", substitutes={plan.test_input: labels})
                value, message = await eval_score(self.task, mirror,
                                                  timeout=max(self.cell_timeout, 60.0),
                                                  env_deny=self.env_deny)
                scorer = "eval.py"
            else:
                name = next(iter(submission), self.task.submission)
                value, message = score_rows(self.task.metric.name, truth_header, truth,
                                            plan.labels[0], workspace / name,
                                            truth_label=plan.dev or plan.train or "validation")
                scorer = "the copilot's scorer"
            if value is None:
                return None, f"scoring the baseline on {where} failed: {message}"[:400]
            return value, f"validation replay: the baseline rerun on {where}, scored by {scorer}"
        finally:
            await executor.ashutdown()
            self.discard_workspace(workspace)
            shutil.rmtree(scratch, ignore_errors=True)

    async def heldout_score(self, workspace: Path) -> tuple[float | None, str]:
        import asyncio

        from .heldout import score_heldout

        return await asyncio.to_thread(score_heldout, self.task, workspace)


def _seed_of(parameters: str) -> int:
    for line in parameters.splitlines():
        if line.startswith("seed ="):
            try:
                return int(line.split("=", 1)[1])
            except ValueError:
                break
    return 0
