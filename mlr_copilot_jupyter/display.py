"""Rich displays: HTML in notebooks (``_repr_html_``), plain text in terminals (``__repr__``)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from .llm.registry import backends
from .models import REVIEW_CRITERIA, Idea, Paper, ResearchProblem

_CARD = ("border:1px solid var(--jp-border-color2,#ccc);border-radius:6px;padding:8px 12px;"
         "margin:6px 0")


def _esc(text: str) -> str:
    return html.escape(text or "")


def _ul(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in items) + "</ul>" if items else "<i>none</i>"


class ProblemCard:
    """A research problem with the paper it came from."""

    def __init__(self, problem: ResearchProblem, paper: Paper | None = None) -> None:
        self.problem = problem
        self.paper = paper

    def __repr__(self) -> str:
        p = self.problem
        lines = []
        if self.paper is not None:
            lines.append(f"Paper: {self.paper.title or self.paper.source}")
            if self.paper.text_layer_note():
                lines.append(self.paper.text_layer_note())
        lines += [f"Engine: {p.engine}", "", "Task definition:", f"  {p.task_definition}", "",
                  "Research gaps:"]
        lines += [f"  - {g}" for g in p.research_gaps] or ["  (none found)"]
        lines += ["", "Keywords: " + ", ".join(p.keywords)]
        if p.method_summary:
            lines += ["", "Method:", f"  {p.method_summary}"]
        if p.datasets:
            lines += ["", "Datasets: " + ", ".join(p.datasets)]
        if p.reported_results:
            lines += ["", "Reported results:"] + [f"  - {r}" for r in result_lines(p)]
        if p.unsupported:
            lines += ["", "Not in the paper's text (kept aside, used nowhere):"]
            lines += [f"  - {u.kind}: {u.text} — {u.reason}" for u in p.unsupported]
        if p.limitations:
            lines += ["", "Stated limitations:"] + [f"  - {x}" for x in p.limitations]
        if p.related_works:
            lines += ["", "Related works:"] + [
                f"  - {w.title}" + (f" ({w.year})" if w.year else "") + (f" {w.url}" if w.url else "")
                for w in p.related_works]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The card: every section of the problem, each collapsible (open by default), the
        reported results with page and quote, related works with their links."""
        p = self.problem
        title = _esc(self.paper.title or self.paper.source) if self.paper else "Research problem"
        engine = backends.engine_label(p.engine)  # the producing backend's own label

        def section(name: str, body: str, *, count: int | None = None, open_: bool = True) -> str:
            head = f"{name} ({count})" if count is not None else name
            return (f"<details class='mlr-section'{' open' if open_ else ''}>"
                    f"<summary><b>{_esc(head)}</b></summary>{body}</details>")

        related = "".join(  # links only to web pages (a corpus file could hold javascript:)
            "<li>" + (f"<a href='{_esc(w.url)}' target='_blank' rel='noopener'>{_esc(w.title)}</a>"
                      if w.url and w.url.startswith(("https://", "http://")) else _esc(w.title))
            + (f" ({w.year})" if w.year else "") + f" <small>{_esc(w.source)}</small></li>"
            for w in p.related_works)
        note = self.paper.text_layer_note() if self.paper else ""
        textless = (f"<div class='mlr-textless' style='color:#a15c00'>&#9888; {_esc(note)}</div>"
                    if note else "")
        parts = [
            section("Task definition", f"<p>{_esc(p.task_definition)}</p>"),
            section("Method", f"<p>{_esc(p.method_summary)}</p>") if p.method_summary else "",
            section("Datasets", _ul(p.datasets), count=len(p.datasets)) if p.datasets else "",
            section("Reported results", _ul(result_lines(p)), count=len(p.reported_results))
            if p.reported_results else "",
            section("Not in the paper's text (used nowhere)",
                    _ul([f"{u.kind}: {u.text} — {u.reason}" for u in p.unsupported]),
                    count=len(p.unsupported), open_=False) if p.unsupported else "",
            section("Research gaps", _ul(p.research_gaps), count=len(p.research_gaps)),
            section("Stated limitations", _ul(p.limitations), count=len(p.limitations))
            if p.limitations else "",
            section("Related works", f"<ul>{related}</ul>", count=len(p.related_works))
            if p.related_works else "",
            section("Keywords", f"<p>{_esc(', '.join(p.keywords))}</p>"),
            section("Rationale", f"<p>{_esc(p.rationale)}</p>", open_=False)
            if p.rationale else "",
        ]
        return (
            f"<div class='mlr-problem' style='{_CARD}'><h4 style='margin:4px 0'>{title}</h4>"
            f"<div style='color:gray;font-size:90%'>extracted by {_esc(engine)}; sections: "
            f"{_esc(', '.join(p.source_sections))}</div>" + textless + "".join(parts) + "</div>"
        )


