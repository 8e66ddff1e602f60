"""The JupyterLab extension in a real Chromium: cells inserted over the comm, the side panel.

A JupyterLab server is started on 127.0.0.1 (see tests/support/lab_server.py); the notebook runs
``%load_ext mlr_copilot_jupyter`` and then a cell that inserts cells and pushes a research
state through :class:`~mlr_copilot_jupyter.jupyter_ui.comm.FrontendBridge`. With ``MLR_SAVE_SCREENSHOTS=1``
the run's screenshot is also copied to docs/screenshots/experiment_run.png.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    CELLS,
    FIND_NOTEBOOK,
    KERNEL_IDLE,
    NOTEBOOK,
    RUN_CELL,
    keep_screenshot,
    open_notebook,
    output_text,
    run_cell,
)
from tests.support.lab_server import LabServer, lab_page, lab_server, wait_for  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


INSERT_AND_STATE = """\
from mlr_copilot_jupyter.jupyter_ui.comm import FrontendBridge
bridge = FrontendBridge.for_shell(get_ipython())
clicked = []
bridge.on_action("stop_run", lambda msg: clicked.append(msg.get("run_id")))
meta = {"mlr_copilot": {"node_id": "n1", "stage": "draft"}}
print("insert:", bridge.insert_cells([
    {"cell_type": "markdown", "source": "## Plan", "metadata": meta},
    {"cell_type": "code", "source": "x = 41 + 1", "metadata": meta},
]))
from mlr_copilot_jupyter.models import RelatedWork, ReportedResult, ResearchProblem
from mlr_copilot_jupyter.state import ResearchState
problem = ResearchProblem(
    task_definition="A problem", method_summary="Sparse adapters.", datasets=["LibriSpeech"],
    reported_results=[ReportedResult(metric="WER", dataset="LibriSpeech", value="7.4%", page=6,
                                     quote="Our adapters reach a WER of 7.4% on LibriSpeech.")],
    research_gaps=["Few labels."], limitations=["One language."], keywords=["speech"],
    related_works=[RelatedWork(title="Adapters", year=2021, url="https://example.org/adapters")])
