"""A richer research problem: method summary, datasets, reported results and limitations,
extracted offline from a generated 12-page PDF whose results section states numbers, by the CLI
(the readers and the grounded prompts are tested in tests/unit/test_grounded_problem.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import cli_command, subprocess_env
from tests.support.pdfgen import make_conference_pdf

RESULTS = (
    "On LibriSpeech our sparse mixture adapters reach a word error rate of 7.4% compared with "
    "8.9% for full fine-tuning.",
    "On Common Voice the WER drops to 12.3% while training 3 percent of the parameters.",
    "Table 2: WER of each system.",
    "System LibriSpeech Common Voice",
    "Dense adapters 8.1 14.6",
    "Sparse mixture adapters 7.4 12.3",
)


@pytest.fixture(scope="module")
def results_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "results.pdf", pages=12,
                               results=RESULTS)


def test_reported_results_from_a_12_page_pdf(results_pdf: Path) -> None:
    result = subprocess.run([*cli_command(), "problem", str(results_pdf), "--json"],
                            capture_output=True, text=True, timeout=120, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    problem = json.loads(result.stdout)
    assert problem["paper"]["n_pages"] == 12
    triples = {(r["metric"], r["dataset"], r["value"]) for r in problem["reported_results"]}
    assert ("WER", "LibriSpeech", "7.4%") in triples, triples
    assert ("WER", "LibriSpeech", "8.9%") in triples, triples
    assert ("WER", "Common Voice", "12.3%") in triples, triples
    assert ("WER", "Common Voice", "14.6") in triples, triples  # from the table row
    assert not any(r["value"] in {"3", "3%", "2"} for r in problem["reported_results"])
    assert {"LibriSpeech", "Common Voice"} <= set(problem["datasets"])
    assert "sparse mixture adapters" in problem["method_summary"].lower()
    assert problem["limitations"] and all("SENTINELLIMITATIONS" in x or x
                                          for x in problem["limitations"])
    card = subprocess.run([*cli_command(), "problem", str(results_pdf)], capture_output=True,
                          text=True, timeout=120, env=subprocess_env())
    assert "Reported results:" in card.stdout and "WER on LibriSpeech: 7.4%" in card.stdout
    assert "Method:" in card.stdout
