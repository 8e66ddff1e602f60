"""The CLI as a subprocess: the console script, its environment, and the recognisable test key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SECRET_KEY = "sk-mlrtest-DO-NOT-LEAK-7f3a9c2e1b"

PREFIXES_TO_CLEAR = ("OPENAI_", "MLR_COPILOT_", "HF_", "HUGGINGFACE_")
ENV_TO_CLEAR = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "MLR_COPILOT_MODEL",
    "MLR_COPILOT_BACKEND",
    "MLR_COPILOT_RUN_DIR",
)


def cli_command() -> list[str]:
    """The installed console script, falling back to ``python -m`` when not on disk."""
    script = Path(sys.executable).with_name("mlr-copilot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mlr_copilot_jupyter"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


#: A line of the CLI's LLM progress display on a pipe (``mlr_copilot_jupyter.llm.display``):
#: ``LLM check · waiting for first token · 0.5 s``, ``LLM plan-2 · 143 tok · 38.2 tok/s · 4.1 s
#: · done``. A slow reply (a loaded machine, a slow server) makes them appear; they are not the
#: command's output, and never count as an error or warning line.
PROGRESS_LINE = re.compile(
    r"^LLM .+? · (waiting for first token|\d+ tok)( · \d+(\.\d+)? tok/s)? · \d+\.\d s"
    r"( · (done|failed|stopped))?$")


def output_lines(stream: str) -> list[str]:
    """The lines of a CLI's stderr (or stdout) without its LLM progress lines (blank lines stay)."""
    return [line for line in stream.splitlines() if not PROGRESS_LINE.match(line.strip())]


def main_output(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``mlr_copilot_jupyter.cli.main`` in this process: (exit code, stdout, stderr). Unlike
    :func:`cli_main`, an exception escaping ``main`` propagates to the test."""
    from mlr_copilot_jupyter.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_main(capsys: pytest.CaptureFixture[str], *args: str,
             ) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """``mlr_copilot_jupyter.cli.main`` in this process (what the command runs, minus startup),
    with the wall and CPU seconds it took.

    An exception escaping ``main`` is what a user would see as a traceback: it is logged as one.
    """
    from mlr_copilot_jupyter.cli import main
    from tests.support.load import cpu_seconds

    capsys.readouterr()
    started, cpu = time.monotonic(), cpu_seconds()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(
            list(args), 1, captured.out,
            captured.err + f"\nTraceback (escaped from main): {type(exc).__name__}: {exc}"
        ), time.monotonic() - started, cpu_seconds() - cpu
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err), \
        time.monotonic() - started, cpu_seconds() - cpu
