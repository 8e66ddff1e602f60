"""The test suite's own layout: three layers, shared helpers in ``tests/support``, and no test
module importing another (helpers live in support modules, fixtures are registered in conftest)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LAYERS = ("unit", "integration", "e2e")
TEST_MODULE = re.compile(r"^tests(\.(unit|integration|e2e))?\.(test_\w+|conftest)$")


def _python_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports would tie a test to its package position
                names.add("." * node.level + (node.module or ""))
            elif node.module:
                names.add(node.module)
                # ``from tests import test_x`` / ``from tests.unit import test_x``
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_imports_a_test_module() -> None:
    bad = {str(path.relative_to(TESTS)): found for path in _python_files()
           if (found := sorted(m for m in _imported_modules(path)
                               if TEST_MODULE.match(m) or m.startswith(".")))}
    assert not bad, f"move these helpers to tests/support: {bad}"


def test_the_check_sees_test_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from tests.integration.test_faults import run_cli\n"
                      "from tests import test_comm\nfrom . import pdfgen\n"
                      "from tests.support.cli import cli_command\n")
    found = sorted(m for m in _imported_modules(sample) if TEST_MODULE.match(m) or m.startswith("."))
    assert found == [".", "tests.integration.test_faults", "tests.test_comm"]


def test_every_test_file_is_in_a_layer() -> None:
    misplaced = [p.relative_to(TESTS) for p in TESTS.rglob("test_*.py")
                 if p.relative_to(TESTS).parts[0] not in LAYERS]
    assert not misplaced, f"test files outside tests/{{{','.join(LAYERS)}}}: {misplaced}"


def test_support_holds_no_tests() -> None:
    for path in (TESTS / "support").rglob("*.py"):
        tree = ast.parse(path.read_text())
        tests = [n.name for n in tree.body
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")]
        assert not tests, f"{path.relative_to(TESTS)} defines tests {tests}"


def test_each_layer_is_a_package() -> None:
    for layer in (*LAYERS, "support"):
        assert (TESTS / layer / "__init__.py").is_file(), layer


def test_a_unit_test_cannot_start_a_process() -> None:
    """tests/unit/conftest.py refuses subprocesses and worker processes, naming the move."""
    import multiprocessing
    import subprocess
    import sys

    import pytest

    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        multiprocessing.get_context("spawn").Process(target=print).start()


def test_a_test_that_ignores_ctrl_c_does_not_pass_it_on() -> None:
    """An in-process ``cli.main`` that caught Ctrl-C ignores SIGINT; the next test (and every
    process it starts) must get the handler and the signal mask back (tests/support/signals.py)."""
    import signal

    from mlr_copilot_jupyter.cli.common import ignore_ctrl_c
    from tests.support.signals import kept_signal_state

    before = signal.getsignal(signal.SIGINT)
    ignore_ctrl_c()  # as a module fixture's in-process cli.main might have left it
    with kept_signal_state():
        assert signal.getsignal(signal.SIGINT) == before  # undone before the test
        ignore_ctrl_c()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) == before
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
