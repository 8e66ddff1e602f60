"""IdeaAgent end to end: CLI offline on generated PDFs, bad inputs, and the LLM path through the
openai SDK against the scripted local server."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_server import ChatServer
from tests.support.cli import cli_command, subprocess_env
from tests.support.ideas import ScriptedResearcher
from tests.support.load import time_bound
from tests.support.pdfgen import (
    corrupt_copies,
    make_conference_pdf,
    make_image_only_pdf,
)


def run_cli(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=time_bound(timeout), env=subprocess_env(), cwd=cwd)


@pytest.fixture(scope="module")
def paper_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "paper.pdf", pages=15)


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9\-]+", text.lower()))


def test_problem_offline_on_15_page_pdf(paper_pdf: Path) -> None:
    started = time.monotonic()
    result = run_cli("problem", str(paper_pdf), "--json")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    problem = json.loads(result.stdout)
    assert problem["paper"]["n_pages"] == 15
    assert problem["task_definition"].strip()
    assert len(problem["research_gaps"]) >= 1
    assert len(problem["keywords"]) >= 5
    from mlr_copilot_jupyter.papers import load_paper

    text = load_paper(paper_pdf).text.lower()
    for keyword in problem["keywords"]:
        assert keyword.lower() in text, f"keyword {keyword!r} does not occur in the paper"
    assert problem["engine"] == "offline"
    assert elapsed < time_bound(10), f"offline problem extraction took {elapsed:.1f}s"


def test_ideas_offline_five_distinct_reviewed(paper_pdf: Path, tmp_path: Path) -> None:
    out = tmp_path / "ideas.json"
    result = run_cli("ideas", str(paper_pdf), "-n", "5", "--json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert json.loads(out.read_text()) == data
    ideas = data["ideas"]
    assert len(ideas) == 5
    assert len({i["hypothesis"] for i in ideas}) == 5 and len({i["id"] for i in ideas}) == 5
    for idea in ideas:
        assert idea["hypothesis"].strip()
        assert len(idea["plan"]["steps"]) >= 3 and idea["plan"]["metrics"]
        review = idea["review"]
        assert set(review["scores"]) == {"clarity", "validity", "rigor", "innovativeness",
                                         "generalizability"}
        assert all(1 <= v <= 5 for v in review["scores"].values())
        assert review["heuristic"] is True and 0 <= review["novelty"] <= 1
    overall = [i["review"]["overall"] for i in ideas]
    assert overall == sorted(overall, reverse=True)
    state = json.loads(Path(data["state"]).read_text())
    assert [i["id"] for i in state["ideas"]] == [i["id"] for i in ideas]


@pytest.mark.parametrize("kind", ["corrupt", "empty", "image_only", "directory", "missing",
                                  "truncated", "garbage"])
def test_bad_papers_exit_nonzero_with_one_line(kind: str, tmp_path: Path, paper_pdf: Path) -> None:
    (tmp_path / "bad").mkdir()
    copies = {name.removesuffix(".pdf"): path
              for name, path in corrupt_copies(paper_pdf, tmp_path / "bad").items()}
    target = {
        "corrupt": copies.get("corrupt"),
        "empty": copies.get("empty"),
        "truncated": copies.get("truncated"),
        "garbage": copies.get("garbage"),
        "image_only": make_image_only_pdf(tmp_path / "scan.pdf"),
        "directory": tmp_path,
        "missing": tmp_path / "nope.pdf",
    }[kind]
    assert target is not None
    for command in ("problem", "ideas"):
        result = run_cli(command, str(target))
        assert result.returncode == 1, result.stdout
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert Path(target).name in result.stderr


# -- the LLM path ----------------------------------------------------------------------------


def test_ideas_through_openai_sdk(llm_env: ChatServer, paper_pdf: Path, tmp_path: Path) -> None:
    llm_env.responder = ScriptedResearcher()
    llm_env.latency = 0.3
    corpus = tmp_path / "related.jsonl"
    corpus.write_text(
        json.dumps({"title": "Adapters for Multilingual Speech Recognition",
                    "abstract": "Adapters make speech recognition cheap for many languages."})
        + "\n" + json.dumps({"title": "Convolutional Networks for Images",
                             "abstract": "Image classification with CNNs."}) + "\n")
    started = time.monotonic()
    result = run_cli("ideas", str(paper_pdf), "-n", "5", "--json", "--related", str(corpus))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    ideas = data["ideas"]
    assert len(ideas) == 5 and len({i["hypothesis"] for i in ideas}) == 5
    for idea in ideas:
        assert len(idea["plan"]["steps"]) >= 3 and idea["plan"]["metrics"] == ["WER"]
        assert idea["review"]["heuristic"] is False
        assert idea["engine"] == "llm:test-model"
    assert data["problem"]["engine"] == "llm:test-model"
    assert data["problem"]["reported_results"] == []
    # and the scripted dataset, Common Voice, is one this paper never names
    assert [(u["kind"], u["reason"]) for u in data["problem"]["unsupported"]] == [
        ("result", "the number is not in the paper"), ("dataset", "the paper never names it")]
    # problem, one call listing 5 directions, then 5 hypotheses, 5 plans and 5 reviews
    assert data["usage"]["calls"] == 1 + 1 + 5 + 5 + 5
    assert len({i["title"] for i in ideas}) == 5

    requests = [r for r in llm_env.requests if r["path"].endswith("/chat/completions")]
    by_schema: dict[str, list[dict[str, Any]]] = {}
    for r in requests:
        name = r["json"].get("response_format", {}).get("json_schema", {}).get("name", "")
        by_schema.setdefault(name, []).append(r)
    hyps = by_schema["HypothesisDraft"]
    assert len(hyps) == 5
    for r in hyps + by_schema["PlanDraft"] + by_schema["ReviewDraft"]:
        prompt = r["json"]["messages"][-1]["content"]
        assert "Low-resource speech recognition with sparse mixture adapters." in prompt
        assert "Adapters for Multilingual Speech Recognition" in prompt
        assert "route each utterance through a few specialised adapter modules" in prompt
        # the scripted problem's one result has no quote and a number the paper never states:
        # kept aside as unsupported, in no prompt (issue 27; the cited path is in
        # tests/unit/test_citations.py)
        assert "12.3%" not in prompt
        assert "Sparse Mixture Adapters for Robust Low-Resource Speech Recognition" in prompt
    # each hypothesis chain develops a different direction and is told the others
    developed = {re.search(r"Develop this direction: ([^.]+)\.", r["json"]["messages"][-1]
                           ["content"]).group(1) for r in hyps}  # type: ignore[union-attr]
    assert len(developed) == 5
    # the five hypothesis calls were in flight together: they arrived within one latency
    arrivals = sorted(r["time"] for r in hyps)
    assert arrivals[-1] - arrivals[0] < time_bound(0.25, below=1.2), arrivals  # serial: 1.2 s
    # 17 calls of 0.3 s one after the other would span >= 5.1 s; problem, directions,
    # hypotheses, plans and reviews are five waves of concurrent calls (measured on the server, not the CLI's
    # start-up, so a loaded machine does not make this flaky)
    times = sorted(r["time"] for r in requests)
    assert times[-1] - times[0] < time_bound(3.0, below=5.1), times
    assert elapsed < time_bound(120)
