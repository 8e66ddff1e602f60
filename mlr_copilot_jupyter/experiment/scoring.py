"""Scoring a workspace with the task's ``eval.py`` (``get_score(folder)``) in a clean subprocess."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from ..kernels.environment import scrub_environ
from .task import Task

# Runs under `python -I -B`, so nothing in the workspace (e.g. a generated pandas.py) can shadow a
# module eval.py imports; the score line carries a nonce that generated code cannot know.
_EVAL_RUNNER = """
import importlib.util, os, sys
script, folder, nonce = sys.argv[1:4]
sys.path.insert(0, os.path.dirname(script))
spec = importlib.util.spec_from_file_location("mlr_task_eval", script)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("MLR_SCORE", nonce, float(module.get_score(folder)))
"""


async def eval_score(task: Task, workspace: Path, timeout: float = 300.0,
                     env_deny: Sequence[str] = ()) -> tuple[float | None, str]:
    """Run the task's ``eval.py`` ``get_score(workspace)`` in a clean subprocess.

    Its environment is scrubbed as the kernel's is: secret-looking names and ``env_deny``
    (the run's ``extra_env_deny``, the API key variable) are removed.

    Returns (score, message); the score is None when the script failed.
    """
    assert task.eval_script is not None
    script = (task.root / task.eval_script).resolve()
    nonce = secrets.token_hex(8)
    proc = await asyncio.create_subprocess_exec(
        # -B: no eval.cpython-*.pyc left in the user's task folder
        sys.executable, "-I", "-B", "-c", _EVAL_RUNNER, str(script), str(workspace), nonce,
        cwd=str(workspace), env=scrub_environ(dict(os.environ), deny=env_deny),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None, f"eval.py timed out after {timeout:g} s"
    for line in out.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "MLR_SCORE" and parts[1] == nonce:
            try:
                return float(parts[2]), "scored by eval.py"
            except ValueError:
                break
    last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
    return None, f"eval.py failed: {last[:300]}"
