"""Without a JupyterLab frontend (nbclient, papermill) no node of an ``--insert`` run is lost.

A foreground run (``--wait``) puts every successful node's cells into the next input as one
joined cell and names the nodes; a background run says at once how to insert it later; and
``%mlr_experiment --insert-run RUN_ID`` puts a finished run's best lineage into the next input.
The next input travels as the ``set_next_input`` payload of the cell's execute reply, which the
tests read through nbclient's ``on_cell_executed`` hook (papermill passes it on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.experiment.record import RecordNotebook

pytestmark = pytest.mark.slow

INSERT_RUN = "get_ipython().run_line_magic('mlr_experiment', f'--insert-run {_mlr_run.run_id}')"


class NextInputs:
    """An ``on_cell_executed`` hook keeping each cell's ``set_next_input`` text by index."""

    def __init__(self) -> None:
        self.by_cell: dict[int, str] = {}

    def __call__(self, cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        for payload in execute_reply.get("content", {}).get("payload", []):
            if payload.get("source") == "set_next_input":
                self.by_cell[cell_index] = payload["text"]


def text_of(cell: Any) -> str:
    return "".join(o.get("text", "") + json.dumps(o.get("data", {})) for o in cell.outputs)


def assert_no_errors(nb: Any) -> None:
    errors = [o for c in nb.cells for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors


def ok_nodes(run_dir: Path) -> list[str]:
    journal = Journal.load(run_dir / "journal.json")
    return [n.id for n in journal.nodes if n.status == "ok"]


def assert_lineage_in(text: str, run_dir: Path) -> list[str]:
    """Every code cell of the run's best lineage is in ``text``; returns the lineage's nodes."""
    cells = RecordNotebook.load(run_dir / "experiment.ipynb").lineage_cells()
    nodes = [c["metadata"]["mlr_copilot"].get("node_id") for c in cells]
    assert "n0" in nodes, nodes
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["source"].strip() in text, cell["source"][:200]
    return [n for n in dict.fromkeys(nodes) if n]


@pytest.mark.slow_ok(
    reason="a notebook kernel runs a 3-step digits experiment (a second kernel) through nbclient")
def test_nbclient_foreground_run_joins_every_node_and_insert_run_inserts_the_lineage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    out = tmp_path / "fg"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in [
        "%load_ext mlr_copilot_jupyter",
        f"%mlr_experiment --task digits --max-steps 3 --insert --wait --out {out}",
        INSERT_RUN,
    ]]
    hook = NextInputs()
    NotebookClient(nb, timeout=600, kernel_name="python3", on_cell_executed=hook,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert_no_errors(nb)
    nodes = ok_nodes(out)
    assert nodes == ["n0", "n1", "n2", "n3"], nodes
    joined, said = hook.by_cell[1], text_of(nb.cells[1])
    record = RecordNotebook.load(out / "experiment.ipynb")
    for node in nodes:
        for cell in record.lineage_cells(node):
            if cell["metadata"]["mlr_copilot"].get("node_id") == node and cell["cell_type"] == "code":
                assert cell["source"].strip() in joined, (node, cell["source"][:200])
    assert ("JupyterLab extension not detected: the cells of n0, n1, n2, n3 (" in said
            and "were put into the next input as one cell" in said), said
    lineage = assert_lineage_in(hook.by_cell[2], out)
    said = text_of(nb.cells[2])
    assert f"lineage {' -> '.join(lineage)}" in said and "into the next input" in said, said


def test_papermill_background_run_says_how_to_insert_and_insert_run_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill as pm

    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    out = tmp_path / "bg"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in [
        "%load_ext mlr_copilot_jupyter",
        f"%mlr_experiment --task digits --max-steps 1 --insert --out {out}",
        "assert _mlr_run.wait(300), 'the run did not finish'\nprint(_mlr_run.summary['best_node'])",
        INSERT_RUN,
    ]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    source, target = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    hook = NextInputs()
    result = pm.execute_notebook(str(source), str(target), kernel_name="python3",
                                 cwd=str(tmp_path), progress_bar=False, on_cell_executed=hook)
    assert_no_errors(result)
    run_id = Journal.load(out / "journal.json").run_id
    said = text_of(result.cells[1])
    assert ("cannot reach this notebook while it runs in the background" in said
            and f"%mlr_experiment --insert-run {run_id}" in said and "Insert cells" in said), said
    assert 1 not in hook.by_cell and 2 not in hook.by_cell  # nothing lands below a random cell
    assert ok_nodes(out)[:2] == ["n0", "n1"]
    lineage = assert_lineage_in(hook.by_cell[3], out)
    assert "inserted" in text_of(result.cells[3]) and run_id in text_of(result.cells[3])
    assert lineage[0] == "n0"
    saved = nbformat.read(target, as_version=4)  # papermill's record keeps the lines too
    assert f"--insert-run {run_id}" in text_of(saved.cells[1])
