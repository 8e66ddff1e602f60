"""The architecture contracts of ``pyproject.toml`` ([tool.importlinter], run by ``make lint``)
hold on the package, and each one fails when one offending import is added.

Each case copies the package to a temporary folder, appends one import to one module and runs
``lint-imports`` on the copy (first on ``PYTHONPATH``, so grimp reads the copy) for that contract
alone: the contract must then be reported broken, naming the offending module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mlr_copilot_jupyter

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(mlr_copilot_jupyter.__file__).resolve().parent
LINT = Path(sys.executable).with_name("lint-imports")

# contract id -> (module file to edit, import line to append, the module the report names)
OFFENCES = {
    "layers": ("errors.py", "from mlr_copilot_jupyter import api",
               "mlr_copilot_jupyter.errors"),
    "surfaces-use-the-facade": ("jupyter_ui/magics.py",
                                "import mlr_copilot_jupyter.experiment.agent",
                                "mlr_copilot_jupyter.jupyter_ui.magics"),
    "backends-stay-in-llm": ("experiment/judge.py", "import mlr_copilot_jupyter.llm.offline",
                             "mlr_copilot_jupyter.experiment.judge"),
    "llm-imports-no-engine-package": ("llm/base.py", "import mlr_copilot_jupyter.ideas.problem",
                                      "mlr_copilot_jupyter.llm.base"),
    "runtime-below-agents": ("batch/__init__.py", "import mlr_copilot_jupyter.experiment.task",
                             "mlr_copilot_jupyter.batch"),
    # atomic imports errors: errors importing atomic closes a circle
    "no-circles": ("errors.py", "import mlr_copilot_jupyter.atomic", ".errors -> .atomic"),
}


def lint(package_parent: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    args = [str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")]
    for contract in contracts:
        args += ["--contract", contract]
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=package_parent,
                          timeout=120)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("pkg")
    shutil.copytree(PACKAGE, parent / "mlr_copilot_jupyter",
                    ignore=shutil.ignore_patterns("__pycache__", "labextension"))
    return parent


def test_every_contract_is_configured() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for contract in OFFENCES:
        assert f'id = "{contract}"' in text, contract


def test_the_package_keeps_every_contract() -> None:
    result = lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"Contracts: {len(OFFENCES)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize("contract", sorted(OFFENCES))
def test_one_offending_import_breaks_the_contract(package_copy: Path, contract: str) -> None:
    relpath, line, offender = OFFENCES[contract]
    target = package_copy / "mlr_copilot_jupyter" / relpath
    original = target.read_text()
    try:
        assert lint(package_copy, contract).returncode == 0  # the copy is clean before the edit
        target.write_text(f"{original}\n{line}  # noqa: E402,F401\n")
        result = lint(package_copy, contract)
    finally:
        target.write_text(original)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "0 kept, 1 broken" in result.stdout
    assert offender in result.stdout
