"""Progress of LLM calls end to end on ``mlr-copilot`` against the scripted chat server (a stream
that trickles tokens): progress on stderr within a second, and Ctrl-C that stops the run within 2 s
with a valid record; and the pipe lines' timing in real time (a waiting line at once, throttled
lines, a quick call silent). The lines and the widget themselves are tested in
tests/unit/test_progress.py.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mlr_copilot_jupyter.llm.display import (
    CLIProgress,
)
from mlr_copilot_jupyter.llm.progress import begin, listening, progress_scope
from mlr_copilot_jupyter.models import Usage
from tests.support.chat_server import ChatServer, SlowStream, slow_streams
from tests.support.faults import (
    StepScript,
    assert_valid_run,
    experiment_args,
    metric_cell,
    one_line_error,
    push,
    resume,
)
from tests.support.load import time_bound
from tests.support.procs import gone, kernel_of, start_cli, wait_for
from tests.support.progress import Pipe, lines

LINE = re.compile(r"^LLM (\S+) · (\d+) tok · (?:([\d.]+) tok/s · )?([\d.]+) s$")


# -- end to end: mlr-copilot experiment against a reply that trickles in -------------------------
class StderrLines:
    """Reads a process's stderr in a thread, stamping each line with time.monotonic()."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[tuple[float, str]] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self, timeout: float = 10.0) -> str:
        self._thread.join(timeout)
        return "\n".join(line for _, line in self.lines)


