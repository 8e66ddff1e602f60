"""kernels/: the launch command, the kernel's environment, and the one kernel-log mechanism."""

from __future__ import annotations

import sys
from pathlib import Path

from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.kernels.launcher import (
    RLIMITS_SCRIPT,
    kernel_environ,
    kernel_resources,
    launch_prefix,
)
from mlr_copilot_jupyter.kernels.manager import (
    CopilotKernelManager,
    live_kernel_managers,
    logged_kernel_manager,
)


def test_launch_prefix_only_with_a_limit() -> None:
    assert launch_prefix() == []
    assert launch_prefix(512) == [sys.executable, str(RLIMITS_SCRIPT), "--mem-mb", "512", "--"]
    assert launch_prefix(None, 30) == [sys.executable, str(RLIMITS_SCRIPT), "--cpu-s", "30", "--"]
    assert RLIMITS_SCRIPT.is_file()
    km = CopilotKernelManager(kernel_name="python3", memory_limit_mb=256, cpu_time_limit_s=9)
    cmd = km.format_kernel_cmd()
    assert cmd[:7] == [sys.executable, str(RLIMITS_SCRIPT), "--mem-mb", "256", "--cpu-s", "9",
                       "--"]
    assert "ipykernel_launcher" in " ".join(cmd[7:])
    assert CopilotKernelManager(kernel_name="python3").format_kernel_cmd()[0] != str(RLIMITS_SCRIPT)


def test_kernel_environ(tmp_path: Path) -> None:
    environ = {"PATH": "/bin", "OPENAI_API_KEY": "sk-x", "MY_VAR": "1", "KEEP_TOKEN": "t"}
    env = kernel_environ(environ, tmp_path, allow=["KEEP_TOKEN"], deny=["MY_VAR"],
                         memory_limit_mb=100, extra_env={"EXTRA": "e"})
    assert env["PATH"] == "/bin" and env["KEEP_TOKEN"] == "t" and env["EXTRA"] == "e"
    assert "OPENAI_API_KEY" not in env and "MY_VAR" not in env
    assert env["MLR_COPILOT_RUN_DIR"] == str(tmp_path) and env["MALLOC_ARENA_MAX"] == "2"
    assert "MALLOC_ARENA_MAX" not in kernel_environ(environ, tmp_path)
    # OpenMP keeps its defaults (fastest for a kernel alone: benchmarks/openmp_threads.py) and
    # what the user or a pool worker set (batch.executors.thread_share) passes through
    assert "OMP_WAIT_POLICY" not in env and "OMP_NUM_THREADS" not in env
    assert kernel_environ({**environ, "OMP_NUM_THREADS": "3"}, tmp_path)["OMP_NUM_THREADS"] == "3"
    assert kernel_resources(tmp_path) == {"metadata": {"path": str(tmp_path)}}


def test_logged_kernel_manager_class_carries_the_log(tmp_path: Path) -> None:
    cls = logged_kernel_manager(tmp_path / "k.log")
    assert issubclass(cls, CopilotKernelManager) and cls is not CopilotKernelManager
    km = cls(kernel_name="python3")
    assert km.kernel_log == str(tmp_path / "k.log")
    assert km in live_kernel_managers()
    assert CopilotKernelManager(kernel_name="python3").kernel_log is None
    km.remove_ipc_dir()


def test_executor_kernel_writes_its_own_output_to_the_log(tmp_path: Path) -> None:
    # The same mechanism as a batch worker's kernel (tests/integration/test_batch.py checks that side).
    log = tmp_path / "kernel.log"
    with KernelExecutor(tmp_path / "run", kernel_log=log, startup_timeout=120) as ex:
        res = ex.run("import os\nos.write(2, b'kernel-side noise\\n')\nprint('cell output')")
        assert res.status == "ok" and "cell output" in res.stdout_text
        assert "kernel-side noise" not in res.stdout_text
        ex.restart()  # a fresh kernel appends to the same log
        ex.run("import os\nos.write(1, b'second kernel\\n')")
    text = log.read_text()
    assert "kernel-side noise" in text and "second kernel" in text
