"""The time budgets a session checks (tests/support/budget.py), fed with reports as pytest and
pytest-xdist's controller deliver them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.budget import (
    MARK,
    SLOW_TEST_S,
    UNIT_LAYER_S,
    BudgetPlugin,
    Scale,
    check_reason,
    mark_reason,
)


def report(nodeid: str, seconds: float, *, when: str = "call", marked: bool = False) -> pytest.TestReport:
    keywords: dict[str, Any] = {nodeid.rsplit("::", 1)[-1]: 1}
    if marked:
        keywords[MARK] = 1
    return pytest.TestReport(nodeid, (nodeid.split("::")[0], 1, "t"), keywords, "passed", None,
                             when, duration=seconds)


def finish(plugin: BudgetPlugin, *reports: pytest.TestReport, status: int = 0) -> int:
    for rep in reports:
        plugin.pytest_runtest_logreport(rep)
    session = SimpleNamespace(exitstatus=status)
    plugin.pytest_sessionfinish(session)  # type: ignore[arg-type]
    return int(session.exitstatus)


def serial() -> BudgetPlugin:
    return BudgetPlugin(Scale(workers=1, cpus=2))


def test_an_unmarked_slow_integration_test_fails_the_session() -> None:
    plugin = serial()
    status = finish(plugin, report("tests/integration/test_a.py::test_slow", SLOW_TEST_S + 5),
                    report("tests/integration/test_a.py::test_quick", 1.0))
    assert status == pytest.ExitCode.TESTS_FAILED
    assert plugin.over == [(SLOW_TEST_S + 5, "tests/integration/test_a.py::test_slow")]


def test_a_marked_slow_test_and_a_slow_e2e_test_pass() -> None:
    plugin = serial()
    status = finish(plugin,
                    report("tests/integration/test_a.py::test_slow", 90, marked=True),
                    report("tests/e2e/test_lab.py::test_browser", 160),
                    report("tests/unit/test_u.py::test_quick", 0.1))
    assert status == 0 and plugin.over == []


def test_only_the_call_phase_counts_and_xdist_group_suffixes_are_dropped() -> None:
    plugin = serial()
    nodeid = "tests/integration/test_a.py::test_uses_a_module_fixture@tests/integration/test_a.py"
    status = finish(plugin, report(nodeid, 45, when="setup"), report(nodeid, 3))
    assert status == 0
    slow = "tests/integration/test_b.py::test_slow@tests/integration/test_b.py"
    assert finish(serial(), report(slow, 30, marked=True, when="setup"), report(slow, 30,
                  marked=True)) == 0


def test_more_workers_than_cpus_stretch_the_limit() -> None:
    crowded = BudgetPlugin(Scale(workers=3, cpus=2))
    assert crowded.limit() == pytest.approx(SLOW_TEST_S * 1.5)
    assert finish(crowded, report("tests/integration/test_a.py::test_t", SLOW_TEST_S * 1.4)) == 0
    assert finish(BudgetPlugin(Scale(workers=3, cpus=2)),
                  report("tests/integration/test_a.py::test_t", SLOW_TEST_S * 1.6)) == 1
    loaded = BudgetPlugin(Scale(workers=2, cpus=2, slowdown=2.0))
    assert loaded.limit() == pytest.approx(SLOW_TEST_S * 2)
    assert BudgetPlugin(Scale(workers=1, cpus=8, slowdown=0.5)).limit() == SLOW_TEST_S


def test_the_unit_layer_budget_adds_every_phase_of_every_unit_test() -> None:
    reports = [report(f"tests/unit/test_u.py::test_{i}", UNIT_LAYER_S / 10, when=when)
               for i in range(4) for when in ("setup", "call", "teardown")]  # 1.2 x budget
    plugin = serial()
    assert finish(plugin, *reports) == pytest.ExitCode.TESTS_FAILED
    assert plugin.unit_seconds == pytest.approx(UNIT_LAYER_S * 1.2)
    assert finish(BudgetPlugin(Scale(workers=3, cpus=2)), *reports) == 0  # 1.5 x budget


def test_a_failed_session_keeps_its_own_exit_status() -> None:
    assert finish(serial(), report("tests/integration/test_a.py::test_slow", 99),
                  status=pytest.ExitCode.INTERRUPTED) == pytest.ExitCode.INTERRUPTED


def test_slow_ok_needs_a_reason() -> None:
    assert mark_reason(pytest.mark.slow_ok(reason="  trains 6 tasks  ").mark) == "trains 6 tasks"
    assert mark_reason(pytest.mark.slow_ok("a Dask cluster").mark) == "a Dask cluster"
    item = SimpleNamespace(get_closest_marker=lambda name: pytest.mark.slow_ok().mark)
    with pytest.raises(pytest.fail.Exception, match="needs a reason"):
        check_reason(item)  # type: ignore[arg-type]
    blank = SimpleNamespace(get_closest_marker=lambda name: pytest.mark.slow_ok(reason=" ").mark)
    with pytest.raises(pytest.fail.Exception, match="needs a reason"):
        check_reason(blank)  # type: ignore[arg-type]
    fine = SimpleNamespace(get_closest_marker=lambda name: pytest.mark.slow_ok(reason="x").mark)
    check_reason(fine)  # type: ignore[arg-type]
