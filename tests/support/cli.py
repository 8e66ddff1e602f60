"""The CLI as a subprocess: the console script, its environment, and the recognisable test key."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

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
