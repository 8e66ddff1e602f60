"""The time budgets a test session checks (issue 26 item 6), so the suite stays fast.

* **A test outside tests/e2e takes at most 20 s** (:data:`SLOW_TEST_S`, the call phase: what the
  test itself does, not its fixtures) unless it is marked
  ``@pytest.mark.slow_ok(reason="...")``, the reason saying what real work the time goes to. A
  slower unmarked test makes the session fail (exit status 1) with the list of such tests; a
  ``slow_ok`` mark without a reason fails its test.
* **The unit layer takes at most 30 s** (:data:`UNIT_LAYER_S`): the setup, call and teardown
  times of the tests under tests/unit that ran, added up (what ``make test-unit`` spends in tests;
  ``make test-unit`` also prints its wall time).

Both limits hold for a test that has a core to itself on an idle machine. They are scaled by
``workers / CPUs`` when pytest-xdist runs more workers than there are CPUs (3 workers on 2 CPUs:
each test gets two thirds of a core) and by the machine's slowdown measured at session start
(:mod:`tests.support.load`: a busy machine), never below 1. The summary says which scale applied.

Registered by ``tests/conftest.py``; with xdist the check runs in the controller, which receives
every worker's reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

SLOW_TEST_S = 20.0
UNIT_LAYER_S = 30.0
MARK = "slow_ok"


def mark_reason(mark: pytest.Mark) -> str:
    """The reason of a ``slow_ok`` mark (``reason=`` or the first argument), stripped."""
    reason = mark.kwargs.get("reason", mark.args[0] if mark.args else "")
    return reason.strip() if isinstance(reason, str) else ""


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _layer(nodeid: str) -> str:
    """``unit``, ``integration``, ``e2e`` or ``other`` from a node id (``tests/<layer>/...``)."""
    folders = nodeid.split("::", 1)[0].split("/")[:-1]
    return next((f for f in folders if f in ("unit", "integration", "e2e")), "other")


def check_reason(item: pytest.Item) -> None:
    """Fail ``item`` if it has a ``slow_ok`` mark without a reason."""
    mark = item.get_closest_marker(MARK)
    if mark is not None and not mark_reason(mark):
        pytest.fail(f'@pytest.mark.{MARK} needs a reason: @pytest.mark.{MARK}(reason="what the '
                    'time goes to")', pytrace=False)


@dataclass
class Scale:
    """How much the limits stretch in this session, and why."""

    workers: int
    cpus: int
    slowdown: float = 1.0
    slowdown_note: str = ""

    @property
    def factor(self) -> float:
        return max(1.0, self.workers / self.cpus) * max(1.0, self.slowdown)

    def describe(self) -> str:
        parts = [f"{self.workers} worker{'s' if self.workers != 1 else ''} on {self.cpus} CPUs"]
        parts.append(f"{self.slowdown_note or f'slowdown {self.slowdown:.2f}'} at session start")
        return f"x{self.factor:.2f}: " + ", ".join(parts)


def _session_slowdown() -> tuple[float, str]:
    """The machine's slowdown now (tests/support/load.py), or 1.0 without that module."""
    try:
        from tests.support import load
    except ImportError:
        return 1.0, "slowdown 1 (no calibration module)"
    calibration = load.calibrate()
    return calibration.slowdown, calibration.describe()


@dataclass(eq=False)  # a plugin must be hashable: pluggy keeps plugins in sets
class BudgetPlugin:
    """Collects the call time of each test and checks the budgets at session end."""

    scale: Scale
    calls: dict[str, float] = field(default_factory=dict)  # node id -> call seconds
    marked: set[str] = field(default_factory=set)  # node ids with a slow_ok mark
    unit_seconds: float = 0.0
    unit_tests: set[str] = field(default_factory=set)
    over: list[tuple[float, str]] = field(default_factory=list)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        check_reason(item)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid.split("@", 1)[0]  # xdist adds "@<group>" under loadgroup
        if MARK in report.keywords:
            self.marked.add(nodeid)
        if _layer(nodeid) == "unit":
            self.unit_seconds += report.duration
            self.unit_tests.add(nodeid)
        if report.when == "call":
            self.calls[nodeid] = report.duration

    def limit(self) -> float:
        return SLOW_TEST_S * self.scale.factor

    def unit_limit(self) -> float:
        return UNIT_LAYER_S * self.scale.factor

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.over = sorted(
            ((seconds, nodeid) for nodeid, seconds in self.calls.items()
             if seconds > self.limit() and nodeid not in self.marked
             and _layer(nodeid) != "e2e"),
            reverse=True)
        if (self.over or self.unit_seconds > self.unit_limit()) and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        tr = terminalreporter
        if all(_layer(nodeid) == "e2e" for nodeid in self.calls):
            return  # nothing the budgets apply to ran
        tr.section("time budgets (tests/support/budget.py)")
        tr.write_line(f"limits scaled {self.scale.describe()}")
        if self.over:
            tr.write_line(f"FAILED: {len(self.over)} test(s) outside tests/e2e took over "
                          f"{SLOW_TEST_S:.0f} s (scaled: {self.limit():.0f} s) without "
                          f'@pytest.mark.{MARK}(reason="..."): make them faster, or mark them '
                          "with what the time goes to", red=True)
            for seconds, nodeid in self.over:
                tr.write_line(f"  {seconds:6.1f} s  {nodeid}")
        else:
            tr.write_line(f"tests over {SLOW_TEST_S:.0f} s (scaled: {self.limit():.0f} s) "
                          f"outside tests/e2e: all marked {MARK}")
        if self.unit_tests:
            verdict = "FAILED: over" if self.unit_seconds > self.unit_limit() else "within"
            tr.write_line(f"unit layer: {self.unit_seconds:.1f} s in {len(self.unit_tests)} tests, "
                          f"{verdict} the budget of {UNIT_LAYER_S:.0f} s (scaled: "
                          f"{self.unit_limit():.0f} s)",
                          red=verdict.startswith("FAILED"))
        quick = sorted(n for n in self.marked if n in self.calls
                       and self.calls[n] <= SLOW_TEST_S / 2 and _layer(n) != "e2e")
        if quick:
            tr.write_line(f"note: marked {MARK} but took under {SLOW_TEST_S / 2:.0f} s here "
                          "(the mark may no longer be needed):")
            for nodeid in quick:
                tr.write_line(f"  {self.calls[nodeid]:6.1f} s  {nodeid}")


def register(config: pytest.Config) -> None:
    """Register the budget check (from ``pytest_configure``); in an xdist worker only the
    reason check, since the controller sees every report and checks the budgets."""
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(_ReasonCheck(), "mlr-budget-reasons")
        return
    workers = config.getoption("numprocesses", default=None) or 1
    slowdown, note = _session_slowdown()
    config.pluginmanager.register(
        BudgetPlugin(Scale(int(workers), _cpus(), slowdown, note)), "mlr-budget")


class _ReasonCheck:
    """In an xdist worker: a ``slow_ok`` mark without a reason fails its test."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        check_reason(item)