def trickling_step(length: int) -> str:
    """A step reply (title, plan, code) of about ``length`` characters."""
    return json.dumps({"title": "Slow step", "plan": "A plan that takes a while to write. " * (
        length // 36), "code": metric_cell(0.72)})


def in_flight(server: ChatServer, chunks: int) -> SlowStream | None:
    streams = slow_streams(server)
    return streams[-1] if streams and streams[-1].sent >= chunks else None


@pytest.mark.slow
def test_experiment_shows_llm_progress_on_stderr_within_a_second(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    """Needs the backend to emit progress events and stream while a display listens."""
    script = StepScript(actions={1: push(llm_env, ("slow_stream", {  # step 2 trickles in
        "delay": 0.05, "then": trickling_step(400)}))})
    llm_env.responder = script
    out = tmp_path / "run"
    proc = start_cli(*experiment_args(out, steps=2))
    err = StderrLines(proc)
    try:
        proc.wait(timeout=240)
    finally:
        proc.kill()
    stderr = err.text()
    assert proc.returncode == 0, stderr[-3000:]
    [slow] = slow_streams(llm_env)
    assert slow.stream, "the call did not stream although a progress display listened"
    assert slow.first_sent is not None and not slow.closed_by_client
    request_at = max(r["time"] for r in llm_env.requests if r["time"] <= slow.first_sent)
    label = next(ln for t, ln in err.lines if t >= slow.first_sent and LINE.match(ln)
                 ).split(" · ")[0]  # the line's stage, e.g. "LLM draft-n2"
    mine = [(t, ln) for t, ln in err.lines if ln.startswith(label + " · ")]
    assert mine[0][0] - request_at < time_bound(1.0), (mine[0], request_at)  # within a second
    tokens = [(t, ln) for t, ln in mine if LINE.match(ln) and t >= slow.first_sent]
    assert tokens, stderr[-3000:]
    assert tokens[0][0] - slow.first_sent < time_bound(1.0), (tokens[0], slow)
    # while ~130 chunks trickled in over ~6.5 s: a line a second, not a line a token
    during = [ln for t, ln in tokens if t <= (slow.ended or 0)]
    assert 3 <= len(during) <= 12, during
    counts = [int(LINE.match(ln).group(2)) for ln in during]  # type: ignore[union-attr]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert any(ln.startswith(label + " · ") and ln.endswith(" · done") for _, ln in err.lines)
    assert "\r" not in stderr  # stderr is a pipe: plain lines
    assert_valid_run(out)


@pytest.mark.slow
def test_ctrl_c_during_a_streaming_llm_call_stops_within_2s_with_a_valid_record(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    """SIGINT while the step reply trickles in (60 s of it): exit 130 within 2 s, one line, the
    request dropped (the server sees the connection close), the record valid; --resume finishes."""
    script = StepScript(actions={2: push(llm_env, ("slow_stream", {  # step 3 trickles in
        "delay": 0.1, "then": trickling_step(2400)}))})
    llm_env.responder = script
    out = tmp_path / "run"
    proc = start_cli(*experiment_args(out, steps=3))
    err = StderrLines(proc)
    try:
        kernel = wait_for(lambda: kernel_of(proc.pid), 60, "the kernel process")
        slow = wait_for(lambda: in_flight(llm_env, 5), 120, "the trickling reply")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        stop_time = time.monotonic() - t0
    finally:
        proc.kill()
    stderr = err.text()
    print(f"SIGINT -> exit: {stop_time:.2f} s")
    assert proc.returncode == 130, stderr[-3000:]
    line = one_line_error(stderr, "--resume", str(out))
    assert "interrupted" in line and stderr.rstrip().endswith(line)  # the last line, alone
    assert stop_time < time_bound(2.0), f"the CLI took {stop_time:.2f} s to stop"
    assert wait_for(lambda: slow.closed_by_client or None, 2, "the server to see the request dropped")
    assert slow.sent < slow.pieces
    assert wait_for(lambda: gone(kernel), 10, "the kernel to be shut down")
    journal = assert_valid_run(out)
    assert journal.status == "interrupted"
    resumed = resume(out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    journal = assert_valid_run(out)
    assert journal.status == "done"
    assert len([n for n in journal.nodes if n.kind != "baseline"]) == 3


def test_pipe_gets_a_waiting_line_at_once_then_throttled_lines_and_the_end_line() -> None:
    out = Pipe()
    display = CLIProgress(out, line_interval=0.5, quiet_interval=60, show_after=0)
    with progress_scope(display):
        assert listening()
        call = begin("problem")
        assert lines(out) == [lines(out)[0]]
        assert re.fullmatch(r"LLM problem · waiting for first token · 0\.\d s", lines(out)[0])
        call.token("Hel")  # the first token is shown at once
        assert len(lines(out)) == 2 and LINE.match(lines(out)[1]), lines(out)
        for _ in range(50):  # a burst: no line per token
            call.token("x")
        assert len(lines(out)) == 2
        time.sleep(0.55)
        call.token("y")  # the interval has passed: one more line
        assert len(lines(out)) == 3
        match = LINE.match(lines(out)[2])
        assert match and match.group(1) == "problem" and int(match.group(2)) == 52
        assert match.group(3) and float(match.group(3)) > 0 and float(match.group(4)) >= 0.5
        call.end(Usage(completion_tokens=60))
    display.close()
    last = lines(out)[-1]
    assert last.startswith("LLM problem · 60 tok · ") and last.endswith(" s · done"), last
    assert len(lines(out)) == 4
    assert "\r" not in out.getvalue()  # plain lines in a pipe


def test_pipe_shows_a_quiet_call_now_and_then_and_nothing_after_close() -> None:
    out = Pipe()
    display = CLIProgress(out, quiet_interval=0.3, tick=0.1, show_after=0)
    with progress_scope(display):
        call = begin("review-1")
        time.sleep(0.75)  # no token: a still-waiting line every quiet_interval
        waiting = [ln for ln in lines(out) if "waiting for first token" in ln]
        assert 2 <= len(waiting) <= 4, lines(out)
        display.close()  # e.g. Ctrl-C: the call never ended
        before = out.getvalue()
        call.token("late")
        call.end(error="cancelled")
        time.sleep(0.3)
    assert out.getvalue() == before  # the CLI's own last line stays the last line


def test_a_quick_call_leaves_no_line_and_a_slower_one_shows_within_a_second() -> None:
    out = Pipe()
    display = CLIProgress(out, show_after=0.5, tick=0.1)
    with progress_scope(display):
        quick = begin("check")
        quick.token("ready")
        quick.end(error="HTTP 401")  # the CLI's error line will be the only line
        assert out.getvalue() == ""
        slow = begin("problem")
        slow.token("a")  # before show_after: held back
        assert out.getvalue() == ""
        time.sleep(0.8)  # the ticker shows it, tokens so far included
        assert re.fullmatch(r"LLM problem · 1 tok · [\d.]+ tok/s · 0\.[5-9] s", lines(out)[0])
        slow.end()
    display.close()
    assert len(lines(out)) == 2 and lines(out)[1].endswith(" · done")
