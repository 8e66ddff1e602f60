"""Task specifications: ``task.toml`` folders, MLAgentBench task folders and the bundled tasks.

A task is a research problem with a workspace (data files and a baseline), one metric with a
direction, and budgets. :func:`load_task` accepts a folder holding ``task.toml``, the ``task.toml``
file itself, an MLAgentBench / MLR-Copilot folder (``env/``, ``scripts/research_problem.txt``,
``scripts/eval.py``, ``scripts/read_only_files.txt``), or the name of a bundled task.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import json
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import TaskError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

Direction = Literal["maximize", "minimize"]
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
READ_ONLY_MANIFEST = "read_only.sha256.json"
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}

#: Metrics the recipes can compute, with the direction that is better.
KNOWN_METRICS: dict[str, Direction] = {
    "accuracy": "maximize", "balanced_accuracy": "maximize", "f1": "maximize",
    "f1_macro": "maximize", "precision": "maximize", "recall": "maximize",
    "roc_auc": "maximize", "r2": "maximize", "log_loss": "minimize", "mae": "minimize",
    "mse": "minimize", "rmse": "minimize",
}  # fmt: skip
REGRESSION_METRICS = frozenset({"mae", "mse", "rmse", "r2"})
METRIC_ALIASES: dict[str, str] = {
    "acc": "accuracy", "auc": "roc_auc", "rocauc": "roc_auc", "f1_score": "f1",
    "mean_absolute_error": "mae", "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse", "logloss": "log_loss", "cross_entropy": "log_loss",
}  # fmt: skip

# Words that reveal the metric in eval.py / research_problem.txt, most specific first.
_METRIC_WORDS: tuple[tuple[str, str, Direction], ...] = (
    (r"root[ _]mean[ _]squared[ _]error|\brmse\b|squared\s*=\s*false", "rmse", "minimize"),
    (r"mean[ _]absolute[ _]error|\bmae\b", "mae", "minimize"),
    (r"mean[ _]squared[ _]error|\bmse\b", "mse", "minimize"),
    (r"roc[ _]auc|\bauc\b|area under the (?:roc )?curve", "roc_auc", "maximize"),
    (r"\bf1\b|f1[ _]score|f-score", "f1", "maximize"),
    (r"\baccuracy|accuracy_score", "accuracy", "maximize"),
    (r"\br2\b|r2_score|r\^2|r-squared|coefficient of determination", "r2", "maximize"),
    (r"log[ _]loss|cross[ -]entropy", "log_loss", "minimize"),
    (r"\bsmape\b|\bmape\b", "smape", "minimize"),
    (r"perplexity", "perplexity", "minimize"),
    (r"\bprecision\b", "precision", "maximize"),
    (r"\brecall\b", "recall", "maximize"),
)
_GENERIC_WORDS: tuple[tuple[str, str, Direction], ...] = (
    (r"\berror\b", "error", "minimize"),
    (r"\bloss\b", "loss", "minimize"),
)


def canonical_metric(name: str) -> str:
    """``name`` lower-cased with aliases resolved (``"AUC"`` -> ``"roc_auc"``)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return METRIC_ALIASES.get(key, key)


class MetricSpec(BaseModel):
    """The metric a task is judged by."""

    name: str
    direction: Direction

    def improvement(self, value: float, baseline: float) -> float:
        """Relative improvement of ``value`` over ``baseline`` (positive is better)."""
        gain = value - baseline if self.direction == "maximize" else baseline - value
        return gain / abs(baseline) if baseline else gain


class Budget(BaseModel):
    """Limits of one experiment run."""

    max_steps: int = Field(default=10, ge=1)
    wall_time_s: float = Field(default=1800.0, gt=0)
    cell_timeout_s: float = Field(default=300.0, gt=0)


