"""The example notebooks run top to bottom offline and show what their markdown promises.

Each notebook is executed with nbclient in a temporary copy of ``example_notebooks/`` (the kernel's
working directory), with the offline backend and no ``OPENAI_*`` variables; notebook 02 also runs
against the local chat-completions server. The assertions read the outputs of the cells tagged
``check-*`` by ``example_notebooks/_make_notebooks.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.chat_server import ChatServer
from tests.support.cli import SECRET_KEY
from tests.support.notebooks import EXAMPLES, execute, tagged, text_of

NOTEBOOKS = ["01_quickstart.ipynb", "02_openai_compatible.ipynb", "03_batch_and_seeds.ipynb",
             "04_mlagentbench_task.ipynb"]


class TableReader(HTMLParser):
    """The header and body rows of the first HTML table (a DataFrame's ``_repr_html_``)."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._section = ""
        self._cell: list[str] | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"thead", "tbody"}:
            self._section = tag
        elif tag == "tr":
            self._row = []
        elif tag in {"th", "td"}:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"th", "td"} and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            if self._section == "thead" and not self.header:
                self.header = self._row
            elif self._section == "tbody":
                self.rows.append(self._row)


def read_table(html: str) -> list[dict[str, str]]:
    """Rows of a DataFrame's HTML as dicts (the index column is named "")."""
    reader = TableReader()
    reader.feed(html)
    return [dict(zip(reader.header, row, strict=False)) for row in reader.rows]








def percent(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text[:3000]}"
    return float(match.group(1))


def test_notebooks_are_generated_and_stripped() -> None:
    """The .ipynb files are exactly what _make_notebooks.py writes: no outputs, no drift."""
    result = subprocess.run([sys.executable, str(EXAMPLES / "_make_notebooks.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in NOTEBOOKS:
        nb = nbformat.read(EXAMPLES / name, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), name
        assert sum(c.cell_type == "markdown" for c in nb.cells) >= len(code) / 2, name


@pytest.mark.slow
def test_quickstart_goes_from_paper_to_a_verified_improvement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("01_quickstart.ipynb", tmp_path, monkeypatch)
    assert "Task definition" in text_of(tagged(nb, "check-problem"), "text/html")
    ideas_html = text_of(tagged(nb, "check-ideas"), "text/html")
    assert ideas_html.count("class='mlr-idea'") == 4, ideas_html[:2000]
    summary = text_of(tagged(nb, "check-experiment"), "text/markdown")
    assert "**Status:** done" in summary
    assert percent(r"Relative improvement \(validation metric\):\*\* \+([\d.]+)%", summary) > 0
    # the number that counts: the held-out test split, scored once for the verified best node
    assert percent(r"Held-out test accuracy\*\* \(held-out split\): baseline [\d.]+ → best "
                   r"[\d.]+, \+([\d.]+)%", summary) >= 10.0
    rows = read_table(text_of(tagged(nb, "check-metadata"), "text/html"))
    assert rows and "node_id" in rows[0], rows[:1]
    node_ids = {r["node_id"] for r in rows}
    assert {"n0", "n1"} <= node_ids
    assert any(r["stage"] == "baseline" for r in rows) and any(r["stage"] == "draft" for r in rows)
    # the report and its plot are shown, not just written
    all_outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in all_outputs)
    assert sum("## Result: digits" in text_of([o], "text/markdown") for o in all_outputs) == 2


@pytest.mark.slow
def test_openai_compatible_notebook_skips_cleanly_without_an_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("02_openai_compatible.ipynb", tmp_path, monkeypatch)
    assert "no LLM endpoint" in text_of(tagged(nb, "check-have-llm"))
    skipped = text_of(tagged(nb, "check-skip"))
    assert "skipped: no LLM endpoint configured (set OPENAI_BASE_URL" in skipped
    everything = "\n".join(text_of(c.outputs) for c in nb.cells if c.cell_type == "code")
    assert everything.count("skipped: no LLM endpoint configured") == 3
    assert re.search(r"temperature\s+0\.2\b", everything)  # %config changed the setting


def fake_instance(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A minimal instance of a JSON schema (enough for the structured calls of notebook 02)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return fake_instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return fake_instance(schema["anyOf"][0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: fake_instance(v, defs) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [fake_instance(schema.get("items", {}), defs)] * max(1, schema.get("minItems", 1))
    if kind in {"integer", "number"}:
        return max(schema.get("minimum", 3), min(schema.get("maximum", 3), 3))
    return {"boolean": True}.get(str(kind), "scaled features help shallow baselines")


def schema_responder(request: dict[str, Any]) -> str | dict[str, Any]:
    """Plays an LLM: a schema-valid JSON reply for structured requests, else a word."""
    response_format = request.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return json.dumps(fake_instance(response_format["json_schema"]["schema"]))
    if request.get("tools"):
        function = request["tools"][0]["function"]
        return {"tool_calls": [{"name": function["name"],
                                "arguments": fake_instance(function["parameters"])}]}
    return "ready"


@pytest.mark.slow
def test_openai_compatible_notebook_uses_a_local_endpoint(
    llm_env: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_env.responder = schema_responder
    nb = execute("02_openai_compatible.ipynb", tmp_path, monkeypatch, offline=False)
    everything = "\n".join(text_of(c.outputs) for c in nb.cells if c.cell_type == "code")
    assert "skipped" not in everything
    assert "LLM endpoint configured" in text_of(tagged(nb, "check-have-llm"))
    assert re.search(r"answered in [\d.]+ s, \d+ tokens", text_of(tagged(nb, "check-skip")))
    assert "Engine: llm:test-model" in everything  # %mlr_paper asked the endpoint
    assert len(llm_env.requests) >= 4
    assert SECRET_KEY not in (tmp_path / "example_notebooks").joinpath("runs", "state.json") \
        .read_text() + nbformat.writes(nb)


@pytest.mark.slow
def test_batch_notebook_reruns_the_record_over_three_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("03_batch_and_seeds.ipynb", tmp_path, monkeypatch)
    shown = tagged(nb, "check-batch")  # %mlr_batch shows the summary table and its plot
    assert "accuracy_mean" in text_of(shown, "text/html")
    assert any("image/png" in o.get("data", {}) for o in shown)
    rows = read_table(text_of(tagged(nb, "check-results"), "text/html"))
    assert len(rows) == 3, rows
    assert sorted(r["seed"] for r in rows) == ["0", "1", "2"]
    assert all(r["status"] == "completed" for r in rows), rows
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows), rows
    assert (tmp_path / "example_notebooks" / "runs" / "batch_seeds" / "summary.png").exists()


@pytest.mark.slow
def test_mlagentbench_notebook_scores_nodes_with_eval_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("04_mlagentbench_task.ipynb", tmp_path, monkeypatch)
    outputs = tagged(nb, "check-eval")
    rows = read_table(text_of(outputs, "text/html"))
    # selected on validation (the baseline by a replay on carved rows), tested by eval.py once
    assert len(rows) >= 2 and "validation replay" in rows[0]["metric_source"], rows
    assert {r["metric_source"] for r in rows[1:] if r["metric"] not in {"", "NaN"}} <= {"MLR_METRIC"}
    printed = text_of(outputs)
    assert "selected on: validation" in printed and "carved" in printed and "seed 0" in printed
    assert percent(r"held-out test \(eval.py\): .*improvement \+([\d.]+)%", printed) > 0.0
