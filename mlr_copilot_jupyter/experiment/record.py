"""The record notebook: ``runs/<run-id>/experiment.ipynb``, the full experiment record.

Layout: a header (markdown), a ``parameters``-tagged cell (seed, data_dir) that papermill can
override, a setup cell (seeding, working directory, ``report_metric``), then for every node a
markdown cell (plan, rationale, outcome) and its code cell. Code that failed (error, timeout,
dead kernel) or that a human rejected is kept as a *raw* cell, so a papermill re-run executes only
code that worked. The notebook is validated and saved atomically after every change.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..atomic import atomic_write_text
from ..errors import InputError
from ..kernels.metric_line import REPORT_METRIC_PRELUDE
from .journal import Node

RECORD_FILE = "experiment.ipynb"
META = "mlr_copilot"


def parameters_source(seed: int, data_dir: str) -> str:
    return f"# Parameters (papermill can override these: -p seed 1)\nseed = {seed}\ndata_dir = {data_dir!r}\n"


SETUP_SOURCE = f'''# Setup: working directory, seeds, and report_metric() for MLR_METRIC lines.
import os
import random

if os.path.isdir(data_dir):
    os.chdir(data_dir)
elif os.path.isdir("workspace"):
    os.chdir("workspace")
random.seed(seed)
try:
    import numpy as np

    np.random.seed(seed)
except ImportError:
    pass

{REPORT_METRIC_PRELUDE.strip()}
'''


def _meta(cell: NotebookNode) -> dict[str, Any]:
    return cell.metadata.setdefault(META, {})


class RecordNotebook:
    """A run's notebook, kept valid on disk after every change."""

    def __init__(self, path: Path, nb: NotebookNode) -> None:
        self.path = Path(path)
        self.nb = nb

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, *, title: str, intro: str, metadata: dict[str, Any],
               seed: int, data_dir: str) -> RecordNotebook:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata[META] = metadata
        header = nbformat.v4.new_markdown_cell(f"# {title}\n\n{intro}".strip())
        header.id = "mlr-header"
        header.metadata[META] = {"stage": "header"}
        params = nbformat.v4.new_code_cell(parameters_source(seed, data_dir))
        params.id = "mlr-parameters"
        params.metadata["tags"] = ["parameters"]
        params.metadata[META] = {"stage": "parameters", "node_id": None, "status": "ok"}
        setup = nbformat.v4.new_code_cell(SETUP_SOURCE)
        setup.id = "mlr-setup"
        setup.metadata[META] = {"stage": "setup", "node_id": None, "status": "ok"}
        nb.cells = [header, params, setup]
        record = cls(path, nb)
        record.save()
        return record

    @classmethod
    def load(cls, path: Path) -> RecordNotebook:
        try:
            nb = nbformat.read(str(path), as_version=4)
        except FileNotFoundError:
            raise InputError(f"no record notebook at {path}") from None
        except Exception as exc:  # nbformat raises several unrelated types on bad files
            raise InputError(f"record notebook {path} is not valid ({exc})") from None
        return cls(Path(path), nb)

    # -- cells ---------------------------------------------------------------------------
    def setup_sources(self) -> list[str]:
        """Source of the parameters and setup cells (run first in every kernel)."""
        return [c.source for c in self.nb.cells
                if _meta(c).get("stage") in {"parameters", "setup"}]

    def _index(self, cell_id: str) -> int | None:
        for k, cell in enumerate(self.nb.cells):
            if cell.get("id") == cell_id:
                return k
        return None

    def _upsert(self, cell: NotebookNode, before: str | None = None) -> None:
        index = self._index(cell.id)
        if index is not None:
            self.nb.cells[index] = cell
        else:
            at = self._index(before) if before else None
            if at is None:
                self.nb.cells.append(cell)
            else:
                self.nb.cells.insert(at, cell)

    def node_cells(self, node: Node, *, outputs: list[dict[str, Any]] | None = None,
                   execution_count: int | None = None, outcome: str = "") -> list[NotebookNode]:
        """The markdown and code (or raw) cells that record ``node``."""
        head = f"### {node.id} · {node.kind}" + (f" of {node.parent}" if node.parent else "")
        head += f" · step {node.step}"
        body = [head, ""]
        if node.title:
            body.append(f"**{node.title}**\n")
        if node.plan:
            body.append(node.plan.strip() + "\n")
        if node.feedback:
            body.append(f"*Human feedback taken into account:* {node.feedback}\n")
        if outcome:
            body.append(outcome)
        md = nbformat.v4.new_markdown_cell("\n".join(body).strip())
        md.id = f"{node.id}-plan"
        meta = {
            "node_id": node.id, "parent": node.parent, "stage": node.kind, "step": node.step,
            "status": node.status, "metric": node.metric, "tokens": node.tokens,
            "elapsed": round(node.elapsed, 3), "recipe": node.recipe, "approval": node.approval,
        }
        md.metadata[META] = dict(meta, role="plan")
        runnable = node.status in {"ok", "no_metric", "pending"}
        if runnable:
            code = nbformat.v4.new_code_cell(node.code)
            code.outputs = [nbformat.from_dict(o) for o in (outputs or [])]
            code.execution_count = execution_count
        else:
            code = nbformat.v4.new_raw_cell(node.code)
        code.id = f"{node.id}-code"
        code.metadata[META] = dict(meta, role="code")
        if not runnable:
            code.metadata["tags"] = ["mlr-not-run"]
        return [md, code]

    def record_node(self, node: Node, **kwargs: Any) -> None:
        """Add or update ``node``'s cells, and save."""
        for cell in self.node_cells(node, **kwargs):
            self._upsert(cell, before="mlr-summary")
        self.save()

    def record_retrieval(self, node_id: str, retrieval: dict[str, Any]) -> None:
        """A markdown cell, before ``node_id``'s cells, listing retrieved candidates and the choice."""
        lines = [f"#### Model retrieval for {node_id}", "",
                 f"**Query** ({retrieval.get('source', 'all')}): "
                 + " ".join(str(retrieval.get("query", "")).split()), ""]
        lines += [f"{k}. `{cid}`" for k, cid in enumerate(retrieval.get("candidates", []), 1)]
        lines += ["", f"**Why / chosen:** {retrieval.get('chosen', '')}"]
        lines += [f"*Warning:* {w}" for w in retrieval.get("warnings", [])]
        cell = nbformat.v4.new_markdown_cell("\n".join(lines))
        cell.id = f"{node_id}-retrieval"
        cell.metadata[META] = {"stage": "retrieval", "node_id": node_id,
                               "query": retrieval.get("query"),
                               "candidates": list(retrieval.get("candidates", []))}
        self._upsert(cell, before="mlr-summary")
        self.save()

    def record_context(self, text: str, *, read_by_llm: bool) -> None:
        """The notebook context the researcher consented to send, verbatim, after the header."""
        who = ("It is part of every step's prompt to the LLM." if read_by_llm else
               "The offline engine in use does not read it: no LLM received it in this run.")
        cell = nbformat.v4.new_markdown_cell(
            f"## Notebook context sent to the LLM\n\n(`--context notebook`; redacted.) {who}"
            f"\n\n{text}")
        cell.id = "mlr-context"
        cell.metadata[META] = {"stage": "context", "read_by_llm": read_by_llm, "text": text}
        self._upsert(cell, before="mlr-parameters")
        self.save()

    def set_summary(self, markdown: str, *, png: bytes | None = None) -> None:
        """The closing summary cell (with the metric plot as an attachment), and save."""
        source = markdown
        cell = nbformat.v4.new_markdown_cell(source)
        cell.id = "mlr-summary"
        cell.metadata[META] = {"stage": "summary"}
        if png is not None:
            cell.attachments = {"metric.png": {"image/png": base64.b64encode(png).decode()}}
            cell.source = source + "\n\n![metric per step](attachment:metric.png)"
        self._upsert(cell)
        self.save()

    def lineage_cells(self, node_id: str | None = None) -> list[dict[str, Any]]:
        """Parameters, setup and the cells of a node's lineage (default: the best node), as
        plain dicts ready to insert into a live notebook."""
        meta = self.metadata()
        journal_path = self.path.parent / "journal.json"
        keep: set[str] | None = None
        if journal_path.exists():
            from .journal import Journal

            journal = Journal.load(journal_path)
            target = node_id or journal.best_node
            if target:
                keep = {n.id for n in journal.lineage(target)}
        cells = []
        for cell in self.nb.cells:
            m = cell.metadata.get(META, {})
            if m.get("stage") in {"header", "summary", "context"} or cell.cell_type == "raw":
                continue
            if keep is not None and m.get("node_id") and m["node_id"] not in keep:
                continue
            cells.append({"cell_type": cell.cell_type, "source": cell.source,
                          "metadata": {META: dict(m, run_id=meta.get("run_id"))}})
        return cells

    # -- persistence -----------------------------------------------------------------------
    def save(self) -> Path:
        """Validate, then write atomically (temp file, fsync, rename)."""
        nbformat.validate(self.nb)  # once: nbformat.writes would validate (and copy) again
        return atomic_write_text(self.path, nbformat.v4.writes_json(self.nb))

    def metadata(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.nb.metadata.get(META, {})))
