"""Helpers shared by the tests (moved from ``tests/test_recipes.py``)."""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from pathlib import Path

import pytest


def run_cell(code: str, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, float]:
    """Execute one cell as the kernel would (cwd = workspace, report_metric predefined)."""
    reported: dict[str, float] = {}

    def report_metric(name: str, value: float) -> float:
        reported[name] = float(value)
        return value

    monkeypatch.chdir(workspace)
    namespace = {"__name__": "__main__", "report_metric": report_metric}
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        exec(compile(code, "<recipe cell>", "exec"), namespace)
    elapsed = time.perf_counter() - started
    deprecated = [w for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))]
    assert not deprecated, f"cell uses deprecated API: {deprecated[0].message}"
    return reported, elapsed

