"""A richer research problem: method summary, datasets, reported results and limitations,
extracted offline from a generated 12-page PDF whose results section states numbers, by the CLI
(the readers and the grounded prompts are tested in tests/unit/test_grounded_problem.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import cli_command, subprocess_env
from tests.support.pdfgen import SPEECH_RESULTS, make_conference_pdf


@pytest.fixture(scope="module")
def results_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "results.pdf", pages=12,
                               results=SPEECH_RESULTS)


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