class Task(BaseModel):
    """A research task: problem text, workspace files, metric and budgets."""

    name: str
    description: str
    task_type: str = "classification"
    target: str = Field(default="target", description="Label column of the tabular data files.")
    data_files: list[str] = Field(description="Workspace-relative paths.")
    baseline: str = Field(description="Workspace-relative baseline script or notebook.")
    metric: MetricSpec
    budget: Budget = Field(default_factory=Budget)
    read_only_files: list[str] = Field(default_factory=list)
    eval_script: str | None = Field(default=None, description="Path under root with get_score().")
    root: Path = Field(description="The task folder.")
    workspace_dir: str = Field(default=".", description="Subfolder of root copied as workspace.")
    layout: Literal["task.toml", "mlagentbench"] = "task.toml"

    @property
    def workspace_root(self) -> Path:
        return (self.root / self.workspace_dir).resolve()

    def workspace_files(self) -> list[str]:
        """Workspace-relative paths of every file :meth:`prepare_workspace` copies."""
        if self.layout == "mlagentbench":
            return _tree_files(self.workspace_root)
        return list(dict.fromkeys([*self.data_files, self.baseline]))

    def tabular_split(self) -> tuple[str, str] | None:
        """Workspace paths of ``train.csv`` and ``test.csv`` when the task ships both."""
        by_name = {PurePosixPath(p).name: p for p in self.data_files}
        if "train.csv" in by_name and "test.csv" in by_name:
            return by_name["train.csv"], by_name["test.csv"]
        return None

    def prepare_workspace(self, run_dir: str | Path) -> Path:
        """Copy the task's files into ``run_dir/workspace`` and record read-only checksums.

        Files already in the workspace are overwritten with the task's originals.
        """
        run_dir = Path(run_dir)
        workspace = run_dir / "workspace"
        for rel in self.workspace_files():
            source = self.workspace_root / rel
            if not source.is_file():
                raise TaskError(f"task {self.name!r}: file {source} has disappeared")
            destination = workspace / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
        workspace.mkdir(parents=True, exist_ok=True)
        manifest = {rel: _sha256(workspace / rel) for rel in self.read_only_files}
        (run_dir / READ_ONLY_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        return workspace

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


def bundled_tasks() -> list[str]:
    """Names of the tasks shipped with the package."""
    if not TASKS_DIR.is_dir():
        return []
    return sorted(p.name for p in TASKS_DIR.iterdir() if (p / "task.toml").is_file()
                  or ((p / "env").is_dir() and (p / "scripts").is_dir()))


def load_task(path: str | Path) -> Task:
    """Load a task from a folder, a ``task.toml`` file, an MLAgentBench folder or a bundled name."""
    candidate = Path(path).expanduser()
    if not candidate.exists():
        name = str(path).strip().replace("-", "_")
        if re.fullmatch(r"\w+", name) and (TASKS_DIR / name / "task.toml").is_file():
            return _load_toml_task(TASKS_DIR / name / "task.toml")
        if re.fullmatch(r"\w+", name) and name in bundled_tasks():  # MLAgentBench layout
            return _load_mlagentbench(TASKS_DIR / name)
        raise TaskError(
            f"task {str(path)!r} not found: no such folder or file",
            hint=f"bundled tasks: {', '.join(bundled_tasks()) or 'none'}",
        )
    candidate = candidate.resolve()
    if candidate.is_file():
        return _load_toml_task(candidate)
    if (candidate / "task.toml").is_file():
        return _load_toml_task(candidate / "task.toml")
    if (candidate / "env").is_dir() or (candidate / "scripts").is_dir():
        return _load_mlagentbench(candidate)
    raise TaskError(
        f"{candidate}: not a task folder",
        hint="add a task.toml, or use the MLAgentBench layout env/ + scripts/research_problem.txt",
    )


# --- task.toml -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _MetricTable(_Strict):
    name: str | None = None
    direction: str | None = None


class _BudgetTable(_Strict):
    max_steps: int | None = None
    wall_time_s: float | None = None
    cell_timeout_s: float | None = None


class _TaskTable(_Strict):
    name: str | None = None
    description: str | None = None
    task_type: str | None = None
    target: str | None = None
    data_files: list[str] | None = None
    baseline: str | None = None
    read_only_files: list[str] | None = None
    eval_script: str | None = None
    metric: _MetricTable | None = None
    budget: _BudgetTable | None = None


def _read_spec(spec: Path) -> _TaskTable:
    try:
        raw = tomllib.loads(spec.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaskError(f"{spec}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TaskError(f"{spec}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaskError(f"{spec}: invalid TOML: {exc}") from None
    try:
        return _TaskTable.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            raise TaskError(f"{spec}: unknown field '{field}'", hint=_FIELDS_HINT) from None
        expected = _EXPECTED.get(err["type"], err["msg"].lower())
        got = err.get("input")
        raise TaskError(
            f"{spec}: field '{field}' must be {expected}, got {type(got).__name__} {got!r:.60}"
        ) from None


_FIELDS_HINT = (
    "fields: name, description, task_type, target, data_files, baseline, read_only_files, "
    "eval_script, [metric] name/direction, [budget] max_steps/wall_time_s/cell_timeout_s"
)
_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number",
    "list_type": "a list", "model_type": "a table",
}  # fmt: skip


def _missing(spec: Path, field: str, hint: str) -> TaskError:
    return TaskError(f"{spec}: field '{field}' is missing", hint=hint)


def _metric_from(spec: Path, table: _MetricTable | None) -> MetricSpec:
    if table is None:
        raise _missing(
            spec, "metric", 'add [metric] with name = "accuracy", direction = "maximize"'
        )
    if not table.name or not table.name.strip():
        raise _missing(spec, "metric.name", 'e.g. name = "accuracy"')
    name = table.name.strip()
    direction = table.direction or KNOWN_METRICS.get(canonical_metric(name))
    if direction is None:
        raise _missing(spec, "metric.direction", f"say maximize or minimize for metric {name!r}")
    if direction not in DIRECTIONS:
        raise TaskError(
            f"{spec}: field 'metric.direction' is {direction!r}; expected 'maximize' or 'minimize'"
        )
    return MetricSpec(name=name, direction=direction)  # type: ignore[arg-type]


def _budget_from(spec: Path, table: _BudgetTable | None) -> Budget:
    values = table.model_dump(exclude_none=True) if table else {}
    for key, value in values.items():
        if value <= 0:
            raise TaskError(f"{spec}: field 'budget.{key}' must be positive, got {value!r}")
    return Budget(**values)


def _inside(spec: Path, base: Path, field: str, rel: str) -> str:
    """``rel`` as a normalised posix path that exists as a file under ``base``."""
    pure = PurePosixPath(rel.replace("\\", "/"))
    if not rel.strip() or pure.is_absolute() or ".." in pure.parts:
        raise TaskError(f"{spec}: field '{field}' has {rel!r}; use a path inside {base}")
    if not (base / pure).is_file():
        raise TaskError(f"{spec}: field '{field}' names {rel!r}, which does not exist in {base}")
    return pure.as_posix()


def _load_toml_task(spec: Path) -> Task:
    table = _read_spec(spec)
    root = spec.parent.resolve()
    if not table.description or not table.description.strip():
        raise _missing(spec, "description", "describe the research problem")
    if table.data_files is None:
        raise _missing(spec, "data_files", 'e.g. data_files = ["train.csv", "test.csv"]')
    if table.baseline is None:
        raise _missing(spec, "baseline", 'e.g. baseline = "baseline.py"')
    data = [_inside(spec, root, "data_files", rel) for rel in table.data_files]
    baseline = _inside(spec, root, "baseline", table.baseline)
    read_only = table.read_only_files if table.read_only_files is not None else data
    read_only = [_inside(spec, root, "read_only_files", rel) for rel in read_only]
    eval_script = None
    if table.eval_script is not None:
        eval_script = _inside(spec, root, "eval_script", table.eval_script)
    metric = _metric_from(spec, table.metric)
    task = Task(
        name=(table.name or root.name).strip(),
        description=table.description.strip(),
        task_type=(table.task_type or _infer_task_type(metric.name)).strip().lower(),
        target=table.target or "target",
        data_files=data,
        baseline=baseline,
        metric=metric,
        budget=_budget_from(spec, table.budget),
        read_only_files=read_only,
        eval_script=eval_script,
        root=root,
    )
    _check_target(spec, task)
    return task


def _check_target(spec: Path, task: Task) -> None:
    split = task.tabular_split()
    if split is None:
        return
    for rel in split:
        with open(task.workspace_root / rel, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        if task.target not in header:
            raise TaskError(
                f"{spec}: field 'target' is {task.target!r}, which is not a column of {rel}",
                hint=f"columns start {', '.join(header[:5])}",
            )


# --- MLAgentBench / MLR-Copilot layout -------------------------------------------------------


def _load_mlagentbench(folder: Path) -> Task:
    env, scripts = folder / "env", folder / "scripts"
    problem_file = scripts / "research_problem.txt"
    if not problem_file.is_file():
        raise TaskError(f"{problem_file}: missing (the MLAgentBench layout needs the problem text)")
    description = problem_file.read_text(encoding="utf-8", errors="replace").strip()
    if not description:
        raise TaskError(f"{problem_file}: empty; write the research problem there")
    if not (env / "train.py").is_file():
        raise TaskError(f"{env / 'train.py'}: missing (the baseline of an MLAgentBench task)")
    eval_file = scripts / "eval.py"
    eval_text = ""
    if eval_file.is_file():
        eval_text = eval_file.read_text(encoding="utf-8", errors="replace")
        if not re.search(r"^def\s+get_score\s*\(", eval_text, re.MULTILINE):
            raise TaskError(f"{eval_file}: does not define get_score(folder)")
    files = _tree_files(env)
    override_file = scripts / "task.toml"
    over = _read_spec(override_file) if override_file.is_file() else _TaskTable()
    name, direction = infer_metric(eval_text, description)
    if over.metric is not None:
        given = over.metric
        if given.name and not given.direction:
            direction = KNOWN_METRICS.get(canonical_metric(given.name))  # type: ignore[assignment]
        table = _MetricTable(name=given.name or name, direction=given.direction or direction)
        metric = _metric_from(override_file, table)
    else:
        metric = MetricSpec(name=name, direction=direction)
    read_only = _read_only_patterns(scripts / "read_only_files.txt", files)
    task_type = over.task_type or _infer_task_type(metric.name)
    spec = override_file if override_file.is_file() else folder
    baseline = _inside(spec, env, "baseline", over.baseline or "train.py")
    data = over.data_files if over.data_files is not None else [f for f in files if f != baseline]
    task = Task(
        name=(over.name or folder.name).strip(),
        description=(over.description or description).strip(),
        task_type=task_type.strip().lower(),
        target=over.target or "target",
        data_files=[_inside(spec, env, "data_files", rel) for rel in data],
        baseline=baseline,
        metric=metric,
        budget=_budget_from(spec, over.budget),
        read_only_files=read_only,
        eval_script="scripts/eval.py" if eval_file.is_file() else None,
        root=folder,
        workspace_dir="env",
        layout="mlagentbench",
    )
    if over.target is not None:
        _check_target(spec, task)
    return task


def infer_metric(*texts: str) -> tuple[str, Direction]:
    """Metric name and direction named in the first text that names one; else ("score", max)."""
    for text in texts:
        lowered = text.lower()
        for table in (_METRIC_WORDS, _GENERIC_WORDS):
            counts = [(len(re.findall(rx, lowered)), -i) for i, (rx, _, _) in enumerate(table)]
            best = max(counts)
            if best[0]:
                _, name, direction = table[-best[1]]
                return name, direction
    return "score", "maximize"


def _infer_task_type(metric: str) -> str:
    name = canonical_metric(metric)
    if name in REGRESSION_METRICS or name in {"error", "smape"}:
        return "regression"
    if name in KNOWN_METRICS:
        return "classification"
    return "unknown"


def _read_only_patterns(listing: Path, files: list[str]) -> list[str]:
    if not listing.is_file():
        return []
    patterns = []
    for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line.removeprefix("./").rstrip("/"))
    matched = []
    for rel in files:
        if any(fnmatch.fnmatch(rel, p) or rel.startswith(p + "/") for p in patterns):
            matched.append(rel)
    return matched


# --- helpers ---------------------------------------------------------------------------------


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
