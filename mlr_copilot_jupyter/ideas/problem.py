"""Problem extraction: a paper becomes a :class:`ResearchProblem`.

The LLM path asks for the task definition, research gaps, keywords and rationale as structured
output. The offline path uses section structure, cue sentences and TF-IDF keyphrases; it labels
its result ``engine="offline"`` and says in the rationale how each field was found.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from ..aio import run_sync
from ..errors import InputError
from ..llm.base import Backend, Message, Reply
from ..llm.budget import time_left
from ..llm.prompts import SYSTEM_RESEARCHER, compile_prompt_to_md
from ..llm.schema import text as text_bound
from ..llm.schema import texts
from ..llm.solvers import expect_inputs, register_solver
from ..models import Paper, ReportedResult, ResearchProblem
from .citations import PaperText, check_names, check_results
from .results import limitations, method_summary, reported_results
from .text import clip, keyphrases, sentences
from .vocab import find_datasets

log = logging.getLogger("mlr_copilot")  # the CLI shows its warnings as one line each

TASK_CUES = (
    r"\bwe (propose|present|introduce|study|investigate|address|tackle|consider|develop|explore)\b",
    r"\bthis (paper|work|study)\b",
    r"\b(in this paper|here), we\b",
    r"\bthe (task|problem) of\b",
    r"\b(aims?|goal) (to|is)\b",
    r"\bour (method|approach|framework|model)\b",
)
GAP_CUES = (
    r"\bhowever\b", r"\bremains?\b", r"\black(s|ing)?\b", r"\blimited\b", r"\blimitations?\b",
    r"\bchalleng(e|es|ing)\b", r"\bunexplored\b", r"\bunder-?explored\b", r"\bfails? to\b",
    r"\bnot yet\b", r"\bopen (problem|question)s?\b", r"\bsuffers?\b", r"\bfuture work\b",
    r"\bdifficult\b", r"\bcostly\b", r"\bexpensive\b", r"\binsufficient\b", r"\bunclear\b",
    r"\bbottleneck\b", r"\bdrawbacks?\b", r"\bcannot\b", r"\bstruggle\b", r"\bgap\b",
    r"\bshortcomings?\b", r"\bignore[sd]?\b", r"\brely on\b", r"\bscarce\b",
)
GAP_SECTIONS = ("introduction", "related_work", "background", "limitations", "discussion",
                "conclusion", "abstract", "body")
_TASK_RE = [re.compile(p, re.I) for p in TASK_CUES]
_GAP_RE = [re.compile(p, re.I) for p in GAP_CUES]


class ResultDraft(BaseModel):
    """A reported result as the LLM is asked for it: the number and the quote that states it."""

    metric: str = Field(json_schema_extra=text_bound(60))
    dataset: str = Field(default="", json_schema_extra=text_bound(100))
    value: str = Field(description="As written in the paper, e.g. '7.4%' or '28.4'.",
                       json_schema_extra=text_bound(40))
    setting: str = Field(default="", description="Method or condition.",
                         json_schema_extra=text_bound(160))
    quote: str = Field(default="", description="The sentence or table row of the paper that "
                                               "states the number, copied exactly.",
                       json_schema_extra=text_bound(300))

    def result(self) -> ReportedResult:
        return ReportedResult(metric=self.metric.strip(), dataset=self.dataset.strip(),
                              value=self.value.strip(), setting=self.setting.strip(),
                              quote=self.quote.strip())


class ProblemDraft(BaseModel):
    """What the LLM is asked to return (the rest of ResearchProblem is filled in by us).

    Every field's bound in the schema follows its description (one sentence is ~300 characters):
    a server that enforces the schema by grammar then ends each field of a looping small model
    where a careful answer would end (issue 26), instead of at the output cap."""

    task_definition: str = Field(description="The research task the paper addresses, 1-3 sentences.",
                                 json_schema_extra=text_bound(600))
    research_gaps: list[str] = Field(description="Limitations or open questions, one sentence each.",
                                     json_schema_extra=texts(6, 300))
    keywords: list[str] = Field(description="5-10 key terms as they appear in the paper.",
                                json_schema_extra=texts(10, 60))
    rationale: str = Field(description="Why these gaps matter and how they follow from the paper.",
                           json_schema_extra=text_bound(900))
    method_summary: str = Field(default="", description="What the paper proposes, 2-4 sentences.",
                                json_schema_extra=text_bound(900))
    datasets: list[str] = Field(default_factory=list, description="Datasets the paper uses.",
                                json_schema_extra=texts(8, 80))
    reported_results: list[ResultDraft] = Field(
        default_factory=list,
        description="Numbers the paper reports (metric, dataset, value as written, setting) "
                    "with the sentence or table row that states each, copied exactly; only "
                    "numbers stated in the text or its tables.",
        json_schema_extra={"maxItems": 6})
    limitations: list[str] = Field(default_factory=list,
                                   description="Limitations the paper states, one sentence each.",
                                   json_schema_extra=texts(6, 300))

    def to_problem(self, paper: Paper, reply: Reply[Any]) -> ResearchProblem:
        """The :class:`ResearchProblem` this answer states about ``paper``."""
        used = [k for k in ("abstract", "introduction", "related_work", "limitations", "conclusion")
                if paper.sections.get(k) or (k == "abstract" and paper.abstract)]
        # the paper's text must bear out every number and dataset (issue 27): the rest is kept
        # as unsupported, with the model's wording, and reaches no prompt
        text = PaperText(paper)
        results, unsupported = check_results(
            text, [r.result() for r in self.reported_results if r.metric.strip() and r.value.strip()])
        datasets, unnamed = check_names(text, _dedupe_keywords(self.datasets))
        unquoted = [u for u in unsupported if u.reason == "no quote from the paper"]
        if unquoted:
            log.warning("%d reported result(s) came without a quote from the paper and are "
                        "marked unsupported (not passed on as the paper's)", len(unquoted))
        return ResearchProblem(
            task_definition=self.task_definition.strip(),
            research_gaps=[g.strip() for g in self.research_gaps if g.strip()],
            keywords=_dedupe_keywords(self.keywords),
            rationale=self.rationale.strip(),
            source_sections=used,
            engine=f"llm:{reply.model}",
            method_summary=self.method_summary.strip(),
            datasets=datasets,
            reported_results=results,
            limitations=[x.strip() for x in self.limitations if x.strip()],
            unsupported=[*unsupported, *unnamed],
        )


class HeuristicProblem(ProblemDraft):
    """The offline engine's answer: the draft fields plus the heuristic's whole result."""

    problem: ResearchProblem

    def to_problem(self, paper: Paper, reply: Reply[Any]) -> ResearchProblem:
        return self.problem


def _solve_problem(messages: list[Message], inputs: object) -> HeuristicProblem:
    """Offline solver for the "problem" call: :func:`offline_problem` on the Paper given."""
    problem = offline_problem(expect_inputs(inputs, Paper, "problem"))
    fields = problem.model_dump(include=set(ProblemDraft.model_fields))
    return HeuristicProblem(**fields, problem=problem)


def _check(paper: Paper) -> None:
    if not paper.text.strip() and not paper.abstract.strip():
        raise InputError(f"paper {paper.source} has no text to extract a problem from")


# -- offline ---------------------------------------------------------------------------------
def _score_cues(sentence: str, patterns: Iterable[re.Pattern[str]]) -> int:
    return sum(1 for p in patterns if p.search(sentence))


#: Characters of a paper the offline heuristics read (a conference paper is ~60k); beyond this
#: a huge text would only cost time (TF-IDF over 50 MB takes about a minute).
MAX_ANALYSED_CHARS = 1_500_000


def _budgeted(sections: dict[str, str], budget: int = MAX_ANALYSED_CHARS) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, text in sections.items():
        if budget <= 0:
            break
        out[name] = text[:budget]
        budget -= len(out[name])
    return out


def offline_problem(paper: Paper, *, n_gaps: int = 4, n_keywords: int = 10) -> ResearchProblem:
    """Extract the research problem with section and cue-sentence heuristics (no LLM)."""
    _check(paper)
    sections = _budgeted(paper.sections or {"body": paper.text})
    abstract = paper.abstract or sections.get("abstract", "")
    intro = sections.get("introduction", "")
    used: list[str] = []

    # task definition: the abstract's (or intro's) sentences that state what the paper does
    task_sentences: list[str] = []
    for name, text in (("abstract", abstract), ("introduction", intro)):
        scored = [(s, _score_cues(s, _TASK_RE)) for s in sentences(text)]
        hits = [s for s, score in scored if score > 0]
        if hits:
            task_sentences = hits[:2]
            used.append(name)
            break
    if not task_sentences:
        fallback = abstract or intro or paper.text
        task_sentences = sentences(fallback)[:2]
        used.append("abstract" if abstract else "introduction" if intro else "body")
    task_definition = clip(" ".join(task_sentences), 600)

    # research gaps: cue sentences, weighted towards the sections that state limitations
    weights = {"limitations": 3, "introduction": 2, "discussion": 2, "conclusion": 2,
               "related_work": 1, "background": 1, "abstract": 1, "body": 1}
    candidates: list[tuple[float, int, str, str]] = []
    order = 0
    for name in GAP_SECTIONS:
        text = abstract if name == "abstract" else sections.get(name, "")
        for sentence in sentences(text):
            cues = _score_cues(sentence, _GAP_RE)
            words = len(sentence.split())
            if cues and 8 <= words <= 60 and sentence not in task_sentences:
                candidates.append((cues * weights.get(name, 1), -order, name, sentence))
            order += 1
    candidates.sort(reverse=True)
    gaps: list[str] = []
    seen: set[str] = set()
    for _, _, name, sentence in candidates:
        key = sentence.lower()[:60]
        if key in seen:
            continue
        seen.add(key)
        gaps.append(clip(sentence, 400))
        if name not in used:
            used.append(name)
        if len(gaps) >= n_gaps:
            break

    # keywords: TF-IDF keyphrases over the paper's paragraphs, title terms boosted
    body_sections = [t for k, t in sections.items() if k not in {"references", "appendix"}]
    keywords = keyphrases(body_sections or [paper.text[:MAX_ANALYSED_CHARS]],
                          boost=paper.title + " " + abstract,
                          top=n_keywords)
    rationale = (
        "Offline engine (no LLM): the task definition is the "
        f"{used[0] if used else 'abstract'} sentences that state what the paper does "
        "(cue phrases such as 'we propose', 'this paper'); the gaps are sentences with limitation "
        "cues ('however', 'remains', 'lack', 'limited', ...) weighted towards the introduction and "
        "limitations; keywords are TF-IDF keyphrases over the paper's paragraphs."
    )
    rationale += (" The method summary is the 'we propose' sentences and the method section's "
                  "opening; reported results are numbers stated next to a metric name in results "
                  "sentences or table rows.")
    if not gaps:
        rationale += " No sentence with a limitation cue was found, so no gap is listed."
    return ResearchProblem(
        task_definition=task_definition, research_gaps=gaps, keywords=keywords,
        rationale=rationale, source_sections=used, engine="offline",
        method_summary=method_summary(paper, sections),
        datasets=find_datasets(paper.text[:150_000] or abstract)[:6],
        reported_results=reported_results(paper, sections),
        limitations=limitations(sections, exclude=gaps),
    )


# -- LLM -------------------------------------------------------------------------------------
def problem_prompt(paper: Paper, budget: int = 14000) -> list[dict[str, str]]:
    """The extraction prompt: the paper's key sections, clipped to a character budget."""
    s = paper.sections
    parts = {
        "Title": paper.title or "(unknown)",
        "Abstract": clip(paper.abstract or s.get("abstract", ""), 2500),
        "Introduction": clip(s.get("introduction", ""), budget // 3),
        "Related work": clip(s.get("related_work", "") or s.get("background", ""), budget // 6),
        "Method": clip(s.get("method", ""), budget // 6),
        "Results": clip(s.get("results", "") or s.get("experiments", ""), budget // 5),
        "Limitations": clip(s.get("limitations", ""), budget // 8),
        "Conclusion": clip(s.get("conclusion", ""), budget // 8),
    }
    if not any(parts[k] for k in ("Abstract", "Introduction")):
        parts["Text"] = clip(paper.text, budget)
    user = compile_prompt_to_md({
        "Task": (
            "Extract the research problem of this paper, as MLR-Copilot's IdeaAgent does: the "
            "task definition, the research gaps (limitations of current work that a follow-up "
            "could address), 5-10 keywords that occur in the paper, a short rationale, a summary "
            "of the proposed method, the datasets used, the reported results (metric, dataset, "
            "value exactly as written, setting; never invent a number) and the limitations the "
            "paper states."
        ),
        "Paper": parts,
    })
    return [{"role": "system", "content": SYSTEM_RESEARCHER}, {"role": "user", "content": user}]


def llm_problem(paper: Paper, backend: Backend) -> ResearchProblem:
    """Extract the research problem through ``backend`` (structured output, validated).

    A language model reads the prompt; the offline engine answers from the Paper (``inputs``).
    """
    _check(paper)
    prompt = problem_prompt(paper)
    if time_left() is None:
        reply = backend.query(prompt, schema=ProblemDraft, label="problem", inputs=paper)
    else:  # a stage deadline (--deadline): the async call can be cut off there
        reply = run_sync(backend.aquery(prompt, schema=ProblemDraft, label="problem",
                                        inputs=paper))
    draft = reply.parsed
    assert draft is not None
    return draft.to_problem(paper, reply)


def _dedupe_keywords(words: Iterable[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        w = " ".join(w.split())
        if w and w.lower() not in {o.lower() for o in out}:
            out.append(w)
    return out


def extract_problem(paper: Paper, backend: Backend) -> ResearchProblem:
    """The research problem of ``paper``, from whichever engine ``backend`` is."""
    return llm_problem(paper, backend)


register_solver(ProblemDraft, _solve_problem)
