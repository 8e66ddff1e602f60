"""``%mlr_experiment --insert`` under "Run All" in a real JupyterLab + Chromium.

Every test writes a fresh notebook, opens it and runs "Run All" (all execute requests are queued
at once, so the frontend's hello reaches the kernel only after the last cell): the run's four
nodes n0..n3 must still arrive as separate markdown + code cells with their ``mlr_copilot``
metadata, in run order, right below the cell that started the run, while the kernel is busy.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.browser import CELLS, FIND_NOTEBOOK, KERNEL_IDLE, output_text
from tests.support.lab_server import LabServer, lab_page, lab_server, wait_for  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXPERIMENT = "%mlr_experiment --task digits --max-steps 3 --insert"
NODES = ["n0", "n1", "n2", "n3"]
NODE_TIMEOUT = 240.0

RUN_ALL = """async (path) => {
    const app = window.jupyterapp;
    const panel = window.__mlrNotebook(path);
    app.shell.activateById(panel.id);
    void app.commands.execute('notebook:run-all-cells');  // resolves only when all ran
}"""

SHUTDOWN = """async (path) => {
    const panel = window.__mlrNotebook(path);
    if (panel) { await panel.sessionContext.shutdown(); }
}"""


def open_fresh(page: Any, root: Path, path: str, sources: list[str]) -> None:
    """Write ``root/path`` with code cells ``sources``, open it and wait for an idle kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / path)
    page.evaluate(FIND_NOTEBOOK)
    page.evaluate("""async (path) => {
        const w = await window.jupyterapp.commands.execute('docmanager:open', {path});
        await w.context.ready; await w.sessionContext.ready;
        window.jupyterapp.shell.activateById(w.id);
    }""", path)
    wait_for(page, KERNEL_IDLE, path, timeout=60, what="the notebook's kernel to be idle")


def node_of(cell: dict[str, Any]) -> str | None:
    meta = cell["metadata"].get("mlr_copilot")
    return meta.get("node_id") if isinstance(meta, dict) else None


def wait_for_nodes(page: Any, path: str, what: str) -> list[dict[str, Any]]:
    """The notebook's cells once every node of NODES has its code cell."""
    js = f"""(path) => {{
        const cells = ({CELLS})(path);
        const code = cells.filter(c => c.type === 'code' && c.metadata.mlr_copilot
                                       && c.metadata.mlr_copilot.node_id);
        return code.length >= {len(NODES)} && cells;
    }}"""
    cells: list[dict[str, Any]] = wait_for(page, js, path, timeout=NODE_TIMEOUT, what=what)
    return cells


def assert_nodes_below(cells: list[dict[str, Any]], start: int) -> int:
    """From ``start`` on: n0..n3 in order, each its own cells (an optional model-retrieval note,
    the plan in markdown, then the code), all with one run id. Returns the index after them."""
    end = start
    while end < len(cells) and node_of(cells[end]) is not None:
        end += 1
    block = cells[start:end]
    layout = [(c["type"], node_of(c), c["metadata"]["mlr_copilot"].get("role")
               or c["metadata"]["mlr_copilot"].get("stage")) for c in block]
    assert list(dict.fromkeys(node_of(c) for c in block)) == NODES, layout
    for node in NODES:
        roles = [(t, r) for t, n, r in layout if n == node]
        assert roles[-2:] == [("markdown", "plan"), ("code", "code")], (node, layout)
        assert all(t == "markdown" for t, _ in roles[:-2]), (node, layout)
    assert [node_of(c) for c in block] == sorted(node_of(c) or "" for c in block), layout
    run_ids = {c["metadata"]["mlr_copilot"].get("run_id") for c in block}
    assert len(run_ids) == 1 and None not in run_ids, run_ids
    assert all(c["execution_count"] is None and not c["outputs"] for c in block if c["type"] == "code")
    assert all("report_metric" in c["source"] for c in block if c["type"] == "code")
    return end


