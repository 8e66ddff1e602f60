"""MCP resources: the research state and each run's record notebook, journal and report."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer

from ..errors import InputError
from .guard import dumps
from .service import ResearchService

RUN_FILES = {"experiment.ipynb": "application/x-ipynb+json", "journal.json": "application/json",
             "report.md": "text/markdown"}


def register_resources(server: MCPServer[Any], service: ResearchService) -> None:
    """Add ``mlr://state``, ``mlr://runs`` and the per-run file templates to ``server``."""
    redactor = service.redactor

    @server.resource("mlr://state", name="research_state", mime_type="application/json",
                     description="The research state: paper (title, abstract), research problem, "
                                 "ideas with reviews and decisions, and the runs started.")
    def research_state() -> str:
        return dumps(service.state(), redactor)

    @server.resource("mlr://runs", name="runs", mime_type="application/json",
                     description="Every run in the run folder with its status and best metric.")
    def runs() -> str:
        root = service.folders.run_root
        rows = []
        for journal in sorted(root.glob("*/journal.json")) if root.is_dir() else []:
            try:
                rows.append(service.run_status(journal.parent.name))
            except (InputError, OSError, json.JSONDecodeError):
                continue
        return dumps({"run_root": str(root), "runs": rows}, redactor)

    def read(run_id: str, name: str) -> str:
        folder = service.folders.run_dir(run_id)
        file = folder / name
        if not file.is_file():
            raise InputError(f"run {run_id} has no {name} yet",
                             hint="report.md is written when the run ends")
        return redactor.text(file.read_text(encoding="utf-8"))

    @server.resource("mlr://runs/{run_id}/experiment.ipynb", name="record_notebook",
                     mime_type=RUN_FILES["experiment.ipynb"],
                     description="A run's record notebook (nbformat 4): every generated cell, its "
                                 "output, metric and provenance; re-runnable with papermill.")
    def record_notebook(run_id: str) -> str:
        return read(run_id, "experiment.ipynb")

    @server.resource("mlr://runs/{run_id}/journal.json", name="journal",
                     mime_type=RUN_FILES["journal.json"],
                     description="A run's journal: the tree of baseline/draft/improve/debug nodes.")
    def journal(run_id: str) -> str:
        return read(run_id, "journal.json")

    @server.resource("mlr://runs/{run_id}/report.md", name="report",
                     mime_type=RUN_FILES["report.md"],
                     description="A run's report: the verified result and the steps taken.")
    def report(run_id: str) -> str:
        return read(run_id, "report.md")
