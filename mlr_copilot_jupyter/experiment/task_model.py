"""The task model: a research task (:class:`Task`), its metric and budgets, its workspace.

A task is a research problem with a workspace (data files and a baseline), one metric with a
direction (and how they were determined), budgets, and optionally a held-out test split that
stays outside the agent's workspace. Loading a task from a folder is :mod:`.task`
(:func:`~.task.load_task`) with the parsers of :mod:`.task_spec`, which build these objects;
the metric rules are :mod:`.metric_rules`. Everything here is re-exported by :mod:`.task`.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
import shutil
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from ..errors import TaskError
from ..options_spec import MAX_STEPS
from .answers import AnswerFile, ValidationPlan, find_answer_files, validation_plan, write_blanked
from .metric_rules import (
    KNOWN_METRICS,
    Direction,
    MetricOrigin,
    canonical_metric,
    infer_metric,
    parse_direction,
)

READ_ONLY_MANIFEST = "read_only.sha256.json"
TRAIN_NAMES = ("train.csv", "training.csv")
VALIDATION_NAMES = ("valid.csv", "validation.csv", "val.csv", "dev.csv")
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}
_CODE_RE = re.compile(r"[\w.\-/]+\.(?:py|sh|ipynb)")
_ARTIFACT_RE = re.compile(r"[\w.\-/]+\.(?:csv|tsv|json|jsonl|txt|npy|npz|pkl|pickle|parquet|pt|h5)")


class MetricSpec(BaseModel):
    """The metric a task is judged by."""

    name: str
    direction: Direction

    def improvement(self, value: float, baseline: float) -> float:
        """Relative improvement of ``value`` over ``baseline`` (positive is better)."""
        gain = value - baseline if self.direction == "maximize" else baseline - value
        return gain / abs(baseline) if baseline else gain


#: the one default per-cell time limit (seconds): a task without ``[budget] cell_timeout_s``
#: gets it, and so does a kernel executor built without one
CELL_TIMEOUT_S = 300.0


class Budget(BaseModel):
    """Limits of one experiment run (the runner fills a run's unset options from them)."""

    max_steps: int = Field(default=10, ge=MAX_STEPS.low, le=MAX_STEPS.high)  # --max-steps' range
    wall_time_s: float = Field(default=1800.0, gt=0)
    cell_timeout_s: float = Field(default=CELL_TIMEOUT_S, gt=0)


class Task(BaseModel):
    """A research task: problem text, workspace files, metric and budgets."""

    name: str
    description: str
    task_type: str = "classification"
    target: str = Field(default="target", description="Label column of the tabular data files.")
    data_files: list[str] = Field(description="Workspace-relative paths.")
    baseline: str = Field(description="Workspace-relative baseline script or notebook.")
    metric: MetricSpec
    metric_evidence: str = Field(default="", description="One line: how the metric was found.")
    metric_origin: MetricOrigin = "task.toml"
    warnings: list[str] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)
    read_only_files: list[str] = Field(default_factory=list)
    eval_script: str | None = Field(default=None, description="Path under root with get_score().")
    root: Path = Field(description="The task folder.")
    workspace_dir: str = Field(default=".", description="Subfolder of root copied as workspace.")
    layout: Literal["task.toml", "mlagentbench"] = "task.toml"
    test_file: str | None = Field(default=None, description="Root-relative labelled test split.")
    test_features: str = Field(default="test.csv", description="Workspace features-only copy.")
    submission: str = Field(default="submission.csv", description="Workspace test predictions.")

    @property
    def workspace_root(self) -> Path:
        return (self.root / self.workspace_dir).resolve()

    @property
    def heldout(self) -> bool:
        """True when the task has a held-out test split outside the workspace."""
        return self.test_file is not None

    def with_metric(self, name: str | None, direction: str | None) -> Task:
        """A copy with the user's ``--metric`` / ``--direction`` applied (origin "override")."""
        if name is None and direction is None:
            return self
        check_metric_override(name, direction)
        new_name = name.strip() if name is not None else self.metric.name
        words = []
        warnings = [w for w in self.warnings if "ASSUMED MAXIMIZE" not in w]
        if direction is not None:
            chosen = parse_direction(direction)
            words.append(f"--direction {direction}")
        else:
            known = KNOWN_METRICS.get(canonical_metric(new_name))
            named, named_direction = infer_metric(new_name)
            chosen = known or (named_direction if named != "score" else self.metric.direction)
            if known is None and named == "score":
                warnings.append(f"--metric {new_name} names no direction; kept {chosen} from "
                                f"{self.metric_origin}: pass --direction min|max")
        if name is not None:
            words.insert(0, f"--metric {new_name}")
        evidence = f"override: {' '.join(words)} -> {new_name} ({chosen})"
        return self.model_copy(update={
            "metric": MetricSpec(name=new_name, direction=chosen), "metric_origin": "override",
            "metric_evidence": evidence, "warnings": warnings})

    def workspace_files(self) -> list[str]:
        """Workspace-relative paths of every file :meth:`prepare_workspace` copies."""
        if self.layout == "mlagentbench":
            return _tree_files(self.workspace_root)
        return list(dict.fromkeys([*self.data_files, self.baseline]))

    def tabular_split(self) -> tuple[str, str] | None:
        """Workspace paths of the labelled (fit, evaluate) CSVs, or None.

        ``train.csv`` and the validation file for a held-out task (its test labels are not in
        the workspace); ``train.csv`` and ``test.csv`` for a legacy task that ships both.
        """
        if self.heldout:
            train, valid = self.train_file(), self.validation_file()
            return (train, valid) if train and valid else None
        by_name = {PurePosixPath(p).name: p for p in self.data_files}
        if "train.csv" in by_name and "test.csv" in by_name:
            return by_name["train.csv"], by_name["test.csv"]
        return None

    def train_file(self) -> str | None:
        """Workspace path of the training data file (``train.csv``), None when absent."""
        return _first_named(self.data_files, TRAIN_NAMES)

    def validation_file(self) -> str | None:
        """Workspace path of the validation file (valid/validation/val/dev.csv), else None."""
        return _first_named(self.data_files, VALIDATION_NAMES)

    def eval_artifacts(self, rewritten: Collection[str] = ()) -> list[str]:
        """Workspace files the scorer reads that a node must write itself.

        The submission of a held-out task; for an MLAgentBench task, the file names quoted in
        ``eval.py`` that are neither workspace data nor files beside ``eval.py``, plus the
        workspace's code files that ``eval.py`` runs or times (``inference.py`` of a speed-up
        task): a node must write its own version of those, or it is credited with the original.
        A file the task ships that ``eval.py`` names is an input, unless the baseline rewrote it
        (``rewritten``: a stale ``submission.csv`` shipped in ``env/``).
        """
        if self.heldout:
            return [self.submission]
        if self.eval_script is None:
            return []
        script = self.root / self.eval_script
        try:
            tree = ast.parse(script.read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError):
            return []
        originals = set(self.workspace_files())
        # the pieces of an f-string (f"{lang}_test.csv") name no file on their own
        fragments = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                     for part in node.values}
        names: list[str] = []
        for node in ast.walk(tree):
            if id(node) in fragments:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literal = node.value.strip().removeprefix("./")
                if literal in names:
                    continue
                if _CODE_RE.fullmatch(literal) and literal in originals \
                        and literal not in self.read_only_files:
                    names.append(literal)  # the scorer runs this workspace code
                    continue
                if not _ARTIFACT_RE.fullmatch(literal):
                    continue
                shipped = [rel for rel in rewritten if rel == literal
                            or PurePosixPath(rel).name == PurePosixPath(literal).name]
                if shipped and shipped[0] not in self.read_only_files:
                    names.append(shipped[0])  # shipped, but the baseline writes its own
                    continue
                if literal in originals or PurePosixPath(literal).name in originals:
                    continue
                if (script.parent / literal).exists():
                    continue  # the scorer's own answers, beside eval.py
                names.append(literal)
        return names

    def answer_files(self) -> list[AnswerFile]:
        """Files of an MLAgentBench ``env/`` that ``eval.py`` reads the answers from (label
        columns named); the workspace gets them with those columns blanked (see
        :mod:`.answers`)."""
        if self.layout != "mlagentbench" or self.eval_script is None:
            return []
        try:
            source = (self.root / self.eval_script).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return find_answer_files(source, self.workspace_root, self.workspace_files())

    def validation_plan(self) -> ValidationPlan | None:
        """Validation data for a baseline that prints no validation metric (see :mod:`.answers`):
        a labelled dev file, else rows carved out of the training file. Held-out and eval-less
        tasks need none."""
        if self.layout != "mlagentbench" or self.eval_script is None:
            return None
        return validation_plan(self.workspace_root, self.workspace_files(), self.answer_files(),
                               target=self.target)

    def prepare_workspace(self, run_dir: str | Path, *, workspace: Path | None = None) -> Path:
        """Copy the task's files into ``run_dir/workspace`` (or ``workspace``).

        Files already there are overwritten with the task's originals. A held-out task also
        gets the features-only copy of its test split (target column removed, row order kept);
        the labelled test file itself is never copied. Answer files inside an MLAgentBench
        ``env/`` are copied with their label columns blanked. The read-only manifest is written only
        for the default workspace.
        """
        run_dir = Path(run_dir)
        target_dir = Path(workspace) if workspace is not None else run_dir / "workspace"
        labelled = (self.root / self.test_file).resolve() if self.test_file else None
        answers = {a.rel: a for a in self.answer_files()}
        for rel in self.workspace_files():
            source = self.workspace_root / rel
            if not source.is_file():
                raise TaskError(f"task {self.name!r}: file {source} has disappeared")
            if labelled is not None and source.resolve() == labelled:
                raise TaskError(f"task {self.name!r}: {self.test_file} (held-out labels) is "
                                "listed as a workspace file; remove it from data_files")
            destination = target_dir / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            if rel in answers:
                write_blanked(source, destination, answers[rel].labels)
            else:
                shutil.copy2(source, destination)
        target_dir.mkdir(parents=True, exist_ok=True)
        if labelled is not None:
            self._write_features(labelled, target_dir / self.test_features)
        if workspace is None:
            manifest = {rel: _sha256(target_dir / rel) for rel in self.read_only_files}
            (run_dir / READ_ONLY_MANIFEST).write_text(json.dumps(manifest, indent=1),
                                                      encoding="utf-8")
        return target_dir

    def _write_features(self, labelled: Path, destination: Path) -> None:
        if not labelled.is_file():
            raise TaskError(f"task {self.name!r}: held-out file {labelled} has disappeared")
        with open(labelled, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        header = rows[0] if rows else []
        if self.target not in header:
            raise TaskError(f"task {self.name!r}: {self.test_file} has no column {self.target!r}")
        drop = header.index(self.target)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with open(destination, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerows([v for k, v in enumerate(row) if k != drop] for row in rows)

    def check_read_only(self, run_dir: str | Path) -> list[str]:
        """Read-only files of ``run_dir/workspace`` that were changed or deleted."""
        run_dir = Path(run_dir)
        manifest = run_dir / READ_ONLY_MANIFEST
        if manifest.is_file():
            expected: dict[str, str] = json.loads(manifest.read_text(encoding="utf-8"))
        else:
            expected = {rel: _sha256(self.workspace_root / rel) for rel in self.read_only_files}
        workspace = run_dir / "workspace"
        return [
            rel
            for rel, digest in expected.items()
            if not (workspace / rel).is_file() or _sha256(workspace / rel) != digest
        ]


def check_metric_override(name: str | None, direction: str | None) -> None:
    """Raise a one-line :class:`TaskError` for a bad ``--metric`` / ``--direction`` value."""
    if name is not None and not re.fullmatch(r"[A-Za-z][\w.@\-]{0,63}", name.strip()):
        raise TaskError(f"--metric {name!r} is not a metric name; use a word such as accuracy, "
                        "rmse or val_loss")
    if direction is not None:
        try:
            parse_direction(direction)
        except TaskError:
            raise TaskError(f"--direction {direction!r} is not one of min, max, minimize, "
                            "maximize") from None


# --- helpers ---------------------------------------------------------------------------------


def _first_named(paths: list[str], names: tuple[str, ...]) -> str | None:
    by_name = {PurePosixPath(p).name.lower(): p for p in paths}
    return next((by_name[n] for n in names if n in by_name), None)


def _tree_files(base: Path) -> list[str]:
    if not base.is_dir():
        return []
    return sorted(
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and not _SKIP_DIRS.intersection(p.relative_to(base).parts)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