def test_run_all_background_run_inserts_every_node_while_the_kernel_is_busy(
    lab_server: LabServer, lab_page: Any  # noqa: F811
) -> None:
    page, path = lab_page, "run_all_background.ipynb"
    busy = "import time\ntime.sleep(30)\nprint('busy cell done')"
    open_fresh(page, lab_server.root, path, ["%load_ext mlr_copilot_jupyter", EXPERIMENT, busy])
    started = time.monotonic()
    page.evaluate(RUN_ALL, path)
    # n0 arrives while the busy cell still runs: comm messages do not wait for the kernel.
    first = wait_for(page, f"""(path) => {{
        const cells = ({CELLS})(path);
        const i = cells.findIndex(c => c.metadata.mlr_copilot);
        return i >= 0 && {{index: i, busy_running: cells[cells.length - 1].execution_count === null
                         && cells[1].execution_count !== null,
                         counts: cells.map(c => c.execution_count)}};
    }}""", path, timeout=NODE_TIMEOUT, what="the first node's cells")
    assert first["index"] == 2, first
    assert first["busy_running"], f"n0 arrived only after the busy cell had finished: {first}"
    cells = wait_for_nodes(page, path, "all four nodes")
    print(f"all nodes after {time.monotonic() - started:.1f} s")
    end = assert_nodes_below(cells, 2)
    assert [c["source"] for c in cells[end:]] == [busy]
    n_cells = len(cells)
    # once every cell has run (the hello and acks are processed then), still nothing else
    cells = wait_for(page, f"(path) => {{ const c = ({CELLS})(path); "
                           "return c[c.length - 1].execution_count !== null && c; }",
                     path, timeout=60, what="the busy cell to finish")
    assert "busy cell done" in output_text(cells[-1])
    assert len(cells) == n_cells, [c["source"][:40] for c in cells]
    assert "JupyterLab extension not detected" not in output_text(cells[1])
    # the offline-engine banner is an info line (stdout), not a red stderr block
    streams = {o.get("name") for o in cells[1]["outputs"] if o.get("output_type") == "stream"}
    assert "stderr" not in streams and "offline engine" in output_text(cells[1]), cells[1]["outputs"]
    page.evaluate(SHUTDOWN, path)


def test_run_all_wait_run_inserts_every_node_below_its_cell(
    lab_server: LabServer, lab_page: Any  # noqa: F811
) -> None:
    page, path = lab_page, "run_all_wait.ipynb"
    busy = "import time\ntime.sleep(30)"
    open_fresh(page, lab_server.root, path,
               ["%load_ext mlr_copilot_jupyter", EXPERIMENT + " --wait", busy])
    page.evaluate(RUN_ALL, path)
    cells = wait_for_nodes(page, path, "all four nodes")
    end = assert_nodes_below(cells, 2)
    assert [c["source"] for c in cells[end:]] == [busy]
    n_cells = len(cells)
    # the --wait cell's reply (where a fallback next input would ride) adds nothing
    cells = wait_for(page, f"(path) => {{ const c = ({CELLS})(path); "
                           "return c[1].execution_count !== null && c; }",
                     path, timeout=NODE_TIMEOUT, what="the --wait cell to finish")
    assert len(cells) == n_cells, [c["source"][:40] for c in cells]
    text = output_text(cells[1])
    assert "JupyterLab extension not detected" not in text and "error" not in text, text
    page.evaluate(SHUTDOWN, path)


def test_run_all_nodes_go_below_the_starting_cell_while_later_user_cells_run(
    lab_server: LabServer, lab_page: Any  # noqa: F811
) -> None:
    page, path = lab_page, "run_all_user_cells.ipynb"
    user1 = "import time\ntime.sleep(12)\nprint('user cell one')"
    user2 = "time.sleep(12)\nprint('user cell two')"
    open_fresh(page, lab_server.root, path,
               ["%load_ext mlr_copilot_jupyter", EXPERIMENT, user1, user2])
    page.evaluate(RUN_ALL, path)
    cells = wait_for_nodes(page, path, "all four nodes")
    end = assert_nodes_below(cells, 2)
    assert [c["source"] for c in cells[end:]] == [user1, user2]
    n_cells = len(cells)
    cells = wait_for(page, f"(path) => {{ const c = ({CELLS})(path); "
                           "return c[c.length - 1].execution_count !== null && c; }",
                     path, timeout=60, what="the user cells to finish")
    assert "user cell one" in output_text(cells[-2]) and "user cell two" in output_text(cells[-1])
    assert len(cells) == n_cells, [c["source"][:40] for c in cells]
    page.evaluate(SHUTDOWN, path)


