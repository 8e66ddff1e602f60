"""Putting an experiment run's cells into the notebook that started it (``--insert``).

One :class:`RunInserter` per run. It decides the route once, in the kernel's main thread when the
magic starts the run (see :mod:`mlr_copilot_jupyter.jupyter_ui.comm` for how the extension is detected):

- **live** (JupyterLab with the extension): each successful node's markdown + code cells go over
  the comm as soon as the node finishes, grouped by run id, so the frontend puts them below the
  cell that started the run (after the run's earlier nodes), or at the end with a note when that
  cell was deleted;
- **foreground fallback** (``--wait`` with no extension): the nodes' cells are collected and put
  into the next input as one joined cell when the run is done, with a line naming every node;
- **background fallback** (no extension, no ``--wait``): a next input would land below whichever
  cell happens to run, or nowhere, so the starting cell says how to insert the run once finished.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .comm import FrontendBridge, join_cells

NO_EXTENSION = "JupyterLab extension not detected"


def node_cells(record_path: Path, node_id: str) -> list[dict[str, Any]]:
    """The record notebook's cells of ``node_id`` (markdown plan, then code), with metadata."""
    from ..types import RecordNotebook

    record = RecordNotebook.load(record_path)
    return [c for c in record.lineage_cells(node_id)
            if c["metadata"].get("mlr_copilot", {}).get("node_id") == node_id]


def insert_run_hint(run_id: str) -> str:
    return (f"the panel's \"Insert cells\" or %mlr_experiment --insert-run {run_id} puts "
            "the run's best lineage into the notebook")


class RunInserter:
    """Hands each successful node of one run to the notebook (see the module docstring)."""

    def __init__(self, bridge: FrontendBridge, run_id: str, record_path: Path, *,
                 foreground: bool) -> None:
        self.bridge, self.run_id, self.record_path = bridge, run_id, Path(record_path)
        self.foreground = foreground
        self.anchor_cell_id = bridge.current_cell_id
        self.live = bridge.live
        self.sent: list[str] = []  # node ids sent over the comm
        self.joined: list[str] = []  # node ids collected for the joined next input
        self.missed: list[str] = []  # node ids neither sent nor joined (background fallback)
        self._cells: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def start_line(self) -> str | None:
        """What the starting cell should say now (None when nothing needs saying)."""
        if self.live or self.foreground:
            return None
        return (f"{NO_EXTENSION}: the cells of {self.run_id} cannot reach this notebook while it "
                f"runs in the background; when it is done, {insert_run_hint(self.run_id)}")

    def add(self, node_id: str) -> str:
        """Route node ``node_id``'s cells; ``"comm"``, ``"joined"`` or ``"missed"``. Any thread."""
        cells = node_cells(self.record_path, node_id)
        with self._lock:
            if self.live and self.bridge.insert_group(
                    cells, group=self.run_id, anchor_cell_id=self.anchor_cell_id,
                    label=f"node {node_id}"):
                self.sent.append(node_id)
                return "comm"
            if self.foreground:
                self._cells.extend(cells)
                self.joined.append(node_id)
                return "joined"
            self.missed.append(node_id)
            return "missed"

    def finish(self) -> str | None:
        """For a foreground run, once it is done: set the joined next input; the line to print."""
        with self._lock:
            nodes, cells, missed = list(self.joined), list(self._cells), list(self.missed)
        if nodes and self.bridge.set_next_input(join_cells(cells)):
            return (f"{NO_EXTENSION}: the cells of {', '.join(nodes)} ({len(cells)} cells) of "
                    f"{self.run_id} were put into the next input as one cell")
        if nodes or missed:
            return (f"{NO_EXTENSION}: the cells of {', '.join(nodes + missed)} of {self.run_id} "
                    f"were not inserted; {insert_run_hint(self.run_id)}")
        return None
