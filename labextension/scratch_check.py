"""Scratch end-to-end check of the mlr-copilot-jupyter labextension in a real browser.

Run with the Python of an environment where the package (and so the prebuilt
extension) and `playwright` are installed, e.g.::

    /tmp/labext-venv/bin/python labextension/scratch_check.py

It starts JupyterLab on a free port (HOME and root dir in a temp dir), drives
Debian's /usr/bin/chromium through Playwright (no `playwright install`), and
checks: plugin + commands present; a kernel-opened `mlr_copilot` comm gets the
`hello`; `insert_cells` inserts below the active cell with metadata/outputs and
runs them; `state` renders in the side panel with `data-run-id` rows; panel
buttons send `insert_run`/`stop_run`/`open_run` to the kernel; `open_notebook`
opens a file.  Exits non-zero on the first failure.  The server is always killed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import nbformat
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("MLR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "t"
PLUGIN_ID = "mlr-copilot-jupyter:plugin"

# Runs in the kernel: open the comm and send messages from inside one cell.
KERNEL_SETUP = r"""
from comm import create_comm
received = []
c = create_comm(target_name="mlr_copilot", data={})
c.on_msg(lambda m: received.append(m["content"]["data"]))
c.send({"action": "state", "state": {
    "paper": {"title": "MLR-Copilot test paper"},
    "problem": {"task_definition": "Classify things better."},
    "ideas": [{"id": "idea-1", "title": "Use a bigger model", "status": "accepted",
               "scores": {"overall": 4.5}}],
    "runs": [{"id": "run-1", "status": "done", "best_metric": {"name": "acc", "value": 0.9123},
              "record_path": "other.ipynb"},
             {"id": "run-2", "status": "running"}],
}})
c.send({"action": "insert_cells", "request_id": "r1", "run": True, "cells": [
    {"cell_type": "markdown", "source": "## inserted by copilot",
     "metadata": {"mlr_copilot": {"kind": "note"}}},
    {"cell_type": "code", "source": "x_inserted = 41 + 1\nprint('inserted', x_inserted)",
     "metadata": {"mlr_copilot": {"kind": "experiment", "run_id": "run-1"}}},
]})
c.send({"action": "open_notebook", "path": "other.ipynb", "request_id": "r2"})
c.send({"action": "bogus", "request_id": "r3"})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(cond: bool, what: str) -> None:
    print(("OK   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        raise SystemExit(f"check failed: {what}")


def start_lab(root: str, home: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, HOME=home, JUPYTER_CONFIG_DIR=os.path.join(home, ".jupyter"))
    env.pop("JUPYTER_PATH", None)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        f"--ServerApp.token={TOKEN}", "--ServerApp.ip=127.0.0.1", f"--port={port}",
        "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(os.path.join(home, "lab.log"), "w")
    # Silence the "Jupyter news?" toast (it can cover the bottom-right corner).
    labconfig = os.path.join(home, ".jupyter", "labconfig")
    os.makedirs(labconfig, exist_ok=True)
    with open(os.path.join(labconfig, "page_config.json"), "w") as f:
        json.dump({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}, f)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}/api/status?token={TOKEN}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"jupyter lab exited early, see {log.name}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return proc
        except Exception:
            time.sleep(0.25)
    proc.terminate()
    raise SystemExit("jupyter lab did not start")


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="mlr-labext-")
    root, home = os.path.join(tmp, "root"), os.path.join(tmp, "home")
    os.makedirs(root)
    os.makedirs(home)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(KERNEL_SETUP), nbformat.v4.new_code_cell("# last")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, os.path.join(root, "test.ipynb"))
    other = nbformat.v4.new_notebook()
    other.metadata["kernelspec"] = nb.metadata["kernelspec"]  # else a kernel-picker dialog
    nbformat.write(other, os.path.join(root, "other.ipynb"))

    port = free_port()
    t0 = time.time()
    proc = start_lab(root, home, port)
    print(f"server up in {time.time() - t0:.1f}s on port {port}")
    console: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            t1 = time.time()
            page.goto(f"http://127.0.0.1:{port}/lab?token={TOKEN}")
            page.wait_for_function("window.jupyterapp !== undefined", timeout=60000)
            page.evaluate("async () => { await window.jupyterapp.restored; }")
            print(f"lab restored in {time.time() - t1:.1f}s")
            # helper: the notebook panel of a path (docmanager:open may change focus)
            page.evaluate("""() => { window.__nb = path => {
                for (const w of window.jupyterapp.shell.widgets('main'))
                    if (w.context && w.context.path === path) return w;
                return null; }; }""")

            check(page.evaluate(f"window.jupyterapp.hasPlugin('{PLUGIN_ID}')"), "hasPlugin")
            check(page.evaluate(f"window.jupyterapp.isPluginActivated('{PLUGIN_ID}')"),
                  "plugin activated")
            for cmd in ("mlr-copilot:toggle-panel", "mlr-copilot:refresh",
                        "mlr-copilot:debug-info"):
                check(page.evaluate(f"window.jupyterapp.commands.hasCommand('{cmd}')"), cmd)
            check(page.locator("#mlr-copilot-panel").count() == 1, "panel in DOM")

            # Open the notebook and wait for its kernel.
            page.evaluate("""async () => {
                const app = window.jupyterapp;
                const w = await app.commands.execute('docmanager:open', {path: 'test.ipynb'});
                await w.context.ready; await w.sessionContext.ready;
                app.shell.activateById(w.id);
            }""")
            page.wait_for_function("""() => {
                const w = window.jupyterapp.shell.currentWidget;
                return w && w.sessionContext && w.sessionContext.session &&
                  w.sessionContext.session.kernel &&
                  w.sessionContext.session.kernel.status === 'idle';
            }""", timeout=60000)
            page.evaluate("""async () => {
                const app = window.jupyterapp;
                const nb = app.shell.currentWidget.content;
                nb.activeCellIndex = 0;
                await app.commands.execute('notebook:run-cell');
            }""")
            # Inserted at index 1 and 2 (below the active cell 0), code cell run.
            page.wait_for_function("""() => {
                const m = window.__nb('test.ipynb').content.model;
                if (m.cells.length < 4) return false;
                const c = m.cells.get(2);
                return c.type === 'code' && c.outputs.length > 0;
            }""", timeout=30000)
            cells = page.evaluate("""() => {
                const m = window.__nb('test.ipynb').content.model;
                const out = [];
                for (let i = 0; i < m.cells.length; i++) {
                    const c = m.cells.get(i);
                    out.push({type: c.type, source: c.sharedModel.getSource(),
                              metadata: c.sharedModel.getMetadata(),
                              outputs: c.type === 'code' ? c.outputs.toJSON() : null});
                }
                return out;
            }""")
            check(len(cells) == 4, f"4 cells after insert (got {len(cells)})")
            check(cells[1]["type"] == "markdown" and "inserted by copilot" in cells[1]["source"],
                  "markdown cell inserted below active cell")
            check(cells[1]["metadata"].get("mlr_copilot") == {"kind": "note"},
                  "markdown metadata.mlr_copilot preserved")
            check(cells[2]["metadata"].get("mlr_copilot", {}).get("run_id") == "run-1",
                  "code metadata.mlr_copilot preserved")
            check("inserted 42" in json.dumps(cells[2]["outputs"]), "inserted code cell ran")
            check(cells[3]["source"] == "# last", "original following cell kept after inserts")

            # open_notebook
            page.wait_for_function("() => window.__nb('other.ipynb') !== null", timeout=30000)
            check(True, "open_notebook opened other.ipynb")
            # back to test.ipynb so the panel follows its kernel
            page.evaluate("window.jupyterapp.shell.activateById(window.__nb('test.ipynb').id)")

            dialogs = page.locator(".jp-Dialog")
            check(dialogs.count() == 0, "no modal dialog open"
                  + (f" (got: {dialogs.first.inner_text()!r})" if dialogs.count() else ""))

            # Side panel
            page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
            page.wait_for_selector("#mlr-copilot-panel[data-has-state='true'] div.mlr-copilot-run[data-run-id='run-1']",
                                   timeout=15000)
            check(page.locator("#mlr-copilot-panel").is_visible(), "panel visible")
            check(page.get_attribute("#mlr-copilot-panel", "data-connected") == "true",
                  "panel connected")
            check("MLR-Copilot test paper" in page.inner_text("#mlr-copilot-panel [data-field='paper-title']"),
                  "paper title shown")
            check(page.locator("#mlr-copilot-panel li[data-idea-id='idea-1']").count() == 1, "idea row")
            check(page.locator("#mlr-copilot-panel div.mlr-copilot-run[data-run-id]").count() == 2, "two run rows")
            best = page.inner_text("#mlr-copilot-panel div.mlr-copilot-run[data-run-id='run-1'] [data-field='best']")
            check("0.9123" in best, f"best metric shown ({best!r})")
            page.screenshot(path=os.path.join(tmp, "panel.png"))
            page.click("#mlr-copilot-panel div.mlr-copilot-run[data-run-id='run-1'] button[data-action='insert_run']")
            page.click("#mlr-copilot-panel div.mlr-copilot-run[data-run-id='run-2'] button[data-action='stop_run']")
            page.click("#mlr-copilot-panel div.mlr-copilot-run[data-run-id='run-1'] button[data-action='open_run']")
            # open_run also opened the record (other.ipynb) directly, which takes focus.
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget === window.__nb('other.ipynb')",
                timeout=15000)
            check(True, "open_run opened record_path")
            check(page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:refresh', "
                                "{path: 'test.ipynb'})") == "sent", "refresh sent")
            time.sleep(0.5)

            # What did the kernel receive?
            received = page.evaluate("""async () => {
                const w = window.__nb('test.ipynb');
                const k = w.sessionContext.session.kernel;
                let text = '';
                const f = k.requestExecute({code: 'import json; print(json.dumps(received))'});
                f.onIOPub = msg => { if (msg.header.msg_type === 'stream') text += msg.content.text; };
                await f.done;
                return JSON.parse(text);
            }""")
            actions = [m.get("action") for m in received]
            print("kernel received:", json.dumps(received)[:1500])
            hello = next((m for m in received if m.get("action") == "hello"), None)
            check(hello is not None and "insert_cells" in hello.get("capabilities", []), "hello")
            check(hello.get("notebook_path") == "test.ipynb", "hello.notebook_path")
            ack = next((m for m in received if m.get("request_id") == "r1" and m.get("action") == "ack"), None)
            check(ack is not None and ack.get("inserted") == 2 and ack.get("ok") is True, "insert ack")
            check(any(m.get("action") == "run_done" and m.get("ok") for m in received), "run_done")
            check(any(m.get("request_id") == "r2" and m.get("ok") for m in received), "open ack")
            check(any(m.get("request_id") == "r3" and m.get("ok") is False for m in received),
                  "unknown action -> ok:false")
            for a in ("insert_run", "stop_run", "open_run", "request_state"):
                check(a in actions, f"kernel got {a}")
            check(actions.index("hello") < actions.index("ack"), "hello before ack")
            info = page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:debug-info')")
            check(info["version"] == "0.1.0" and info["kernels"][0]["connected"], "debug-info")
            print("screenshot:", os.path.join(tmp, "panel.png"))
            browser.close()
    finally:
        errors = [c for c in console if c.startswith("error")]
        if errors:
            print("browser console errors:\n  " + "\n  ".join(errors[:20]))
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print("server stopped")
    if os.environ.get("MLR_KEEP_TMP") != "1":
        shutil.rmtree(tmp, ignore_errors=True)
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
