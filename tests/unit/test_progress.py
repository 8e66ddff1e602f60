"""Progress of LLM calls: the CLI lines and the notebook widget, driven by real call events (the
end-to-end runs of ``mlr-copilot`` with a trickling reply are in tests/integration/test_progress.py).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from mlr_copilot_jupyter.aio import run_sync
from mlr_copilot_jupyter.llm import progress
from mlr_copilot_jupyter.llm.display import (
    CLIProgress,
    WidgetProgress,
    cli_progress,
    describe,
    progress_wanted,
)
from mlr_copilot_jupyter.llm.progress import begin, listening, progress_scope
from mlr_copilot_jupyter.models import Usage
from tests.support.progress import Pipe, Terminal, lines

LINE = re.compile(r"^LLM (\S+) · (\d+) tok · (?:([\d.]+) tok/s · )?([\d.]+) s$")


# -- the line ----------------------------------------------------------------------------------
def test_describe_shows_label_tokens_speed_and_elapsed() -> None:
    with progress_scope(CLIProgress(Pipe())):
        call = begin("plan-2", model="m")
    assert describe(call).startswith("LLM plan-2 · waiting for first token · ")
    call.first_token = call.started + 1.0
    call.chunks = 40
    call.finished = call.started + 5.0
    assert describe(call) == "LLM plan-2 · 40 tok · 10.0 tok/s · 5.0 s · done"
    call.usage = Usage(completion_tokens=143)  # the server's count wins over streamed deltas
    assert describe(call) == "LLM plan-2 · 143 tok · 35.8 tok/s · 5.0 s · done"
    call.error = "cut"
    assert describe(call).endswith(" · failed")
    call.error = "CancelledError"  # Ctrl-C
    assert describe(call).endswith(" · stopped")
    call.error, call.usage, call.finished = None, None, call.first_token + 0.01
    assert describe(call) == "LLM plan-2 · 40 tok · 1.0 s · done"  # too short for a speed


# -- the CLI listener ----------------------------------------------------------------------------


def test_error_ends_with_a_failed_line_and_concurrent_calls_each_get_theirs() -> None:
    out = Pipe()
    with progress_scope(CLIProgress(out, show_after=0)):
        first, second = begin("idea-1"), begin("idea-2")
        first.token("a")
        second.token("b")
        second.end(error="HTTP 500")
        first.end(Usage(completion_tokens=3))
    text = lines(out)
    assert [ln.split(" · ")[0] for ln in text] == ["LLM idea-1", "LLM idea-2", "LLM idea-1",
                                                  "LLM idea-2", "LLM idea-2", "LLM idea-1"]
    assert text[-2].endswith("failed") and text[-1].endswith("done")


def test_terminal_rewrites_one_tqdm_line_in_place_and_leaves_the_final_line() -> None:
    out = Terminal()
    display = CLIProgress(out, interval=0.2, tick=10, show_after=0)
    with progress_scope(display):
        call = begin("plan-2")
        assert "LLM plan-2 · waiting for first token" in out.getvalue()
        call.token("a")  # at once
        assert re.search(r"\rLLM plan-2 · 1 tok · 0.\d s", out.getvalue())
        size = len(out.getvalue())
        for _ in range(100):
            call.token("b")
        assert len(out.getvalue()) == size  # throttled: no redraw per token
        time.sleep(0.25)
        call.token("c")
        assert "102 tok" in out.getvalue()
        call.end(Usage(completion_tokens=102))
    display.close()
    final = out.getvalue().rsplit("\r", 1)[-1]  # what the terminal shows last
    assert re.search(r"LLM plan-2 · 102 tok · [\d.]+ tok/s · [\d.]+ s · done\n", final), final
    assert "\n" not in out.getvalue().replace(final, "")  # one line, rewritten in place


def test_progress_is_off_with_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    out = Pipe()
    with cli_progress(False, stream=out) as display:
        assert display is None and not listening()
        begin("x").end()
    monkeypatch.setenv("MLR_COPILOT_PROGRESS", "off")
    assert not progress_wanted()
    with cli_progress(True, stream=out) as display:
        assert display is None
    assert out.getvalue() == ""


# -- the notebook widget ------------------------------------------------------------------------
def test_widget_is_displayed_with_the_first_call_and_follows_it() -> None:
    shown: list[Any] = []
    widget = WidgetProgress(display=shown.append, interval=0.2, tick=10)
    with progress_scope(widget):
        assert shown == []  # a magic without LLM calls shows nothing
        call = begin("problem")
        assert shown == [widget.widget]
        assert "LLM problem · waiting for first token" in widget.widget.value
        call.token("x")
        assert re.search(r"LLM problem · 1 tok · 0.\d s", widget.widget.value)
        for _ in range(20):
            call.token("y")
        assert "21 tok" not in widget.widget.value  # throttled
        time.sleep(0.25)
        call.token("z")
        assert "22 tok" in widget.widget.value
        call.end(Usage(completion_tokens=22))
        second = begin("review-1")
        assert "LLM review-1" in widget.widget.value and "LLM problem" not in widget.widget.value
        second.end()
    widget.close()
    assert shown == [widget.widget]
    assert widget.text().startswith("LLM review-1 · ") and widget.text().endswith("(2 LLM calls)")


def test_widget_ticks_while_waiting_and_escapes_labels() -> None:
    widget = WidgetProgress(display=lambda w: None, tick=0.1)
    with progress_scope(widget):
        begin("<b>x</b>")
        first = widget.widget.value
        time.sleep(0.35)
        assert widget.widget.value != first  # the elapsed time moves before any token
    widget.close()
    assert "<b>x" not in widget.widget.value and "&lt;b&gt;x" in widget.widget.value
    assert widget.text().endswith(" s · stopped")  # closed with the call in flight (Ctrl-C)


# -- scopes reach the calls of a coroutine run from a kernel's thread ---------------------------
def test_run_sync_inside_a_running_loop_reports_to_the_callers_scope() -> None:
    out = Pipe()

    async def call_in_coroutine() -> str:
        call = progress.begin("inner")
        call.end()
        return "ok"

    async def kernel_cell() -> str:  # a running loop, as in Jupyter: run_sync uses a thread
        return run_sync(call_in_coroutine())

    with progress_scope(CLIProgress(out, show_after=0)):
        assert asyncio.run(kernel_cell()) == "ok"
    assert any(ln.startswith("LLM inner · ") for ln in lines(out)), lines(out)