bridge.send_state({
    **ResearchState(problem=problem).summary(),  # the problem as the magics send it
    "paper": {"title": "Test Paper"},
    "ideas": [{"id": "idea-1", "title": "I1", "status": "accepted", "overall": 0.7}],
    "runs": [{"run_id": "run-1", "status": "done", "best_metric": 0.93,
              "record_path": "runs/run-1/experiment.ipynb"}],
})
"""

# Installed once per page: the notebook panel of a path (opening files may move the focus).




KERNEL_PRINT = """async ([path, code]) => {
    const k = window.__mlrNotebook(path).sessionContext.session.kernel;
    let text = '';
    const f = k.requestExecute({code, silent: false, store_history: false});
    f.onIOPub = msg => { if (msg.header.msg_type === 'stream') text += msg.content.text; };
    await f.done;
    return text;
}"""










def test_labextension_is_installed_and_enabled() -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter)] if jupyter.exists() else [sys.executable, "-m", "jupyter"]
    proc = subprocess.run([*cmd, "labextension", "list"], capture_output=True, text=True,
                          timeout=120)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    lines = [line for line in listing.splitlines() if "mlr-copilot-jupyter" in line]
    assert lines, f"mlr-copilot-jupyter is not in `jupyter labextension list`:\n{listing}"
    assert "enabled" in lines[0] and "OK" in lines[0], lines[0]


def test_cells_inserted_and_state_shown_in_side_panel(
    lab_server: LabServer, lab_page: Any, tmp_path: Path  # noqa: F811
) -> None:
    page = lab_page
    assert page.evaluate("window.jupyterapp.isPluginActivated('mlr-copilot-jupyter:plugin')")
    open_notebook(page, lab_server.root, NOTEBOOK, 2)

    run_cell(page, 0, "%load_ext mlr_copilot_jupyter")
    cell = run_cell(page, 1, INSERT_AND_STATE)
    assert "insert: comm" in output_text(cell), (
        "the frontend's hello had not reached the kernel when the second cell ran "
        "(does %load_ext open the FrontendBridge?): " + output_text(cell))

    cells = wait_for(page, f"(path) => {{ const c = ({CELLS})(path); return c.length >= 4 && c; }}",
                     NOTEBOOK, what="the inserted cells")
    assert [c["type"] for c in cells] == ["code", "code", "markdown", "code"]
    assert cells[2]["source"] == "## Plan" and cells[3]["source"] == "x = 41 + 1"
    for inserted in cells[2:]:
        assert inserted["metadata"]["mlr_copilot"] == {"node_id": "n1", "stage": "draft"}

    page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
    panel = "#mlr-copilot-panel"
    page.wait_for_selector(f"{panel}[data-has-state='true'] div.mlr-copilot-run[data-run-id='run-1']",
                           timeout=30_000)
    assert page.locator(panel).is_visible()
    assert page.get_attribute(panel, "data-connected") == "true"
    assert page.inner_text(f"{panel} [data-field='paper-title']") == "Test Paper"
    assert page.inner_text(f"{panel} [data-field='task-definition']") == "A problem"
    # the whole problem, each section collapsible, the result with its page and quote (issue 27)
    sections = page.eval_on_selector_all(
        f"{panel} details[data-problem-section]",
        "ds => ds.map(d => [d.dataset.problemSection, d.open])")
    assert sections == [["method", True], ["datasets", True], ["results", True], ["gaps", True],
                        ["limitations", True], ["related", True], ["keywords", True]]
    assert page.inner_text(f"{panel} [data-problem-section='results'] [data-field='citation']") \
        == "p. 6: \u201cOur adapters reach a WER of 7.4% on LibriSpeech.\u201d"
    assert page.get_attribute(f"{panel} [data-problem-section='related'] a", "href") \
        == "https://example.org/adapters"
    assert page.locator(f"{panel} li[data-idea-id='idea-1'][data-status='accepted']").count() == 1
    run_row = f"{panel} div.mlr-copilot-run[data-run-id='run-1']"
    assert "0.93" in page.inner_text(f"{run_row} [data-field='best']")
    # a run id is one word: it is shortened with an ellipsis, never wrapped
    assert page.eval_on_selector(f"{run_row} [data-field='id']",
                                 "e => getComputedStyle(e).whiteSpace") == "nowrap"

    # (the README's side-panel picture comes from the real session in tests/e2e/test_screenshots.py)
    page.screenshot(path=str(tmp_path / "side_panel_bridge.png"))

    # A panel button reaches the kernel's on_action callback (processed between cells).
    page.click(f"{run_row} button[data-action='stop_run']")
    printed = wait_for(
        page, f"async (a) => {{ const t = await ({KERNEL_PRINT})(a); return t.includes('run') && t; }}",
        [NOTEBOOK, "print(clicked)"], what="the kernel to receive stop_run")
    assert printed.strip() == "['run-1']"

    # After a page reload the kernel's comm is gone from the page: the page finds the kernel's
    # copilot comm in use (comm_info) and opens a new one by itself, the kernel adopts it and
    # sends its state again; "refresh" then goes over that comm (issue 27 item 5).
    page.reload()
    page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.evaluate(FIND_NOTEBOOK)
    page.evaluate("""async (path) => {
        const w = await window.jupyterapp.commands.execute('docmanager:open', {path});
        await w.context.ready; await w.sessionContext.ready;
    }""", NOTEBOOK)
    wait_for(page, KERNEL_IDLE, NOTEBOOK, what="the kernel after the reload")
    page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
    page.wait_for_selector(f"{panel}[data-connected='true']", timeout=30_000)
    assert page.evaluate("(path) => window.jupyterapp.commands.execute('mlr-copilot:refresh', "
                         "{path})", NOTEBOOK) == "sent"
    # the magics answer request_state with the kernel's real research state (empty here)
    page.wait_for_selector(f"{panel}[data-connected='true'][data-has-state='true']", timeout=30_000)
    assert page.evaluate(KERNEL_PRINT, [NOTEBOOK, "print(bridge.available)"]).strip() == "True"


# Appended to the wine baseline: what the experiment's kernel itself sees of its confinement.
SANDBOX_PROBE = """
import os as _os
print("probe sandbox:", _os.environ.get("MLR_COPILOT_IN_SANDBOX", "unset"))
print("probe home has .jupyter:", _os.path.isdir(_os.path.expanduser("~/.jupyter")))
print("probe notebook visible:", _os.path.exists({notebook!r}))
"""
BWRAP = "bubblewrap: no network, workspace-only writes"


def probe_task(root: Path, notebook: Path) -> Path:
    """A copy of the bundled wine task whose baseline also prints what its kernel sees, in the
    lab's root as ``wine``: ``--task wine`` in a notebook there runs this folder (a path is
    looked up before the bundled names), so the magic's line reads as it does for users."""
    from mlr_copilot_jupyter.experiment.task import TASKS_DIR

    task = root / "wine"
    shutil.copytree(TASKS_DIR / "wine", task)
    baseline = task / "baseline.py"
    baseline.write_text(baseline.read_text() + SANDBOX_PROBE.format(notebook=str(notebook)))
    return task


