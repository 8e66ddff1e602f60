"""The research data model shared by every stage (pydantic, JSON round-trippable)."""

from __future__ import annotations

import bisect
import re
from typing import Literal

from pydantic import BaseModel, Field

REVIEW_CRITERIA: tuple[str, ...] = (
    "clarity",
    "validity",
    "rigor",
    "innovativeness",
    "generalizability",
)


class Usage(BaseModel):
    """Token usage of one or more LLM calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            calls=self.calls + other.calls,
        )


def flat(text: str) -> str:
    """``text`` with every run of whitespace collapsed to one space: the text citations are
    offsets into (:attr:`Paper.page_starts`)."""
    return " ".join(text.split())


class Paper(BaseModel):
    """A loaded paper: full text plus the sections found by their headings."""

    source: str = Field(description="Where it came from: a path, 'text', or an arXiv id.")
    title: str = ""
    abstract: str = ""
    sections: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical section name (introduction, related_work, method, ...) -> text.",
    )
    text: str = ""
    n_pages: int | None = None
    page_starts: list[int] = Field(
        default_factory=list,
        description="Where each page begins in the flat text (whitespace collapsed), for citing "
                    "a quote with its page; empty when the source has no pages.")
    pages_without_text: list[int] = Field(
        default_factory=list,
        description="1-based pages of a PDF with no text layer (scanned or drawn as images): "
                    "nothing on them is extracted, so nothing there can be cited.")
    sha256: str = ""

    def text_layer_note(self) -> str:
        """One line for the problem card when some pages have no text layer ('' otherwise)."""
        pages = self.pages_without_text
        if not pages:
            return ""
        shown = ", ".join(map(str, pages[:12])) + (", ..." if len(pages) > 12 else "")
        return (f"no text layer on page{'s' if len(pages) > 1 else ''} {shown}: citations "
                "unavailable there (nothing from them is used; OCR the PDF, e.g. ocrmypdf, "
                "to include them)")

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset`` of the flat text; None when pages are unknown.

        Pages whose start was not found share the previous page's offset: the first of them,
        the one that can be vouched for, is given."""
        starts = self.page_starts
        if not starts or offset < 0:
            return None
        start = starts[bisect.bisect_right(starts, offset) - 1]
        return bisect.bisect_left(starts, start) + 1


class RelatedWork(BaseModel):
    """A paper related to the research problem."""

    title: str
    abstract: str = ""
    year: int | None = None
    url: str | None = None
    source: str = "local"
    score: float | None = None


class ReportedResult(BaseModel):
    """One number the paper reports: metric, dataset, value and the setting it was measured in,
    with where the paper says so (``quote``: its sentence or table row as extracted; ``page``)."""

    metric: str
    dataset: str = ""
    value: str = Field(description="As written in the paper, e.g. '7.4%' or '28.4'.")
    setting: str = Field(default="", description="Method or condition, or the source sentence.")
    quote: str = Field(default="", description="The sentence or table row of the paper that "
                                               "states the number, as extracted.")
    page: int | None = Field(default=None, description="The page of the quote (PDFs).")

    def line(self, *, setting: bool = False) -> str:
        """"WER on LibriSpeech: 7.4% — p. 6: “quote”": the result with its source (and its
        setting in parentheses when asked and not the quote itself)."""
        where = f"p. {self.page}" if self.page else ""
        quote = f"\u201c{self.quote}\u201d" if self.quote else ""
        source = ": ".join(x for x in (where, quote) if x)
        shown = setting and self.setting and self.setting != self.quote
        return (f"{self.metric}" + (f" on {self.dataset}" if self.dataset else "")
                + f": {self.value}" + (f"  ({self.setting})" if shown else "")
                + (f" — {source}" if source else ""))


class UnsupportedClaim(BaseModel):
    """Something an LLM said the paper states that the paper's text does not bear out: kept in
    the record with the model's wording, never passed on as the paper's."""

    kind: Literal["result", "dataset"]
    text: str = Field(description="The model's wording.")
    reason: str = Field(description="Why it is not taken: e.g. 'the number is not in the paper'.")


class ResearchProblem(BaseModel):
    """The research problem of a paper, as in MLR-Copilot's problem extraction."""

    task_definition: str
    research_gaps: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    method_summary: str = ""
    datasets: list[str] = Field(default_factory=list)
    reported_results: list[ReportedResult] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)
    rationale: str = ""
    source_sections: list[str] = Field(default_factory=list)
    related_works: list[RelatedWork] = Field(default_factory=list)
    engine: str = Field(default="", description="'offline' or 'llm:<model>' — who produced it.")
    def results_used_by(self, idea: Idea) -> list[ReportedResult]:
        """The cited results an idea builds on: those whose metric or dataset its hypothesis,
        rationale or plan names (the review board's and the report's "Builds on" line)."""
        plan = idea.plan
        text = " ".join([idea.hypothesis, idea.rationale, plan.objective, plan.method,
                         *plan.metrics, *plan.datasets]).lower()

        def named(name: str) -> bool:
            return bool(name.strip()) and re.search(
                rf"(?<!\w){re.escape(name.strip().lower())}(?!\w)", text) is not None

        return [r for r in self.reported_results if named(r.metric) or named(r.dataset)]

    unsupported: list[UnsupportedClaim] = Field(
        default_factory=list,
        description="Results and datasets an LLM named that the paper's text does not contain; "
                    "no prompt sees them.")


class ExperimentPlan(BaseModel):
    """A concrete plan to test one hypothesis."""

    objective: str
    method: str
    datasets: list[str] = Field(default_factory=list)
    baselines: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    task: str = Field(default="", description="The experiment task the plan was fitted to.")
    task_mapping: str = Field(default="", description="How the idea maps onto that task.")
    applies_to_task: bool | None = Field(default=None, description="None when no task was given.")
    closest_variant: str = Field(default="", description="When it cannot apply: what to test.")


class Review(BaseModel):
    """A review of one idea: 1-5 scores with one-line justifications, novelty and the overall rank score."""

    scores: dict[str, int] = Field(default_factory=dict)
    justifications: dict[str, str] = Field(default_factory=dict)
    novelty: float = 0.0
    overall: float = 0.0
    heuristic: bool = Field(default=False, description="True when scored by the offline heuristics.")
    reviewer: str = ""


class Idea(BaseModel):
    """A hypothesis with its experiment plan, review and the researcher's decision."""

    id: str
    title: str
    hypothesis: str
    rationale: str = ""
    plan: ExperimentPlan
    strategy: str | None = Field(default=None, description="Offline catalog strategy key, if any.")
    review: Review | None = None
    status: Literal["pending", "accepted", "rejected"] = "pending"
    comment: str = ""
    engine: str = ""
