"""The CLI as a subprocess: the console script, its environment, and the recognisable test key."""

from __future__ import annotations

import os
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