def test_experiment_magic_inserts_node_cells_and_panel_shows_the_run(
    lab_server: LabServer, lab_page: Any, tmp_path: Path  # noqa: F811
) -> None:
    """... and its kernels run sandboxed (bubblewrap), which the panel says."""
    page = lab_page
    path = "experiment_magic.ipynb"
    open_notebook(page, lab_server.root, path, 2)
    probe_task(lab_server.root, lab_server.root / path)

    run_cell(page, 0, "%load_ext mlr_copilot_jupyter", path)
    # the notebook's own kernel is not sandboxed: it sees the lab's HOME and no sandbox variable
    outside = page.evaluate(KERNEL_PRINT, [path, (
        "import os; print(os.environ.get('MLR_COPILOT_IN_SANDBOX', 'unset'), "
        "os.path.isdir(os.path.expanduser('~/.jupyter')))")])
    assert outside.split() == ["unset", "True"], outside
    page.evaluate(RUN_CELL, [path, 1, "%mlr_experiment --task wine --max-steps 1 --insert --wait"])
    cells = wait_for(
        page, f"(path) => {{ const c = ({CELLS})(path); "
              "return c.length >= 6 && c[1].execution_count !== null && c; }",
        path, timeout=180, what="the experiment to finish and its cells to be inserted")
    inserted = [c for c in cells[2:] if "mlr_copilot" in c["metadata"]]
    assert len(inserted) >= 4, cells
    node_ids = {c["metadata"]["mlr_copilot"]["node_id"] for c in inserted}
    assert {"n0", "n1"} <= node_ids
    assert all(c["metadata"]["mlr_copilot"].get("run_id") for c in inserted)
    assert any(c["type"] == "code" and "report_metric" in c["source"] for c in inserted)

    # The experiment's kernels ran under bubblewrap: the run says so, and the baseline's kernel
    # saw the sandbox's variable, a private HOME and not the notebook next to its workspace.
    (run_id,) = {c["metadata"]["mlr_copilot"]["run_id"] for c in inserted}
    run_dir = lab_server.root / "runs" / run_id
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["sandbox"]["active"] is True and journal["sandbox"]["description"] == BWRAP
    record = json.loads((run_dir / "experiment.ipynb").read_text())
    assert record["metadata"]["mlr_copilot"]["sandbox"]["description"] == BWRAP
    baseline = next(n for n in journal["nodes"] if n["kind"] == "baseline")
    assert baseline["status"] == "ok", baseline
    for line in ("probe sandbox: bubblewrap", "probe home has .jupyter: False",
                 "probe notebook visible: False"):
        assert line in baseline["output"], baseline["output"]
    # ... and so does the baseline's cell in the record (its outputs as the kernel sent them)
    (record_cell,) = [c for c in record["cells"] if c["cell_type"] == "code"
                      and c["metadata"].get("mlr_copilot", {}).get("node_id") == baseline["id"]]
    assert "probe sandbox: bubblewrap" in output_text(record_cell), record_cell["outputs"]

    page.evaluate("window.jupyterapp.commands.execute('mlr-copilot:toggle-panel')")
    panel = "#mlr-copilot-panel"
    page.wait_for_selector(f"{panel} div.mlr-copilot-run[data-status='done']", timeout=60_000)
    run_row = f"{panel} div.mlr-copilot-run[data-run-id='{run_id}']"
    best = page.inner_text(f"{run_row} [data-field='best']")
    assert re.search(r"accuracy=[0-9.]+", best), best
    sandbox = f"{run_row} [data-field='sandbox']"
    assert page.inner_text(sandbox) == f"Sandbox: {BWRAP}"
    assert page.get_attribute(sandbox, "data-sandbox-active") == "true"
    shot = tmp_path / "experiment_run.png"
    page.screenshot(path=str(shot))
    keep_screenshot(shot)
