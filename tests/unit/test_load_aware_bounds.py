"""The suite's own tools for holding on a busy machine: time bounds scaled by a load calibration
(``tests/support/load.py``) and telling the CLI's LLM progress lines from its output lines."""

from __future__ import annotations

import time

import pytest

from mlr_copilot_jupyter.llm.display import describe
from mlr_copilot_jupyter.llm.progress import LLMCall
from tests.support import load
from tests.support.cli import PROGRESS_LINE, output_lines


def _call(label: str, *, waited: float, tokens: int = 0, streamed: float = 0.0,
          error: str | None = None, finished: bool = False) -> LLMCall:
    now = time.monotonic()
    call = LLMCall(label=label, started=now - waited - streamed)
    if tokens:
        call.first_token, call.chunks = now - streamed, tokens
    if finished:
        call.finished, call.error = now, error
    return call


def test_every_shape_of_progress_line_is_recognised() -> None:
    lines = [describe(_call("check", waited=0.5)),
             describe(_call("check", waited=0.5, error="HTTP 401", finished=True)),
             describe(_call("plan-2", waited=1.0, tokens=143, streamed=3.1)),
             describe(_call("plan-2", waited=1.0, tokens=143, streamed=3.1, finished=True)),
             describe(_call("review-n3", waited=2.0, tokens=5, streamed=1.0,
                            error="interrupted", finished=True))]
    assert lines[0] == "LLM check · waiting for first token · 0.5 s"
    assert lines[1] == "LLM check · 0 tok · 0.5 s · failed"
    assert lines[3].startswith("LLM plan-2 · 143 tok · ") and lines[3].endswith(" s · done")
    assert lines[4].endswith(" · stopped")
    for line in lines:
        assert PROGRESS_LINE.match(line), line


def test_output_lines_keep_errors_warnings_and_results() -> None:
    stderr = ("LLM check · waiting for first token · 0.5 s\n"
              "LLM check · 0 tok · 0.6 s · failed\n"
              "mlr-copilot: error: the API key was refused (HTTP 401 · check OPENAI_API_KEY)\n"
              "\n"
              "mlr-copilot: warning: LLM check · 3 s of waiting\n"
              "LLM said nothing useful · 2 tok\n")
    assert output_lines(stderr) == [
        "mlr-copilot: error: the API key was refused (HTTP 401 · check OPENAI_API_KEY)",
        "",
        "mlr-copilot: warning: LLM check · 3 s of waiting",
        "LLM said nothing useful · 2 tok",
    ]


@pytest.mark.parametrize(("workload", "loadavg", "expected"), [
    (load.IDLE_WORKLOAD_SECONDS, 0.2, 1.0),  # idle
    (load.IDLE_WORKLOAD_SECONDS / 2, 0.0, 1.0),  # a faster machine: bounds never tighten
    (load.IDLE_WORKLOAD_SECONDS * 2.5, 1.0, 2.5),  # the workload ran 2.5x slower
    (load.IDLE_WORKLOAD_SECONDS, 6.0, 3.0),  # load 6 on 2 CPUs, a lucky quiet moment
])
def test_slowdown_is_the_larger_signal_and_never_below_one(
    workload: float, loadavg: float, expected: float,
) -> None:
    calibration = load.Calibration(workload, workload, loadavg, 2, time.monotonic())
    assert calibration.slowdown == pytest.approx(expected)
    assert f"slowdown {expected:.2f}" in calibration.describe()


def test_bounds_scale_with_the_calibration_and_it_is_remeasured_when_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    measured: list[load.Calibration] = []

    def fake_measure() -> load.Calibration:
        measured.append(load.Calibration(load.IDLE_WORKLOAD_SECONDS * (2 + len(measured)), 0.1,
                                         0.0, 2, time.monotonic()))
        return measured[-1]

    monkeypatch.setattr(load, "measure", fake_measure)
    monkeypatch.setattr(load, "_last", None)
    assert load.time_bound(10) == pytest.approx(20)
    assert load.time_bound(1.0, below=1.5) == pytest.approx(1.425)  # serial calls take 1.5 s
    assert load.time_bound(1.0, below=10) == pytest.approx(2)
    assert load.slowdown() == pytest.approx(2) and len(measured) == 1  # cached while fresh
    time.sleep(0.01)
    assert load.calibrate(max_age=0.0).slowdown == pytest.approx(3) and len(measured) == 2


def test_the_real_calibration_measures_this_machine() -> None:
    calibration = load.measure()
    assert calibration.workload_s > 0 and calibration.workload_cpu_s > 0
    assert calibration.cpus >= 1 and calibration.slowdown >= 1.0
    assert load.time_bound(7) >= 7
