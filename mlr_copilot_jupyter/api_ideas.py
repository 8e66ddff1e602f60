"""The IdeaAgent part of :class:`~mlr_copilot_jupyter.api.Copilot`: paper -> problem -> related
works -> ideas -> review, and the researcher's decisions and edits. Every state write saves the
state file at once (under ``state_lock``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .llm.base import usage_scope
from .models import Idea, Paper, RelatedWork, ResearchProblem
from .options_spec import IDEAS_N

if TYPE_CHECKING:
    import threading

    from .ideas.bench_ideas import IdeaScore
    from .llm import Backend, UsageMeter
    from .state import ResearchState


class IdeaAgentMethods:
    """Mixed into ``Copilot``, which provides the backend, usage meter and research state."""

    if TYPE_CHECKING:
        usage: UsageMeter
        warnings: list[str]
        state_lock: threading.RLock

        @property
        def backend(self) -> Backend: ...

        @property
        def state(self) -> ResearchState: ...

        def save_state(self) -> Path: ...

    # -- IdeaAgent -------------------------------------------------------------------------
    def read_paper(self, source: str | os.PathLike[str], **kwargs: Any) -> Paper:
        """Load a paper (PDF, .txt/.md, raw text, arXiv id or URL); starts a new research line."""
        from .papers import load_paper

        paper = load_paper(source, **kwargs)
        state = self.state
        state.paper, state.problem, state.related_works, state.ideas = paper, None, [], []
        self.save_state()
        return paper

    def _paper(self, paper: Paper | None) -> Paper:
        paper = paper or self.state.paper
        if paper is None:
            raise InputError("no paper loaded", hint="run %mlr_paper SOURCE (or read_paper) first")
        return paper

    def extract_problem(self, paper: Paper | None = None) -> ResearchProblem:
        """The paper's research problem (LLM when configured, else the offline heuristics)."""
        from .ideas.problem import extract_problem

        with usage_scope(self.usage):
            problem = extract_problem(self._paper(paper), self.backend)
        problem.related_works = list(self.state.related_works)
        self.state.problem = problem
        self.save_state()
        return problem

    def _problem(self, problem: ResearchProblem | None) -> ResearchProblem:
        if problem is not None:
            return problem
        if self.state.problem is None:
            self.extract_problem()
        assert self.state.problem is not None
        return self.state.problem

    def find_related(
        self,
        corpus: str | os.PathLike[str] | None = None,
        *,
        semantic_scholar: bool = False,
        limit: int = 8,
    ) -> list[RelatedWork]:
        """Related works from a local corpus (BibTeX / JSONL) and/or Semantic Scholar."""
        from .papers.related import LocalCorpusSource, SemanticScholarSource, find_related

        sources: list[Any] = []
        if corpus is not None:
            sources.append(LocalCorpusSource(corpus))
        if semantic_scholar:
            sources.append(SemanticScholarSource())
        if not sources:
            return list(self.state.related_works)
        problem = self._problem(None)
        query = " ".join([*problem.keywords, problem.task_definition])  # keywords survive clipping
        works, warnings = find_related(query, sources, limit=limit)
        self.warnings.extend(warnings)
        self.state.related_works = works
        problem.related_works = works
        self.save_state()
        return works

    def related_by_default(self, limit: int = 8) -> list[RelatedWork]:
        """Related works from Semantic Scholar (cached on disk) when none were given.

        Skipped when ``MLR_COPILOT_SEMANTIC_SCHOLAR=off`` or the state already holds related
        works; when the service is unreachable one line goes to :attr:`warnings` and the ideas
        are generated without related works.
        """
        from .papers.related import find_related
        from .papers.related_default import CachedSemanticScholar, enabled

        if self.state.related_works or not enabled():
            return list(self.state.related_works)
        problem = self._problem(None)
        query = " ".join([*problem.keywords, problem.task_definition])
        works, warnings = find_related(query, [CachedSemanticScholar()], limit=limit)
        self.warnings.extend(f"related works: {w}; ideas are generated without related works "
                             "(no related works were available)" for w in warnings[:1])
        self.state.related_works = works
        problem.related_works = works
        self.save_state()
        return works

    def generate_ideas(self, n: int = 5, *, problem: ResearchProblem | None = None,
                       keep_existing: bool = False,
                       task: str | os.PathLike[str] | None = None) -> list[Idea]:
        """Generate ``n`` hypotheses with experiment plans (concurrently with an LLM).

        With ``task`` (a task folder, ``task.toml`` or bundled name) every plan is fitted to that
        task: its data files, metric and direction, budget, and how the idea maps onto it.
        """
        from .ideas.generate import generate_ideas
        from .ideas.grounding import TaskBrief

        IDEAS_N.check(n)  # -n's one range (options_spec), as on the CLI, magics and MCP
        brief = None
        if task is not None:
            from .experiment.task import load_task

            brief = TaskBrief.from_task(load_task(os.fspath(task)))
        problem = self._problem(problem)
        existing = self.state.ideas if keep_existing else []
        with usage_scope(self.usage):
            ideas = generate_ideas(problem, self.backend, n, related=self.state.related_works,
                                   paper=self.state.paper, existing=existing, task=brief)
        self.state.ideas = [*existing, *ideas]
        self.save_state()
        return ideas

    def review_ideas(self, ideas: Sequence[Idea] | None = None) -> list[Idea]:
        """Score the ideas (LLM judge or offline heuristics) and rank them, best first."""
        from .ideas.review import review_ideas

        targets = list(ideas) if ideas is not None else list(self.state.ideas)
        if not targets:
            raise InputError("no ideas to review", hint="run %mlr_idea (generate_ideas) first")
        with usage_scope(self.usage):
            ranked = review_ideas(targets, self._problem(None), self.backend,
                                  paper=self.state.paper, related=self.state.related_works)
        if {i.id for i in targets} == {i.id for i in self.state.ideas}:
            self.state.ideas = ranked  # the board shows the ranking
        else:  # a subset (e.g. %mlr_idea --more): update those, keep the researcher's order
            by_id = {i.id: i for i in ranked}
            self.state.ideas = [by_id.get(i.id, i) for i in self.state.ideas]
        self.save_state()
        return ranked

    def decide(self, idea_id: str, action: str, comment: str = "") -> Idea:
        """Accept, reject or reset an idea (as the review board does) and save the state."""
        with self.state_lock:
            idea = self.state.decide(idea_id, action, comment)
            self.save_state()
        return idea

    def apply_review(self, *, accept: str | None = None, reject: str | None = None,
                     comment: str = "") -> list[Idea]:
        """The decisions of ``%mlr_review`` / ``mlr-copilot review`` without a click: accept an
        idea (``"top"``: :meth:`top_idea`) and/or reject one, with ``comment``; saved at once."""
        if accept is None and reject is None:
            raise InputError("--comment goes with --accept ID or --reject ID" if comment
                             else "nothing to decide", hint="use --accept ID|top or --reject ID")
        if accept == "top":
            accept = self.top_idea().id
        if accept is not None and accept == reject:
            raise InputError(f"idea {accept} cannot be both accepted and rejected")
        for idea_id in (accept, reject):  # an unknown id fails before anything is saved
            if idea_id is not None:
                self.state.idea(idea_id)
        decided = [self.decide(idea_id, action, comment)
                   for idea_id, action in ((accept, "accept"), (reject, "reject")) if idea_id]
        return decided

    def top_idea(self) -> Idea:
        """The best-ranked idea that applies to the task as stated (else the best one)."""
        if not self.state.ideas:
            raise InputError("no ideas to decide on", hint="run %mlr_idea (generate_ideas) first")
        ideas = self.state.ranked()
        return next((i for i in ideas if i.plan.applies_to_task is not False), ideas[0])

    def edit_idea(self, idea_id: str, **fields: Any) -> Idea:
        """Change an idea's text fields (title, hypothesis, plan fields) and save the state."""
        with self.state_lock:
            idea = self.state.edit(idea_id, **fields)
            self.save_state()
        return idea

    def move_idea(self, idea_id: str, offset: int) -> None:
        """Move an idea up (negative) or down (positive) in the list and save the state."""
        with self.state_lock:
            self.state.move(idea_id, offset)
            self.save_state()

    def record_run_request(self, idea_ids: Sequence[str], comment: str) -> None:
        """Remember that experiments were requested for these ideas (a "run" decision each)."""
        from .state import Decision

        with self.state_lock:
            self.state.decisions.extend(Decision(idea_id=i, action="run", comment=comment)
                                        for i in idea_ids)
            self.save_state()

    def set_problem(self, problem: ResearchProblem) -> ResearchProblem:
        """Replace the research problem (e.g. the researcher's edit) and save the state."""
        with self.state_lock:
            self.state.problem = problem
            self.save_state()
        return problem

    # -- benchmark of the IdeaAgent ----------------------------------------------------------
    def bench_ideas(self, sources: Sequence[str | os.PathLike[str]], n: int = 5, *,
                    related_corpus: str | os.PathLike[str] | None = None,
                    semantic_scholar: bool = True) -> list[IdeaScore]:
        """Ideas for each paper with the full pipeline and from the paper's core alone, each
        scored by the judge (:mod:`~mlr_copilot_jupyter.ideas.bench_ideas`). The full arm's
        related works come from the local corpus ``related_corpus`` when given, else from
        Semantic Scholar for each paper (cached on disk, as ``ideas`` does; off with
        ``semantic_scholar=False`` or ``MLR_COPILOT_SEMANTIC_SCHOLAR=off``; unreachable, one
        line in :attr:`warnings` and the full arm goes without)."""
        from .ideas.bench_ideas import bench_papers
        from .papers import load_paper
        from .papers.related import find_related

        papers = [load_paper(p) for p in sources]
        related: list[RelatedWork] = []
        if related_corpus:
            from .papers.related import LocalCorpusSource

            query = " ".join(f"{p.title} {p.abstract}" for p in papers)
            related, _ = find_related(query, [LocalCorpusSource(related_corpus)])
            return bench_papers(papers, self.backend, n, related)
        from .papers.related_default import CachedSemanticScholar, enabled

        if not (semantic_scholar and enabled()):
            return bench_papers(papers, self.backend, n)
        told: list[str] = []

        def from_semantic_scholar(paper: Paper) -> list[RelatedWork]:
            works, warnings = find_related(f"{paper.title} {paper.abstract}"[:500],
                                           [CachedSemanticScholar()])
            if warnings and not told:  # one line, not one per paper
                told.append(warnings[0])
                self.warnings.append(f"related works: {warnings[0]}; the full arm goes without "
                                     "related works")
            return works

        return bench_papers(papers, self.backend, n, related_of=from_semantic_scholar)

