"""Every number and claim in the problem carries its source (issue 27): the quote and page it
came from in the extracted text. A scripted LLM (the local chat server) returns three results,
one with a number the paper never states: the problem keeps two with page and quote, the third
is kept aside as unsupported and reaches no prompt. Offline, results come from results sentences
and table rows, not from confidence levels, shot counts or sample sizes; pages are checked
against pypdf's own text of each page."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pypdf import PdfReader

from mlr_copilot_jupyter.ideas.citations import PaperText, check_names, holds_number, numbers
from mlr_copilot_jupyter.ideas.results import results_from_sentences
from mlr_copilot_jupyter.models import flat
from mlr_copilot_jupyter.papers import load_paper
from tests.support.chat_server import ChatServer
from tests.support.ideas import ScriptedResearcher
from tests.support.pdfgen import SECTIONS, make_conference_pdf

RESULTS = (
    "On LibriSpeech our sparse mixture adapters reach a word error rate of 7.4% compared with "
    "8.9% for full fine-tuning.",
    "On Common Voice the WER drops to 12.3% while training 3 percent of the parameters.",
    "Training takes 18,450 steps on one GPU.",
)
EXACT = RESULTS[0]
PARAPHRASE = "On Common Voice, the WER drops to 12.3 % while 3 percent of the parameters train."


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_conference_pdf(tmp_path_factory.mktemp("paper") / "p.pdf", pages=6,
                               results=RESULTS)


def _pdf_page_of(pdf: Path, needle: str) -> int:
    """The page pypdf finds ``needle`` on (1-based): the independent check of our pages."""
    key = "".join(needle.split()).lower()
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        if key in "".join((page.extract_text() or "").split()).lower():
            return number
    raise AssertionError(f"{needle!r} is on no page")


@pytest.mark.parametrize("two_column", [True, False])
def test_pages_of_the_flat_text_are_the_pdfs_pages(two_column: bool, tmp_path: Path) -> None:
    pdf = make_conference_pdf(tmp_path / "p.pdf", pages=8, two_column=two_column, seed=3)
    paper = load_paper(pdf)
    assert len(paper.page_starts) == 8 and paper.page_starts == sorted(paper.page_starts)
    text = flat(paper.text)
    for _, sentinel, key in SECTIONS:
        if key in ("references", "appendix"):
            continue
        offset = text.find(sentinel)
        assert offset >= 0, sentinel
        assert paper.page_at(offset) == _pdf_page_of(pdf, sentinel), sentinel


def test_numbers_are_read_as_written() -> None:
    assert numbers("18,450 steps, 7.4% WER, .85 F1, (88.3), -0.5, v2, 1.5.3") == [
        "18450", "7.4", "0.85", "88.3", "-0.5"]
    assert holds_number("it took 18,450 steps", "18450")
    assert not holds_number("it took 18,450 steps", "18")  # 18,450 is not 18
    assert holds_number("accuracy 0.50", "0.5")


def test_offline_results_are_results_not_confidence_levels_shots_or_sizes() -> None:
    def found(text: str) -> list[tuple[str, str]]:
        return [(r.metric, r.value) for r in results_from_sentences(text)]

    assert found("We report the MSE of every task with 95% confidence.") == []
    assert found("In the 10-shot setting the MSE is averaged over tasks.") == []
    assert found("The test set has n = 500 sentences and we report accuracy.") == []
    assert found("Accuracy is defined in Section 3 and Eq. 4.") == []
    assert found("Our model reaches an accuracy of 91.2% on CIFAR-10, compared with 88.4% "
                 "for the baseline.") == [("accuracy", "91.2%"), ("accuracy", "88.4%")]


def test_offline_results_carry_page_and_quote(pdf: Path) -> None:
    from mlr_copilot_jupyter.ideas.problem import offline_problem

    problem = offline_problem(load_paper(pdf))
    page = _pdf_page_of(pdf, "drops to 12.3%")
    cited = [r for r in problem.reported_results if r.value.startswith("12.3")]
    assert cited and cited[0].page == page and "12.3%" in cited[0].quote
    assert all(r.quote and r.page for r in problem.reported_results)


def test_an_llm_result_the_paper_does_not_state_is_kept_aside_and_reaches_no_prompt(
    llm_env: ChatServer, pdf: Path, tmp_path: Path,
) -> None:
    from mlr_copilot_jupyter.api import Copilot

    llm_env.responder = ScriptedResearcher(results=[
        {"metric": "WER", "dataset": "LibriSpeech", "value": "7.4%", "setting": "ours",
         "quote": EXACT},
        {"metric": "WER", "dataset": "Common Voice", "value": "12.3%", "setting": "ours",
         "quote": PARAPHRASE},  # the model's paraphrase: the paper's own sentence is cited
        {"metric": "accuracy", "dataset": "LibriSpeech", "value": "93.1%", "setting": "ours",
         "quote": "Our adapters reach 93.1% accuracy on LibriSpeech."},
    ])
    copilot = Copilot(run_dir=str(tmp_path / "runs"))
    copilot.read_paper(pdf)
    problem = copilot.extract_problem()
    page = _pdf_page_of(pdf, "drops to 12.3%")
    kept = {r.value: r for r in problem.reported_results}
    assert set(kept) == {"7.4%", "12.3%"}
    assert kept["7.4%"].quote.startswith("On LibriSpeech our sparse mixture adapters")
    assert kept["12.3%"].quote.startswith("On Common Voice the WER drops to 12.3%")
    assert kept["7.4%"].page == _pdf_page_of(pdf, "word error rate of 7.4%")
    assert kept["12.3%"].page == page
    [dropped] = problem.unsupported
    assert dropped.kind == "result" and "93.1%" in dropped.text
    assert dropped.reason == "the number is not in the paper"
    # the card shows the citations and the claim kept aside
    from mlr_copilot_jupyter.display import ProblemCard

    card = repr(ProblemCard(problem, copilot.state.paper))
    assert f"p. {page}: \u201cOn Common Voice the WER drops to 12.3%" in card
    assert "Not in the paper's text" in card and "93.1%" in card

    copilot.generate_ideas(1)
    prompts = [m["content"] for r in llm_env.requests if r["path"].endswith("/chat/completions")
               for m in r["json"]["messages"]]
    after = [p for p in prompts if "Research problem" in p]
    assert after, "no idea prompt was captured"
    assert not any("93.1" in p for p in after)
    assert all("WER on Common Voice: 12.3%" in p and f"[paper p. {page}]" in p for p in after)


def test_results_without_quotes_are_unsupported_with_one_warning(
    llm_env: ChatServer, pdf: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    from mlr_copilot_jupyter.api import Copilot

    llm_env.responder = ScriptedResearcher(results=[
        {"metric": "WER", "dataset": "LibriSpeech", "value": "7.4%"},
        {"metric": "WER", "dataset": "LibriSpeech", "value": "8.9%"},
    ])
    copilot = Copilot(run_dir=str(tmp_path / "runs"))
    copilot.read_paper(pdf)
    with caplog.at_level(logging.WARNING, logger="mlr_copilot"):
        problem = copilot.extract_problem()
    assert problem.reported_results == []
    assert [u.reason for u in problem.unsupported] == ["no quote from the paper"] * 2
    warnings = [r for r in caplog.records if "without a quote" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()


def test_datasets_the_paper_never_names_are_unsupported(pdf: Path) -> None:
    kept, dropped = check_names(PaperText(load_paper(pdf)),
                                ["LibriSpeech", "common voice", "ImageNet"])
    assert kept == ["LibriSpeech", "common voice"]
    assert [(d.text, d.reason) for d in dropped] == [("ImageNet", "the paper never names it")]


def test_the_record_and_report_say_which_cited_results_the_idea_builds_on(tmp_path: Path) -> None:
    """An idea run with the paper's problem: the record's intro and report.md name the cited
    results (page and quote) whose metric or dataset the idea names; none other."""
    from mlr_copilot_jupyter.config import MLRCopilot
    from mlr_copilot_jupyter.experiment.agent import RunOptions
    from mlr_copilot_jupyter.experiment.report import write_report
    from mlr_copilot_jupyter.experiment.runner import create_run
    from mlr_copilot_jupyter.experiment.task import load_task
    from mlr_copilot_jupyter.llm.registry import get_backend
    from mlr_copilot_jupyter.models import ReportedResult, ResearchProblem
    from tests.support.review import make_idea

    problem = ResearchProblem(task_definition="Classify digits.", reported_results=[
        ReportedResult(metric="accuracy", dataset="digits", value="97.2%", page=4,
                       quote="Logistic regression reaches 97.2% accuracy on digits."),
        ReportedResult(metric="WER", dataset="LibriSpeech", value="7.4%", page=6,
                       quote="Our adapters reach a WER of 7.4% on LibriSpeech."),
    ])
    agent = create_run(load_task("digits"), get_backend(MLRCopilot(backend="offline")),
                       run_root=tmp_path / "runs", run_dir=tmp_path / "runs" / "r1",
                       options=RunOptions(sandbox="off"), idea=make_idea(1), problem=problem)
    line = ("accuracy on digits: 97.2% — p. 4: \u201cLogistic regression reaches 97.2% "
            "accuracy on digits.\u201d")
    import nbformat

    cells = nbformat.read(agent.run_dir / "experiment.ipynb", as_version=4).cells
    [intro] = [c.source for c in cells if "**Testing:**" in c.source]
    assert f"**Builds on the paper's result:** {line}" in intro and "7.4%" not in intro
    assert agent.journal.settings["builds_on"] == [line]
    report = write_report(agent.journal, agent.run_dir, plot=False)
    assert f"- **Builds on the paper's result:** {line}" in report.markdown
    assert "7.4%" not in (agent.run_dir / "report.md").read_text()


def test_the_problem_card_shows_every_section_collapsible_with_sources_and_links() -> None:
    from mlr_copilot_jupyter.display import ProblemCard
    from mlr_copilot_jupyter.models import (
        RelatedWork,
        ReportedResult,
        ResearchProblem,
        UnsupportedClaim,
    )

    problem = ResearchProblem(
        task_definition="Classify digits.", research_gaps=["Few labels."], keywords=["digits"],
        method_summary="A linear model.", datasets=["digits"], limitations=["One dataset."],
        reported_results=[ReportedResult(metric="accuracy", dataset="digits", value="97.2%",
                                         page=4, quote="It reaches 97.2% accuracy.")],
        unsupported=[UnsupportedClaim(kind="result", text="F1 0.99", reason="the number is "
                                                                            "not in the paper")],
        related_works=[RelatedWork(title="A <b>prior</b> work", year=2021,
                                   url="https://example.org/p?a=1&b=2", source="semantic_scholar"),
                       RelatedWork(title="Evil", url="javascript:alert(1)", source="local")],
        rationale="Because.")
    html = ProblemCard(problem)._repr_html_()
    for name in ("Task definition", "Method", "Datasets (1)", "Reported results (1)",
                 "Research gaps (1)", "Stated limitations (1)", "Related works (2)", "Keywords"):
        assert f"<details class='mlr-section' open><summary><b>{name}</b>" in html, name
    assert "<summary><b>Not in the paper&#x27;s text (used nowhere) (1)</b>" in html
    assert "p. 4: \u201cIt reaches 97.2% accuracy.\u201d" in html
    assert "<a href='https://example.org/p?a=1&amp;b=2'" in html and "&lt;b&gt;prior" in html
    assert "javascript:" not in html and "<li>Evil" in html  # no link that runs code
    text = repr(ProblemCard(problem))
    assert "https://example.org/p?a=1&b=2" in text and "(2021)" in text


def test_pages_without_a_text_layer_are_named_on_the_card(tmp_path: Path) -> None:
    """Issue 27, bad input: a PDF with pages that have no text layer. Nothing is read from those
    pages and the card says so in one line; a fully textless PDF is refused in one line."""
    from mlr_copilot_jupyter.display import ProblemCard
    from mlr_copilot_jupyter.ideas.problem import offline_problem
    from tests.support.pdfgen import make_image_only_pdf, make_partly_scanned_pdf

    text = ("Shallow Baselines Revisited\n\nAbstract\n\nWe study how tuned shallow baselines "
            "compare with proposed methods on small tabular datasets.\n\n1 Introduction\n\n"
            + "Tuned baselines close most of the reported gap on small benchmarks. " * 12)
    paper = load_paper(make_partly_scanned_pdf(tmp_path / "partly.pdf", text, scanned_pages=2))
    assert paper.n_pages == 3 and paper.pages_without_text == [2, 3]
    note = "no text layer on pages 2, 3: citations unavailable there"
    card = ProblemCard(offline_problem(paper), paper)
    assert note in repr(card)
    assert note in card._repr_html_()
    assert all(r.page in (None, 1) for r in card.problem.reported_results)  # nothing invented
    # a paper with text on every page says nothing of the kind
    whole = load_paper(make_partly_scanned_pdf(tmp_path / "whole.pdf", text, scanned_pages=0))
    assert whole.pages_without_text == [] and "no text layer" not in repr(
        ProblemCard(offline_problem(whole), whole))
    with pytest.raises(Exception, match="no extractable text"):
        load_paper(make_image_only_pdf(tmp_path / "scanned.pdf"))
