"""The caller's shell never reaches the tests: not inside a test (``clean_env``), and not what
runs outside one (module-scoped fixtures, collection, libraries that read a variable once at
import, as ``huggingface_hub`` does with ``HF_HUB_OFFLINE``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = '''
import os

import huggingface_hub.constants as hub  # imported at collection, outside any test

SEEN_AT_IMPORT = {k: v for k, v in os.environ.items()
                  if k.startswith(("OPENAI_", "MLR_COPILOT_", "HF_")) or k == "S2_API_KEY"}


def test_probe():
    assert not hub.HF_HUB_OFFLINE
    assert SEEN_AT_IMPORT == {}, SEEN_AT_IMPORT
'''


def test_the_callers_variables_never_reach_import_time_readers(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
           "MLR_COPILOT_BACKEND": "openai", "S2_API_KEY": "s2-caller-key",
           "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(probe)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
