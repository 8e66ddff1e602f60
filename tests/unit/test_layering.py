"""The layering rule of issue #18: the surfaces (magics, CLI, widgets, comm, comparison UI, MCP
server) call ``Copilot`` and import public types from ``mlr_copilot_jupyter.types``; they never
import the engine packages ``experiment``, ``ideas`` or ``batch`` directly."""

from __future__ import annotations

import ast
from pathlib import Path

import mlr_copilot_jupyter

PACKAGE = Path(mlr_copilot_jupyter.__file__).resolve().parent
ENGINE = ("experiment", "ideas", "batch")


def surface_files() -> list[Path]:
    files: list[Path] = []
    for folder in ("cli", "jupyter_ui", "mcp_server"):
        files.extend((PACKAGE / folder).rglob("*.py"))
    return sorted(files)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Absolute names of every module ``path`` imports (``from X import y`` also counts X.y)."""
    parts = ["mlr_copilot_jupyter", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[:-1]  # the module's package (a module's relative imports start there)
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def violations() -> list[str]:
    engine = tuple(f"mlr_copilot_jupyter.{name}" for name in ENGINE)
    return [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module}"
            for path in surface_files() for line, module in imported_modules(path)
            if module in engine or module.startswith(tuple(f"{e}." for e in engine))]


def test_the_scan_resolves_relative_imports_in_functions() -> None:
    cli = [m for _, m in imported_modules(PACKAGE / "cli" / "ideas_cmd.py")]
    assert "mlr_copilot_jupyter.api.Copilot" in cli  # ``from ..api import Copilot`` in run()
    magics = [m for _, m in imported_modules(PACKAGE / "jupyter_ui" / "magics_experiment.py")]
    assert "mlr_copilot_jupyter.types.BackgroundRun" in magics


def test_every_re_exported_name_resolves() -> None:
    from mlr_copilot_jupyter import types

    for name in types.__all__:
        assert getattr(types, name) is not None, name


def test_surfaces_do_not_import_the_engine_packages() -> None:
    assert len(surface_files()) > 20
    assert violations() == []
