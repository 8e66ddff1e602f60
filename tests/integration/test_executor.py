"""KernelExecutor against real ipykernel kernels, plus the metric / env / truncation helpers."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from mlr_copilot_jupyter.errors import ExecutionError
from mlr_copilot_jupyter.experiment.executor import CellResult, KernelExecutor
from mlr_copilot_jupyter.experiment.result import truncate_middle
from mlr_copilot_jupyter.kernels.environment import removed_names, scrub_environ
from mlr_copilot_jupyter.kernels.metric_line import (
    REPORT_METRIC_PRELUDE,
    format_metric_line,
    parse_metrics,
    strip_ansi,
)
from tests.support.load import time_bound

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="signals and rlimits are POSIX")


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return sys.platform != "linux"
    try:
        zombie = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        # A zombie leader may still have threads being torn down; waitpid() waits for them.
        return not (zombie and len(os.listdir(proc / "task")) <= 1)
    except OSError:
        return False


def _wait_dead(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    return path


@pytest.fixture
def ex(run_dir: Path) -> Iterator[KernelExecutor]:
    executor = KernelExecutor(run_dir, cell_timeout=30)
    executor.start()
    try:
        yield executor
    finally:
        executor.shutdown()


# -- real kernels ------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_cell_outputs_and_state(ex: KernelExecutor) -> None:
    res = ex.run("x = 41\nprint('hello')\nx + 1")
    assert res.status == "ok" and res.ok
    assert res.stdout_text == "hello\n42\n"
    kinds = [o["output_type"] for o in res.outputs]
    assert kinds == ["stream", "execute_result"]
    assert res.outputs[1]["data"]["text/plain"] == "42"
    # Outputs are valid nbformat outputs and the whole result is JSON-serialisable.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=res.outputs)])
    nbformat.validate(nb)
    again = CellResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert again == res
    assert ex.run("print(x * 2)").stdout_text == "82\n"  # state persists
    assert res.execution_count == 1  # the hidden prelude did not take an execution count


@pytest.mark.slow
def test_report_metric_and_errors(ex: KernelExecutor) -> None:
    res = ex.run(
        "import numpy as np\n"
        "v = report_metric('accuracy', np.float32(0.5), split='val', step=np.int64(3))\n"
        "print('returned', v)\n"
        "report_metric('loss', 2)"
    )
    assert res.status == "ok", res.for_llm()
    assert res.metrics == [
        {"name": "accuracy", "value": 0.5, "split": "val", "step": 3},
        {"name": "loss", "value": 2.0},
    ]
    assert "returned 0.5" in res.stdout_text
    assert "accuracy=0.5" in res.message

    bad = ex.run("report_metric('acc', float('nan'))")
    assert bad.status == "error" and bad.ename == "ValueError" and bad.metrics == []

    err = ex.run("y = 1\n1 / 0")
    assert err.status == "error"
    assert (err.ename, err.evalue) == ("ZeroDivisionError", "division by zero")
    assert "ZeroDivisionError" in err.traceback and "\x1b" not in err.traceback
    assert err.message == "ZeroDivisionError: division by zero"
    assert any(o["output_type"] == "error" for o in err.outputs)
    assert not err.lost_state
    assert ex.run("print(y)").stdout_text == "1\n"  # still usable, state kept


@pytest.mark.slow
def test_env_scrubbed_and_cwd(monkeypatch: pytest.MonkeyPatch, run_dir: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-very-private-456")
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "openai")
    monkeypatch.setenv("KEEP_ME", "visible")
    with KernelExecutor(run_dir, extra_env={"EXTRA_FLAG": "1"}) as ex:
        res = ex.run("import os\nprint(sorted(os.environ))\nprint(dict(os.environ))")
        assert res.status == "ok"
        for leaked in ("OPENAI_API_KEY", "MY_SERVICE_TOKEN", "MLR_COPILOT_BACKEND"):
            assert leaked not in res.stdout_text
        assert "sk-test-SECRET-123" not in res.stdout_text
        assert "tok-very-private-456" not in res.stdout_text
        for kept in ("'PATH'", "'KEEP_ME'", "'EXTRA_FLAG'", "'MLR_COPILOT_RUN_DIR'"):
            assert kept in res.stdout_text
        cwd = ex.run("import os; print(os.getcwd()); print(os.environ['MLR_COPILOT_RUN_DIR'])")
        assert cwd.stdout_text.split() == [str(run_dir.resolve())] * 2


@pytest.mark.slow
def test_timeout_interrupts_and_keeps_state(run_dir: Path) -> None:
    with KernelExecutor(run_dir, cell_timeout=2) as ex:
        ex.run("keep = 'still here'")
        t0 = time.monotonic()
        res = ex.run("import time\nprint('before')\ntime.sleep(60)")
        assert time.monotonic() - t0 < time_bound(10, below=60)  # not the whole sleep
        assert res.status == "timeout" and not res.lost_state
        assert "timed out after 2 s" in res.message and "interrupted" in res.message
        assert "before" in res.stdout_text and "KeyboardInterrupt" in res.traceback
        after = ex.run("print(keep)")
        assert after.status == "ok" and after.stdout_text == "still here\n"


@pytest.mark.slow
def test_timeout_ignored_interrupt_restarts(run_dir: Path) -> None:
    code = "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except KeyboardInterrupt:\n        pass"
    with KernelExecutor(run_dir, cell_timeout=1, interrupt_grace=1) as ex:
        ex.run("keep = 1")
        pid = ex.kernel_pid
        t0 = time.monotonic()
        res = ex.run(code)
        assert time.monotonic() - t0 < time_bound(12)
        assert res.status == "timeout" and res.lost_state and "restarted" in res.message
        assert ex.kernel_pid != pid and _wait_dead(pid)
        assert ex.run("keep").ename == "NameError"


@posix_only
@pytest.mark.slow
def test_sigkill_mid_cell_restarts_fresh_kernel(run_dir: Path) -> None:
    with KernelExecutor(run_dir) as ex:
        ex.run("before = 1")
        pid = ex.kernel_pid
        assert pid is not None
        killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
        killer.start()
        t0 = time.monotonic()
        res = ex.run("import time\nprint('started', flush=True)\ntime.sleep(30)")
        killer.join()
        assert time.monotonic() - t0 < time_bound(15, below=30)  # not the whole sleep
        assert res.status == "dead" and res.lost_state
        assert "kernel died" in res.message and "SIGKILL" in res.message
        assert "earlier cells are lost" in res.message
        assert ex.kernel_pid not in (None, pid)
        after = ex.run("print(before)")
        assert after.status == "error" and after.ename == "NameError"
        assert ex.run("report_metric('m', 1)").metrics == [{"name": "m", "value": 1.0}]


@posix_only
@pytest.mark.slow
def test_kernel_killed_between_cells(ex: KernelExecutor) -> None:
    pid = ex.kernel_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert _wait_dead(pid)
    res = ex.run("print('fresh')")
    assert res.status == "ok" and res.lost_state and res.stdout_text == "fresh\n", res.message
    assert "died since the previous cell" in res.message


@posix_only
@pytest.mark.slow
def test_memory_limit(run_dir: Path) -> None:
    with KernelExecutor(run_dir, memory_limit_mb=300) as ex:
        res = ex.run("buf = bytearray(2_000_000_000)")
        assert res.status == "error" and res.ename == "MemoryError"
        assert "memory limit is 300 MB" in res.message
        ok = ex.run("import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20)")
        assert ok.status == "ok" and ok.stdout_text == "300\n"


@posix_only
@pytest.mark.slow
def test_cpu_time_limit_kills_and_restarts(run_dir: Path) -> None:
    with KernelExecutor(run_dir, cpu_time_limit_s=2) as ex:
        res = ex.run("while True:\n    pass")
        assert res.status == "dead" and "CPU-time limit of 2 s" in res.message
        assert ex.run("print('ok')").stdout_text == "ok\n"


@pytest.mark.slow
def test_async_api_restart_and_cancel(run_dir: Path) -> None:
    async def main() -> None:
        async with KernelExecutor(run_dir) as ex:
            assert (await ex.arun("z = 3")).ok
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ex.arun("import time; time.sleep(30)"), 1.5)
            assert (await ex.arun("print(z)")).stdout_text == "3\n"  # cancelled cell interrupted
            await ex.arestart()
            assert (await ex.arun("z")).ename == "NameError"
            assert ex.restarts == 1

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.slow
def test_no_orphan_kernels(run_dir: Path) -> None:
    ex = KernelExecutor(run_dir)
    ex.start()
    pid = ex.kernel_pid
    assert pid and _pid_alive(pid)
    ex.shutdown()
    assert _wait_dead(pid)
    ex.shutdown()  # idempotent

    dropped = KernelExecutor(run_dir)
    dropped.start()
    pid = dropped.kernel_pid
    assert pid
    del dropped
    gc.collect()
    assert _wait_dead(pid), "the finalizer must kill a kernel whose executor was dropped"


@posix_only
@pytest.mark.slow
def test_kernels_use_private_ipc_sockets(run_dir: Path) -> None:
    """No TCP ports to race for: parallel starts cannot collide (Address already in use)."""

    async def main() -> None:
        executors = [KernelExecutor(run_dir / f"k{i}") for i in range(4)]
        await asyncio.gather(*(e.astart() for e in executors))  # four kernels at once
        dirs = []
        try:
            for e in executors:
                assert e._client is not None
                km = e._client.km
                info = km.get_connection_info()
                assert info["transport"] == "ipc", info
                folder = Path(km.ipc_dir)
                assert Path(info["ip"]).parent == folder
                assert folder.stat().st_mode & 0o777 == 0o700
                assert any(p.is_socket() for p in folder.iterdir())
                dirs.append(folder)
                assert (await e.arun("print(6 * 7)")).stdout_text == "42\n"
            await executors[0].arestart()  # the restarted kernel binds the same socket paths
            assert (await executors[0].arun("print(1)")).stdout_text == "1\n"
        finally:
            await asyncio.gather(*(e.ashutdown() for e in executors))
        assert not any(d.exists() for d in dirs), "the socket folders go with their kernels"

    asyncio.run(asyncio.wait_for(main(), 60))


def test_bad_kernel_name_raises_execution_error(run_dir: Path) -> None:
    with pytest.raises(ExecutionError, match="could not start"):
        KernelExecutor(run_dir, kernel_name="no-such-kernel-xyz").start()


# -- helpers (no kernel) -----------------------------------------------------------------------


def test_parse_metrics_edge_cases() -> None:
    text = "\n".join(
        [
            'epoch 1 ... MLR_METRIC {"name": "acc", "value": 0.9, "split": "val"} trailing',
            '\x1b[32mMLR_METRIC {"name": "f1", "value": 1}\x1b[0m',
            'MLR_METRIC {"name": "nan", "value": NaN}',
            'MLR_METRIC {"name": "inf", "value": Infinity}',
            'MLR_METRIC {"name": "bool", "value": true}',
            'MLR_METRIC {"name": "str", "value": "0.5"}',
            'MLR_METRIC {"name": "", "value": 1}',
            'MLR_METRIC {"value": 1}',
            "MLR_METRIC [1, 2]",
            "MLR_METRIC {not json",
            'MLR_METRIC {"name": "big", "value": 1e400}',
            'no marker {"name": "x", "value": 1}',
            'MLR_METRIC{"name": "tight", "value": -2.5e-3}',
        ]
    )
    assert parse_metrics(text) == [
        {"name": "acc", "value": 0.9, "split": "val"},
        {"name": "f1", "value": 1.0},
        {"name": "tight", "value": -0.0025},
    ]
    assert parse_metrics("") == []
    assert all(isinstance(m["value"], float) for m in parse_metrics(text))


def test_format_metric_line_roundtrip() -> None:
    np = pytest.importorskip("numpy")
    line = format_metric_line("acc", np.float64(0.25), split="test", k=np.int32(5))
    assert line.startswith("MLR_METRIC {") and "\n" not in line
    assert parse_metrics(line) == [{"name": "acc", "value": 0.25, "split": "test", "k": 5}]
    assert parse_metrics(format_metric_line("zero_d", np.array(3.0))) == [
        {"name": "zero_d", "value": 3.0}
    ]
    for bad in (math.nan, math.inf, "0.5", None):
        with pytest.raises((ValueError, TypeError)):
            format_metric_line("x", bad)
    with pytest.raises(ValueError):
        format_metric_line("", 1.0)
    assert "report_metric" in REPORT_METRIC_PRELUDE


def test_for_llm_truncates_head_and_tail() -> None:
    body = "HEAD-" + "x" * 10_000 + "-TAIL"
    res = CellResult(
        status="error",
        stdout_text=body,
        ename="E",
        evalue="v",
        traceback="\x1b[31mTraceback line\x1b[0m",
        message="E: v",
    )
    text = res.for_llm(max_chars=1000)
    assert len(text) <= 1000
    assert text.startswith("[error] E: v\nHEAD-")
    assert text.endswith("Traceback line") and "\x1b" not in text
    assert "chars omitted ...]" in text
    assert CellResult(status="ok", stdout_text="short\n").for_llm() == "short"
    assert CellResult(status="ok").for_llm() == "(no output)"
    assert truncate_middle("abc", 10) == "abc"
    assert strip_ansi("\x1b[1;31mred\x1b[0m") == "red"


def test_scrub_environ() -> None:
    env = {
        "PATH": "/bin",
        "HOME": "/root",
        "OPENAI_API_KEY": "s",
        "openai_base_url": "u",
        "MY_SERVICE_TOKEN": "t",
        "AWS_ACCESS_KEY_ID": "a",
        "DB_PASSWORD": "p",
        "GOOGLE_APPLICATION_CREDENTIALS": "g",
        "HF_TOKEN": "h",
        "SSH_AUTH_SOCK": "s",
        "DATABASE_URL": "d",
        "MLR_COPILOT_MODEL": "m",
        "MLR_COPILOT_RUN_DIR": "/runs",
        "GITHUB_TOKEN": "gh",
        "Anthropic_Api_Key": "k",
        "CUSTOM_LLM": "c",
    }
    out = scrub_environ(env)
    assert sorted(out) == ["CUSTOM_LLM", "HOME", "MLR_COPILOT_RUN_DIR", "PATH"]
    assert "HF_TOKEN" in scrub_environ(env, allow=["hf_token"])
    assert "CUSTOM_LLM" not in scrub_environ(env, deny=["CUSTOM_LLM"])
    assert "OPENAI_API_KEY" in removed_names(env)
    assert env["OPENAI_API_KEY"] == "s"  # input untouched
