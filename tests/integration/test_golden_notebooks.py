"""Golden notebooks for the executor's failure behaviours (``tests/notebooks/*.ipynb``).

Each notebook runs cell by cell through one :class:`KernelExecutor` configured by the notebook's
``metadata.mlr_copilot_executor``; each code cell's ``metadata.mlr_copilot_expect`` says what the
executor must report for it (status, error name, message fragments, lost state, output). A cell
with ``cancel_after`` is cancelled by its caller after that many seconds (``outcome: cancelled``).
``max_elapsed`` is stated for an idle machine and scaled to the load (``tests/support/load.py``),
staying under ``hang_after``, the seconds the cell would take if nothing stopped it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.experiment.result import CellResult
from mlr_copilot_jupyter.kernels.sandbox import resolve
from tests.support.load import time_bound

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GOLDEN = sorted(NOTEBOOKS.glob("*.ipynb"))
CONTAINS = {"message_contains": "message", "evalue_contains": "evalue",
            "stdout_contains": "stdout_text", "traceback_contains": "traceback"}
EXACT = {"status": "status", "ename": "ename", "lost_state": "lost_state",
         "stdout": "stdout_text", "metrics": "metrics"}


def check(result: CellResult | str, elapsed: float, expect: dict[str, Any],
          max_elapsed: float | None = None) -> list[str]:
    """What differs from the expectation (an empty list when the cell behaved); ``max_elapsed``
    replaces the expectation's (the caller scales it to the load)."""
    problems: list[str] = []
    if max_elapsed is None:
        max_elapsed = expect.get("max_elapsed")
    if max_elapsed is not None and elapsed > max_elapsed:
        problems.append(f"took {elapsed:.1f} s > {max_elapsed:.1f} s")
    if isinstance(result, str):  # the caller cancelled the cell
        if expect.get("outcome") != result:
            problems.append(f"outcome {result!r}, expected {expect.get('outcome', 'a result')!r}")
        return problems
    if "outcome" in expect:
        problems.append(f"expected outcome {expect['outcome']!r}, got status {result.status!r}")
    for key, attr in EXACT.items():
        if key in expect and getattr(result, attr) != expect[key]:
            problems.append(f"{attr} = {getattr(result, attr)!r}, expected {expect[key]!r}")
    for key, attr in CONTAINS.items():
        for fragment in expect.get(key, []):
            if fragment not in (getattr(result, attr) or ""):
                problems.append(f"{attr} lacks {fragment!r}: {getattr(result, attr)!r}")
    return problems


async def run_notebook(path: Path, run_dir: Path, *, sandbox: bool = True) -> list[str]:
    """Run the golden notebook; in the bubblewrap sandbox unless ``sandbox`` is False (every
    kernel that runs generated code is sandboxed, so that is the behaviour that matters)."""
    nb = nbformat.read(path, as_version=4)
    options = dict(nb.metadata.get("mlr_copilot_executor", {}))
    if sandbox:  # the real sandbox: a machine without a working bwrap fails here, never skips
        status = resolve("require")
        options["sandbox"] = {"bwrap": status.bwrap, "network": False,
                              "writable": [str(run_dir)]}
    problems: list[str] = []
    async with KernelExecutor(run_dir, startup_timeout=120, **options) as ex:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            expect = cell.metadata["mlr_copilot_expect"]
            t0 = time.monotonic()
            result: CellResult | str
            try:
                result = await asyncio.wait_for(ex.arun(cell.source), expect.get("cancel_after"))
            except asyncio.TimeoutError:
                result = "cancelled"
            elapsed = time.monotonic() - t0
            limit = (time_bound(expect["max_elapsed"], below=expect.get("hang_after"))
                     if "max_elapsed" in expect else None)
            problems += [f"cell {index}: {p}" for p in check(result, elapsed, expect, limit)]
    return problems


def test_every_golden_notebook_states_its_expectations() -> None:
    assert {p.stem for p in GOLDEN} >= {"kernel_dies", "cell_timeout", "interrupted",
                                        "interrupt_ignored"}
    for path in GOLDEN:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all("mlr_copilot_expect" in c.metadata for c in code), path.name
        assert all(not c.get("outputs") for c in code), f"{path.name}: commit it without outputs"


def test_check_reports_differences() -> None:
    res = CellResult(status="error", ename="NameError", message="NameError: x")
    assert check(res, 1.0, {"status": "error", "ename": "NameError"}) == []
    assert check(res, 1.0, {"status": "ok"}) == ["status = 'error', expected 'ok'"]
    assert check("cancelled", 1.0, {"outcome": "cancelled"}) == []
    assert check("cancelled", 1.0, {"status": "ok"})
    assert check(res, 30.0, {"max_elapsed": 10})
    assert check(res, 30.0, {"max_elapsed": 10}, max_elapsed=40) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_notebook(path: Path, tmp_path: Path) -> None:
    """Timeouts, interrupts, an ignored interrupt and a dying kernel behave the same inside the
    bubblewrap sandbox (signals reach the kernel's group there; a death is reported by its
    signal, not bwrap's 128+N exit status)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    problems = asyncio.run(asyncio.wait_for(run_notebook(path, run_dir), 180))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
