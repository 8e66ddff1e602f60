"""Fixtures for browser tests: a JupyterLab server and a Chromium page driven by Playwright.

The server runs on 127.0.0.1 on a free port with a temporary HOME and root folder and
``--LabApp.expose_app_in_browser=True`` (so ``window.jupyterapp`` is the app). Chromium is
Debian's ``/usr/bin/chromium`` (``MLR_CHROMIUM`` overrides it); Playwright never downloads one.
Without Chromium the tests fail with an install hint, unless ``MLR_SKIP_BROWSER=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import ENV_TO_CLEAR

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "mlr-test-token"
START_TIMEOUT = 60.0
REPO = Path(__file__).resolve().parents[2]
# The extension as built from this source tree (`make labextension`, or `jlpm build` in
# labextension/): the server loads it instead of whichever copy the environment has installed,
# so that a worktree's browser tests exercise that worktree's TypeScript.
TREE_LABEXTENSION = REPO / "mlr_copilot_jupyter" / "labextension"


@dataclass
class LabServer:
    """A running JupyterLab: its URL, token, root folder and log file."""

    url: str
    token: str
    root: Path
    home: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_path() -> str:
    """Path of Chromium, or fail (skip only with MLR_SKIP_BROWSER=1) with an install hint."""
    path = os.environ.get("MLR_CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(path):
        return path
    message = (
        f"Chromium not found at {path}: install it (`apt-get install -y chromium`, or `make "
        "system-deps`) or point MLR_CHROMIUM at it; set MLR_SKIP_BROWSER=1 to skip browser tests"
    )
    if os.environ.get("MLR_SKIP_BROWSER") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # the server shuts its kernels down on SIGTERM
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the server and its kernels
        proc.wait(timeout=10)


#: The front ends a test can start: JupyterLab, and Notebook 7 (Jupyter's document-oriented
#: front end, built on JupyterLab's components, which loads the same prebuilt extension).
APPS = {
    "lab": ("jupyterlab", "LabApp", ["--LabApp.news_url=None",
                                     "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]),
    "notebook": ("notebook", "JupyterNotebookApp", []),
}


def start_lab(base: Path, attempts: int = 3, app: str = "lab") -> LabServer:
    """Start JupyterLab (``app="notebook"``: Notebook 7); a free port taken by another process
    before the server binds it (it is chosen here, then bound by the server) means another try
    on another port."""
    for attempt in range(1, attempts + 1):
        try:
            return _start_lab(base / f"try{attempt}" if attempt > 1 else base, app)
        except _PortTaken:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    pass


def _start_lab(base: Path, app: str = "lab") -> LabServer:
    root, home = base / "root", base / "home"
    root.mkdir(parents=True)
    labconfig = home / ".jupyter" / "labconfig"
    labconfig.mkdir(parents=True)
    # No news/announcement toast: it can cover the bottom right of screenshots.
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    # ... and the same in the user settings, should the plugin be enabled: never ask to fetch
    # news or check for updates (the "Would you like to get notified..." pop-up).
    notification = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps(
        {"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               MLR_COPILOT_RUN_DIR=str(root / "runs"))
    for name in (*ENV_TO_CLEAR, "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        if name != "MLR_COPILOT_RUN_DIR":
            env.pop(name, None)
    if (TREE_LABEXTENSION / "package.json").is_file():
        # JUPYTER_PATH comes first in the labextensions path and the first copy found wins
        extensions = base / "jupyter_path" / "labextensions"
        extensions.mkdir(parents=True)
        (extensions / "mlr-copilot-jupyter").symlink_to(TREE_LABEXTENSION, target_is_directory=True)
        env["JUPYTER_PATH"] = str(base / "jupyter_path")
    port = free_port()
    module, app_class, extra = APPS[app]
    cmd = [
        sys.executable, "-m", module, "--no-browser", "--allow-root",
        f"--ServerApp.token={TOKEN}", "--ServerApp.ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0",  # no silent move to another port: we connect to this one
        f"--{app_class}.expose_app_in_browser=True", f"--ServerApp.root_dir={root}", *extra,
    ]
    log = base / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", TOKEN, root, home, log, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            if "already in use" in server.log_tail():
                raise _PortTaken(server.log_tail())
            raise RuntimeError(f"jupyter {module} exited ({proc.returncode}):\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/status?token={TOKEN}", timeout=2):
                return server
        except OSError:
            if time.monotonic() > deadline:
                _stop(proc)
                raise RuntimeError(f"jupyter {module} did not answer in {START_TIMEOUT:.0f} s:\n"
                                   f"{server.log_tail()}") from None
            time.sleep(0.25)


def _api(server: LabServer, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{server.url}{path}?token={server.token}", method=method)
    with urllib.request.urlopen(request, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def reset_lab(server: LabServer, label: str) -> None:
    """Make the shared server as a fresh one looks to a test module: no session, no kernel, no
    terminal left by an earlier module, and an empty ``runs/`` (the old one is kept beside it,
    renamed, for a post-mortem)."""
    for session in _api(server, "GET", "/api/sessions"):
        _api(server, "DELETE", f"/api/sessions/{session['id']}")
    for kernel in _api(server, "GET", "/api/kernels"):
        _api(server, "DELETE", f"/api/kernels/{kernel['id']}")
    runs = server.root / "runs"
    if runs.exists():
        runs.rename(server.root / f".runs-before-{label}")


@pytest.fixture(scope="session")
def _lab_for_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """The one JupyterLab server of the e2e session (issue 26: started once, not per module)."""
    chromium_path()  # fail (or skip) before spending time on the server
    server = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        _stop(server.proc)


@pytest.fixture(scope="session")
def _notebook7_for_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A Notebook 7 server (``jupyter notebook``) for the e2e session, with the same extension."""
    chromium_path()
    server = start_lab(tmp_path_factory.mktemp("notebook7"), app="notebook")
    try:
        yield server
    finally:
        _stop(server.proc)


@pytest.fixture(scope="module")
def lab_server(_lab_for_session: LabServer, request: pytest.FixtureRequest) -> LabServer:
    """The session's JupyterLab server, reset for this module (:func:`reset_lab`)."""
    reset_lab(_lab_for_session, request.module.__name__.rsplit(".", 1)[-1])
    return _lab_for_session


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    """The one Chromium of the e2e session, driven by Playwright (each test gets its own context)."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@contextlib.contextmanager
def app_page(chromium: Any, server: LabServer, url_path: str,
             viewport: tuple[int, int] = (1400, 860)) -> Iterator[Any]:
    """A Playwright page on ``server``'s ``url_path`` (``/lab``, ``/notebooks/x.ipynb``) once the
    application is loaded and restored (``window.jupyterapp`` ready), in a browser context of
    its own (no cookie, storage or page shared with another test); prints console errors."""
    console: list[str] = []
    context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.set_default_timeout(30_000)
        page.goto(f"{server.url}{url_path}?token={server.token}")
        page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        yield page
    finally:
        context.close()
    errors = [c for c in console if c.startswith("error")]
    if errors:
        print("browser console errors:\n  " + "\n  ".join(errors[:20]))


@pytest.fixture
def lab_page(lab_server: LabServer, _chromium: Any) -> Iterator[Any]:
    """A Playwright page with JupyterLab loaded and restored (see :func:`app_page`)."""
    with app_page(_chromium, lab_server, "/lab") as page:
        yield page


def wait_for(page: Any, js: str, arg: Any = None, timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``js`` (a function expression) in the page until truthy; fail with ``what``."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(js, arg)
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or js} (last: {value!r})")