def result_lines(problem: ResearchProblem) -> list[str]:
    """One line per reported result with its source: "WER on LibriSpeech: 7.4% (setting) —
    p. 6: “quote”"."""
    return [r.line(setting=True) for r in problem.reported_results]


def idea_text_block(idea: Idea, rank: int | None = None) -> str:
    """Plain-text rendering of one idea (CLI output)."""
    head = f"{rank}. " if rank is not None else ""
    lines = [f"{head}[{idea.id}] {idea.title}  ({idea.status})",
             f"   Hypothesis: {idea.hypothesis}"]
    plan = idea.plan
    lines.append(f"   Objective: {plan.objective}")
    if plan.task:
        fits = "applies" if plan.applies_to_task else "does not apply as stated"
        lines.append(f"   Task {plan.task} ({fits}): {plan.task_mapping}")
    if plan.metrics:
        lines.append(f"   Metrics: {', '.join(plan.metrics)}")
    for k, step in enumerate(plan.steps, 1):
        lines.append(f"   {k}) {step}")
    if idea.review is not None:
        r = idea.review
        scores = " ".join(f"{c}={r.scores.get(c, '?')}" for c in REVIEW_CRITERIA)
        label = " (heuristic)" if r.heuristic else ""
        lines.append(f"   Review{label}: {scores} novelty={r.novelty:.2f} overall={r.overall:.3f}")
    return "\n".join(lines)


def decision_line(idea: Idea) -> str:
    """One line per decision, the same from ``%mlr_review`` and ``mlr-copilot review``."""
    comment = f" ({idea.comment})" if idea.comment else ""
    return f"{idea.status} {idea.id}: {idea.title}{comment}"


class IdeaList:
    """Ideas ranked by review score."""

    def __init__(self, ideas: Sequence[Idea]) -> None:
        self.ideas = list(ideas)

    def __repr__(self) -> str:
        return "\n\n".join(idea_text_block(i, k) for k, i in enumerate(self.ideas, 1))

    def _repr_html_(self) -> str:
        parts = []
        for k, idea in enumerate(self.ideas, 1):
            p = idea.plan
            review = ""
            if idea.review is not None:
                r = idea.review
                cells = "".join(
                    f"<td title='{_esc(r.justifications.get(c, ''))}'>{c} {r.scores.get(c, '?')}</td>"
                    for c in REVIEW_CRITERIA)
                label = " (heuristic)" if r.heuristic else ""
                review = (f"<table><tr>{cells}<td>novelty {r.novelty:.2f}</td>"
                          f"<td><b>overall {r.overall:.3f}</b>{label}</td></tr></table>")
            steps = "<ol>" + "".join(f"<li>{_esc(s)}</li>" for s in p.steps) + "</ol>"
            parts.append(
                f"<div class='mlr-idea' style='{_CARD}'><b>{k}. {_esc(idea.title)}</b> "
                f"<code>{_esc(idea.id)}</code> <i>{_esc(idea.status)}</i>"
                f"<p><b>Hypothesis.</b> {_esc(idea.hypothesis)}</p>"
                f"<p><b>Objective.</b> {_esc(p.objective)} <b>Metrics.</b> "
                f"{_esc(', '.join(p.metrics))}</p>{steps}{review}</div>"
            )
        return "".join(parts)
