"""The kernel plumbing lives in ``kernels/``, one copy used by ``experiment/`` and ``batch/``.

The layering rules themselves (``kernels/`` imports nothing above it; ``batch/`` and
``experiment/`` are independent) are import-linter contracts in ``pyproject.toml`` (``layers``,
``runtime-below-agents``), run by ``make lint`` and tested in
``tests/integration/test_import_contracts.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import mlr_copilot_jupyter

PACKAGE = mlr_copilot_jupyter.__name__
ROOT = Path(mlr_copilot_jupyter.__file__).parent

def _modules(subpackage: str) -> list[Path]:
    return sorted((ROOT / subpackage).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved; for
    ``from X import y`` both ``X`` and ``X.y``, since ``y`` may be a submodule)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def test_the_import_parser_sees_relative_and_nested_imports() -> None:
    # The rules below are only as good as the parser: check it on the forms they rely on.
    source = ROOT / "batch" / "executors.py"
    names = imported_modules(source)
    assert f"{PACKAGE}.kernels.manager" in names  # imported inside a function
    assert f"{PACKAGE}.errors" in names  # from ..errors import InputError
    assert f"{PACKAGE}.batch.results" in names  # from .results import ...
    init = imported_modules(ROOT / "experiment" / "__init__.py")
    assert "importlib" in init


def test_the_kernel_plumbing_lives_in_kernels() -> None:
    # One kernel manager, one scrubber, one metric line: not copies in experiment/ or batch/.
    assert {p.name for p in _modules("kernels")} >= {
        "__init__.py", "environment.py", "launcher.py", "manager.py", "metric_line.py",
        "rlimits.py", "transport.py"}
    for old in ("env.py", "metrics.py", "transport.py", "kernel_launcher.py"):
        assert not (ROOT / "experiment" / old).exists(), old
    users = {path.relative_to(ROOT).as_posix() for sub in ("experiment", "batch")
             for path in _modules(sub)
             if f"{PACKAGE}.kernels.manager" in imported_modules(path)}
    assert users == {"experiment/executor.py", "batch/executors.py"}
