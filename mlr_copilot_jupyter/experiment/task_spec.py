"""Reading task folders into :class:`~.task.Task`: ``task.toml`` (with its optional ``[test]``
held-out table) and the MLAgentBench / MLR-Copilot layout. Every error is one line naming the
file and the field.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import TaskError
from ..options_spec import MAX_STEPS
from .metric_rules import (
    DIRECTIONS,
    KNOWN_METRICS,
    REGRESSION_METRICS,
    MetricInference,
    canonical_metric,
    infer_folder_metric,
)
from .task_model import Budget, MetricSpec, Task, _tree_files

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _MetricTable(_Strict):
    name: str | None = None
    direction: str | None = None


class _BudgetTable(_Strict):
    max_steps: int | None = None
    wall_time_s: float | None = None
    cell_timeout_s: float | None = None


class _TestTable(_Strict):
    file: str | None = None
    features: str | None = None
    submission: str | None = None


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
    test: _TestTable | None = None


_FIELDS_HINT = (
    "fields: name, description, task_type, target, data_files, baseline, read_only_files, "
    "eval_script, [metric] name/direction, [budget] max_steps/wall_time_s/cell_timeout_s, "
    "[test] file/features/submission"
)
_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number",
    "list_type": "a list", "model_type": "a table",
}  # fmt: skip


def read_spec(spec: Path) -> _TaskTable:
    """The validated tables of one ``task.toml``."""
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


def _missing(spec: Path, field: str, hint: str) -> TaskError:
    return TaskError(f"{spec}: field '{field}' is missing", hint=hint)


def _metric_from(spec: Path, table: _MetricTable | None) -> tuple[MetricSpec, str]:
    """The metric of a ``[metric]`` table and one line of evidence quoting it."""
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
    if table.direction:
        evidence = f'{spec.name}: [metric] name = "{name}", direction = "{direction}"'
    else:
        evidence = f'{spec.name}: [metric] name = "{name}"; {direction} as for every {name}'
    return MetricSpec(name=name, direction=direction), evidence  # type: ignore[arg-type]


def _budget_from(spec: Path, table: _BudgetTable | None) -> Budget:
    values = table.model_dump(exclude_none=True) if table else {}
    for key, value in values.items():
        if key == "max_steps":  # the range of --max-steps (options_spec), as on every surface
            if refused := MAX_STEPS.refusal(value):
                raise TaskError(f"{spec}: field 'budget.max_steps' {refused}")
        elif value <= 0:
            raise TaskError(f"{spec}: field 'budget.{key}' must be positive, got {value!r}")
    return Budget(**values)


def _relative(spec: Path, base: Path, field: str, rel: str) -> str:
    pure = PurePosixPath(rel.replace("\\", "/"))
    if not rel.strip() or pure.is_absolute() or ".." in pure.parts:
        raise TaskError(f"{spec}: field '{field}' has {rel!r}; use a path inside {base}")
    return pure.as_posix()


def _inside(spec: Path, base: Path, field: str, rel: str) -> str:
    """``rel`` as a normalised posix path that exists as a file under ``base``."""
    posix = _relative(spec, base, field, rel)
    if not (base / posix).is_file():
        raise TaskError(f"{spec}: field '{field}' names {rel!r}, which does not exist in {base}")
    return posix


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return next(csv.reader(handle), [])


def _test_from(spec: Path, root: Path, table: _TestTable, task: Task) -> dict[str, str]:
    """Validated ``test_file`` / ``test_features`` / ``submission`` of a ``[test]`` table."""
    if table.file is None:
        raise _missing(spec, "test.file", 'e.g. file = "heldout/test.csv" (labels included)')
    test_file = _inside(spec, root, "test.file", table.file)
    workspace_names = set(task.workspace_files())
    if test_file in workspace_names or test_file in task.read_only_files:
        raise TaskError(f"{spec}: field 'test.file' names {test_file!r}, which is also a "
                        "workspace file: the labels would reach the agent; drop it from data_files")
    if task.target not in _header(root / test_file):
        raise TaskError(f"{spec}: field 'target' is {task.target!r}, which is not a column of "
                        f"the test file {test_file}")
    features = _relative(spec, root, "test.features", table.features or "test.csv")
    submission = _relative(spec, root, "test.submission", table.submission or "submission.csv")
    for field, value in (("test.features", features), ("test.submission", submission)):
        if value in workspace_names:
            raise TaskError(f"{spec}: field '{field}' is {value!r}, which collides with a data "
                            "file or the baseline of the workspace; choose another name")
    if features == submission:
        raise TaskError(f"{spec}: fields 'test.features' and 'test.submission' are both "
                        f"{features!r}; they must differ")
    return {"test_file": test_file, "test_features": features, "submission": submission}


def load_toml_task(spec: Path) -> Task:
    """The task described by the ``task.toml`` file ``spec``."""
    table = read_spec(spec)
    root = spec.parent.resolve()
    if not table.description or not table.description.strip():
        raise _missing(spec, "description", "describe the research problem")
    if table.data_files is None:
        raise _missing(spec, "data_files", 'e.g. data_files = ["train.csv", "valid.csv"]')
    if table.baseline is None:
        raise _missing(spec, "baseline", 'e.g. baseline = "baseline.py"')
    data = [_inside(spec, root, "data_files", rel) for rel in table.data_files]
    baseline = _inside(spec, root, "baseline", table.baseline)
    read_only = table.read_only_files if table.read_only_files is not None else data
    read_only = [_inside(spec, root, "read_only_files", rel) for rel in read_only]
    eval_script = None
    if table.eval_script is not None:
        eval_script = _inside(spec, root, "eval_script", table.eval_script)
    metric, evidence = _metric_from(spec, table.metric)
    task = Task(
        name=(table.name or root.name).strip(),
        description=table.description.strip(),
        task_type=(table.task_type or infer_task_type(metric.name)).strip().lower(),
        target=table.target or "target",
        data_files=data,
        baseline=baseline,
        metric=metric,
        metric_evidence=evidence,
        metric_origin="task.toml",
        budget=_budget_from(spec, table.budget),
        read_only_files=read_only,
        eval_script=eval_script,
        root=root,
    )
    if table.test is not None:
        task = task.model_copy(update=_test_from(spec, root, table.test, task))
    _check_target(spec, task)
    return task


def _check_target(spec: Path, task: Task) -> None:
    split = task.tabular_split()
    labelled = list(split) if split is not None else []
    if task.heldout:
        labelled = [rel for rel in (task.train_file(), task.validation_file()) if rel]
    for rel in labelled:
        header = _header(task.workspace_root / rel)
        if task.target not in header:
            raise TaskError(
                f"{spec}: field 'target' is {task.target!r}, which is not a column of {rel}",
                hint=f"columns start {', '.join(header[:5])}",
            )


# --- MLAgentBench / MLR-Copilot layout -------------------------------------------------------


def load_mlagentbench(folder: Path) -> Task:
    """The task of an MLAgentBench folder, with ``scripts/task.toml`` overriding what it sets."""
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
    over = read_spec(override_file) if override_file.is_file() else _TaskTable()
    if over.test is not None:
        raise TaskError(f"{override_file}: field 'test' is for task.toml task folders; an "
                        "MLAgentBench task is scored by scripts/eval.py")
    inferred = infer_folder_metric(folder, eval_text, description)
    if over.metric is not None:
        metric, evidence = _override_metric(override_file, over.metric, inferred)
        origin, warnings = "task.toml", []
    else:
        metric = MetricSpec(name=inferred.name, direction=inferred.direction)
        evidence, origin, warnings = inferred.evidence, inferred.origin, inferred.warnings
    read_only = _read_only_patterns(scripts / "read_only_files.txt", files)
    task_type = over.task_type or infer_task_type(metric.name)
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
        metric_evidence=evidence,
        metric_origin=origin,  # type: ignore[arg-type]
        warnings=warnings,
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


def _override_metric(spec: Path, given: _MetricTable,
                     inferred: MetricInference) -> tuple[MetricSpec, str]:
    direction = given.direction
    if given.name and not direction:
        direction = KNOWN_METRICS.get(canonical_metric(given.name))
    elif not given.name and not direction:
        direction = inferred.direction
    table = _MetricTable(name=given.name or inferred.name, direction=direction)
    metric, _ = _metric_from(spec, table)
    said = " and ".join(f'{key} = "{value}"' for key, value in
                        (("name", given.name), ("direction", given.direction)) if value)
    evidence = f"scripts/task.toml: [metric] {said or '(empty)'}"
    if not given.name or not given.direction:
        evidence += f"; rest from {inferred.evidence}"
    return metric, evidence


def infer_task_type(metric: str) -> str:
    """classification / regression / unknown, from the metric name."""
    name = canonical_metric(metric)
    if name in REGRESSION_METRICS or name in {"error", "smape"}:
        return "regression"
    if name in KNOWN_METRICS and name not in _NOT_A_TASK_TYPE:
        return "classification"
    return "unknown"


# Metrics that say nothing about whether the task is classification or regression.
_NOT_A_TASK_TYPE = frozenset({"perplexity", "runtime", "time", "latency", "seconds", "speedup"})


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

