"""`mlr-copilot bench-ideas`: full pipeline vs core-paper-only baseline, same judge, mean ± SE per
criterion side by side, one CSV row per idea. Offline on the bundled demo paper and a generated
PDF; the LLM judge through the scripted server."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

from mlr_copilot_jupyter.models import REVIEW_CRITERIA
from tests.support.chat_server import ChatServer
from tests.support.cli import cli_command, subprocess_env
from tests.support.ideas import ScriptedResearcher
from tests.support.pdfgen import make_conference_pdf

DEMO_PAPER = Path(__file__).resolve().parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), "bench-ideas", *args], capture_output=True,
                          text=True, timeout=240, env=subprocess_env())


def test_bench_ideas_offline_table_and_csv(tmp_path: Path) -> None:
    pdf = make_conference_pdf(tmp_path / "paper.pdf", pages=12)
    out = tmp_path / "scores.csv"
    result = _bench(str(DEMO_PAPER), str(pdf), "-n", "3", "--csv", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "judge: heuristic judge (offline, no LLM)" in lines[0] and "2 papers" in lines[0]
    header = lines[2].split()
    assert header == ["criterion", "full", "core-paper", "diff"]
    rows = {line.split()[0]: line for line in lines[3:] if line.strip() and "±" in line}
    assert set(rows) == {*REVIEW_CRITERIA, "novelty", "overall"}
    assert all(row.count("±") == 2 for row in rows.values())
    with out.open() as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["paper", "arm", "idea_id", "title", *REVIEW_CRITERIA, "novelty",
                              "overall", "judge"]
    assert len(table) == 2 * 2 * 3
    assert {r["arm"] for r in table} == {"full", "core-paper"}
    assert len({r["paper"] for r in table}) == 2
    # the printed means are the CSV's means
    full_clarity = [int(r["clarity"]) for r in table if r["arm"] == "full"]
    assert f"{sum(full_clarity) / len(full_clarity):.2f} ±" in rows["clarity"]


def test_bench_ideas_with_the_llm_judge(llm_env: ChatServer, tmp_path: Path) -> None:
    llm_env.responder = ScriptedResearcher()
    result = _bench(str(DEMO_PAPER), "-n", "2", "--csv", str(tmp_path / "s.csv"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["judge"] == "llm:test-model"
    assert set(data["summary"]["clarity"]) == {"full", "core-paper"}
    # the core-paper arm's prompts hold neither the extracted method nor the reported results
    prompts = [r["json"]["messages"][-1]["content"] for r in llm_env.requests
               if r["path"].endswith("/chat/completions")
               and r["json"].get("response_format", {}).get("json_schema", {}).get("name")
               == "HypothesisDraft"]
    grounded = [p for p in prompts if "specialised adapter modules" in p]  # the method
    assert len(grounded) == 2 and len(prompts) == 4