GONE_ANCHOR = """\
from mlr_copilot_jupyter.jupyter_ui.comm import FrontendBridge
bridge = FrontendBridge.for_shell(get_ipython())
def node(n):
    meta = {"mlr_copilot": {"node_id": n, "run_id": "run-gone"}}
    return [{"cell_type": "markdown", "source": f"plan {n}", "metadata": meta},
            {"cell_type": "code", "source": f"{n} = 1", "metadata": meta}]
print([bridge.insert_group(node(n), group="run-gone", anchor_cell_id="deleted-cell")
       for n in ("n0", "n1")])
"""


def test_nodes_of_a_run_whose_cell_was_deleted_go_to_the_end_behind_a_note(
    lab_server: LabServer, lab_page: Any  # noqa: F811
) -> None:
    page, path = lab_page, "anchor_gone.ipynb"
    open_fresh(page, lab_server.root, path, ["%load_ext mlr_copilot_jupyter", GONE_ANCHOR, "z = 1"])
    page.evaluate(RUN_ALL, path)
    cells = wait_for(page, f"(path) => {{ const c = ({CELLS})(path); "
                           "return c.length >= 8 && c[2].execution_count !== null && c; }",
                     path, timeout=60, what="the cells of run-gone")
    assert "[True, True]" in output_text(cells[1])
    assert cells[2]["source"] == "z = 1"
    assert "is no longer in this notebook" in cells[3]["source"] and "run-gone" in cells[3]["source"]
    assert cells[3]["metadata"]["mlr_copilot"] == {"stage": "note", "run_id": "run-gone"}
    assert [c["source"] for c in cells[4:]] == ["plan n0", "n0 = 1", "plan n1", "n1 = 1"]
    page.evaluate(SHUTDOWN, path)


def test_a_page_reload_mid_run_loses_no_node(
    lab_server: LabServer, lab_page: Any  # noqa: F811
) -> None:
    """Issue 27 item 5: the page is reloaded after the first node arrived and before the notebook
    was saved with it. The reloaded page reconnects to the kernel (its copilot comm is in use),
    the kernel sends again every insert the notebook was not saved with, and the notebook ends
    with all four nodes, in order, each once, below the cell that started the run."""
    page, path = lab_page, "reload_mid_run.ipynb"
    # the digits search's steps take seconds each: the reload lands while the run goes on
    open_fresh(page, lab_server.root, path, ["%load_ext mlr_copilot_jupyter", EXPERIMENT])
    page.evaluate(RUN_ALL, path)
    wait_for(page, f"""(path) => ({CELLS})(path).some(c => c.metadata.mlr_copilot
                                                   && c.metadata.mlr_copilot.node_id)""",
             path, timeout=NODE_TIMEOUT, what="the first node's cells")
    on_disk = nbformat.read(lab_server.root / path, as_version=4)
    assert not any(node_of(c) for c in on_disk.cells), "saved before the reload: nothing to lose"

    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page with unsaved changes?"
    page.reload()
    page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.evaluate(FIND_NOTEBOOK)
    page.evaluate("""async (path) => {  // restored with the workspace, or opened again
        const w = await window.jupyterapp.commands.execute('docmanager:open', {path});
        await w.context.ready; await w.sessionContext.ready;
        window.jupyterapp.shell.activateById(w.id);
    }""", path)
    cells = wait_for_nodes(page, path, "all four nodes after the reload")
    # every node once, in order, below the starting cell: a replay inserts nothing twice
    time.sleep(2)  # late replays of the last node would show up here
    cells = page.evaluate(CELLS, path)
    end = assert_nodes_below(cells, 2)
    assert end == len(cells), [c["source"][:40] for c in cells[end:]]
    status = page.evaluate("""async (path) => {
        const w = window.__mlrNotebook(path);
        await w.context.save();
        return w.context.model.dirty;
    }""", path)
    assert status is False
    saved = nbformat.read(lab_server.root / path, as_version=4)
    assert [node_of(c) for c in saved.cells if c.cell_type == "code" and node_of(c)] == NODES
    page.evaluate(SHUTDOWN, path)
