"""Where the machine's work goes: CPU seconds per test, beside wall seconds (opt-in plugin).

``pytest -p tests.support.cpu_report`` prints, at the end, the tests that used the most CPU
(this process and the child processes it waited for: kernels, CLI subprocesses, servers) and the
CPU per test file. On a machine whose cores are all busy (``make test`` on 2 cores), the wall time
of the whole run is about the CPU of all tests divided by the cores, so these are the numbers to
cut; ``--durations`` shows wall time, which under xdist mostly measures the neighbours.

``--cpu-report N`` sets how many tests and files are listed (default 30). Under pytest-xdist the
workers measure and the controller prints.
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

_KEY = "mlr_cpu_seconds"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cpu-report", type=int, default=30, metavar="N",
                     help="how many tests and files the CPU report lists (tests/support/cpu_report)")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


_started: dict[str, float] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _started[item.nodeid] = _cpu()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    if call.when == "teardown" and item.nodeid in _started:
        report = outcome.get_result()
        report.user_properties.append((_KEY, _cpu() - _started.pop(item.nodeid)))


class _Report:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid.split("@", 1)[0]
        self.wall[nodeid] += report.duration
        for key, value in report.user_properties:
            if key == _KEY:
                self.cpu[nodeid] = float(value)

    def pytest_terminal_summary(self, terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
        if not self.cpu:
            return
        n = config.getoption("cpu_report")
        tr = terminalreporter
        tr.section(f"CPU seconds (tests/support/cpu_report.py): {sum(self.cpu.values()):.0f} s "
                   f"in {len(self.cpu)} tests")
        for nodeid, cpu in sorted(self.cpu.items(), key=lambda kv: -kv[1])[:n]:
            tr.write_line(f"{cpu:8.1f} cpu {self.wall[nodeid]:8.1f} wall  {nodeid}")
        files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for nodeid, cpu in self.cpu.items():
            entry = files[nodeid.split("::", 1)[0]]
            entry[0] += cpu
            entry[1] += self.wall[nodeid]
            entry[2] += 1
        tr.write_line("per file:")
        for path, (cpu, wall, count) in sorted(files.items(), key=lambda kv: -kv[1][0])[:n]:
            tr.write_line(f"{cpu:8.1f} cpu {wall:8.1f} wall {int(count):4d} tests  {path}")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Report(), "mlr-cpu-report")
