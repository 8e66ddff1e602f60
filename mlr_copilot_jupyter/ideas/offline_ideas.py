"""The offline engine's idea generation: catalog strategies matched to a research problem.

No language model is involved. The problem's domain is detected with a small lexicon, catalog
strategies are ranked by TF-IDF similarity to the problem (boosted when they apply to its domain),
a diverse subset is chosen across strategy families, and each strategy's templates are filled with
the problem's own task phrase, keywords, gaps, datasets, metrics and method name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ..llm.base import Message
from ..llm.solvers import expect_inputs, register_solver
from ..models import ExperimentPlan, Idea, Paper, RelatedWork, ResearchProblem
from .catalog import CATALOG, Strategy
from .generate import CatalogIdeas, DirectionsDraft, IdeaRequest
from .phrases import (
    first_reading_well,
    head_phrases,
    lower_first,
    proposed_objects,
    reads_well,
    usable_keywords,
)
from .task_fit import fit_to_task
from .text import english_stop_words
from .vocab import DOMAIN_TERMS, count_domain_terms, dataset_domains, find_datasets, find_metrics

DOMAIN_BOOST = 0.25  # strategy made for one of the paper's domains
GENERAL_BOOST = 0.10  # strategy that applies to any domain
MISMATCH_PENALTY = 1.0  # strategy for other domains only: ranked after everything that fits
RELATED_PENALTY = 0.15  # times the similarity to the closest related work: a nudge to novelty
DEFAULT_DATASET = "the paper's benchmark"
DEFAULT_METRIC = "the paper's main metric"
DEFAULT_BASELINE = "the paper's proposed method"

_CUES = (
    r"\b(?:task|problem) of\s+",
    r"\b(?:we|paper|work|study)\s+(?:study|studies|address(?:es)?|tackles?|considers?|"
    r"investigates?|focus(?:es)? on|explores?)\s+(?:the\s+(?:task|problem)\s+of\s+)?",
    r"\b(?:goal|aim|objective|task) is to\s+",
    r"\baims? to\s+",
)
_CLAUSE_END = re.compile(
    r"[.;:,()\n]|\s(?:which|where|that|because|while|so that|by|using|via|in order|such as)\s"
)
_VERBS = frozenset("predict classify translate detect generate estimate improve learn recognize "
                   "recognise segment forecast identify answer summarize summarise rank recommend "
                   "solve reduce build model train".split())
_TRAILING = frozenset("a an the of for to in on with and or by from as at is are".split())
_NAME_CUE = re.compile(r"\b(?:called|named|dubbed|termed)\s+([A-Z][\w-]*)")
_PROPOSE = re.compile(r"\b(?:we|paper)\s+(?:propose|present|introduce)s?\b", re.IGNORECASE)
_OUR_METHOD = re.compile(r"\b(?:our|this)\s+(?:method|approach|model|framework|system)\b", re.I)
_PROPOSED_NAME = re.compile(r"\b(?:propose|present|introduce)s?\s+([A-Z][a-z]*[A-Z0-9][\w-]*)")
# An acronym counts as a name only after Title-Case words: "Low-Rank Adaptation (LoRA)", not
# "neural machine translation (NMT)".
_ACRONYM = re.compile(r"(?:[A-Z][\w-]*\s+){1,5}\(([A-Z][A-Za-z0-9-]*[A-Z0-9][A-Za-z0-9-]*)\)")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ities", "ity", "ness", "ers", "er", "ies", "es",
             "ed", "s", "e")


def _stem(token: str) -> str:
    for suffix in _SUFFIXES:
        if len(token) - len(suffix) >= 4 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def _analyze(text: str) -> list[str]:
    """Lower-cased, crudely stemmed unigrams and bigrams without stop words."""
    stop = english_stop_words()
    words = [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in stop]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _strategy_doc(s: Strategy) -> str:
    return " ".join((s.title, " ".join(s.keywords), re.sub(r"\{\w+\}", " ", s.hypothesis)))


def _sentence_case(text: str) -> str:
    """Lower-case the first letter unless it starts an acronym or a name like "LoRA"."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _trim(text: str, max_words: int) -> str:
    words = text.split()[:max_words]
    while words and words[-1].lower() in _TRAILING:
        words.pop()
    return " ".join(words).strip(" -")


def task_phrase(task_definition: str, keywords: Sequence[str] = (), *, title: str = "",
                abstract: str = "") -> str:
    """A short (<= 12 words) noun or gerund phrase naming the task in the paper's own terms.

    Tried in order, the first that reads as a clean noun phrase wins: the phrase after a task
    cue ("we study ..."), a task-head phrase of the task definition ("... classification"), what
    "we propose ... for X" names, task-head phrases of the keywords and title, a keyword, the
    title after its colon.
    """
    cue = _cue_phrase(task_definition, keywords)
    head, _, tail = title.partition(":")
    chosen = first_reading_well([
        cue, *head_phrases(task_definition), *proposed_objects(f"{task_definition} {abstract}"),
        *(h for k in keywords for h in head_phrases(k)), *head_phrases(title),
        *usable_keywords(keywords), *head_phrases(abstract), tail.strip() if tail else "",
    ])
    if chosen:
        return chosen if chosen == cue else lower_first(_trim(chosen, 12))
    return cue if reads_well(cue) else "the paper's task"


def _cue_phrase(task_definition: str, keywords: Sequence[str] = ()) -> str:
    """The phrase after a task cue in the task definition (may not read well: checked later)."""
    text = " ".join(task_definition.split())
    for cue in _CUES:
        match = re.search(cue, text, re.IGNORECASE)
        if match:
            rest = text[match.end():]
            # "we study how much of the gap ..." asks a question: its subject names the task
            rest = re.sub(r"^(?:how\s+(?:much|many|well|far|often)\s+(?:of\s+)?|whether\s+|"
                          r"why\s+|what\s+|which\s+|when\s+)", "", rest, flags=re.I)
            phrase = _trim(_CLAUSE_END.split(rest)[0], 12)
            if len(phrase.split()) >= 2:
                return _gerund(_sentence_case(re.sub(r"^(?:the|a|an)\s+", "", phrase, flags=re.I)))
    clauses = [c for c in re.split(r"[.;:,\n]", text) if c.strip()] or [text]
    keys = {_stem(w) for k in keywords for w in re.findall(r"[a-z0-9]+", k.lower())}
    best = max(clauses, key=lambda c: sum(_stem(w) in keys for w in re.findall(r"[a-z0-9]+",
                                                                           c.lower())))
    phrase = _trim(_CLAUSE_END.split(best + " ")[0], 12) or _trim(best, 12)
    return _gerund(_sentence_case(phrase)) or "the task"


def _short_task(task: str, max_words: int = 8) -> str:
    """``task`` cut before a preposition so that it fits a title ("x with y on z" -> "x with y")."""
    words = task.split()
    if len(words) <= max_words:
        return task
    cuts = [k for k in range(2, max_words + 1) if words[k].lower() in _TRAILING]
    return _trim(" ".join(words[: cuts[-1]] if cuts else words[:max_words]), max_words)


def _gerund(phrase: str) -> str:
    first, _, rest = phrase.partition(" ")
    if first.lower() not in _VERBS:
        return phrase
    stem = first.lower()
    if stem.endswith("e") and not stem.endswith("ee"):
        stem = stem[:-1]
    return f"{stem}ing {rest}".strip()


def detect_domains(problem: ResearchProblem, paper: Paper | None = None) -> list[str]:
    """Domains of the problem (vision, nlp, llm, tabular, graph, rl, speech), strongest first."""
    problem_text = " ".join([problem.task_definition, *problem.research_gaps, *problem.keywords])
    head = ""
    if paper is not None:
        intro = paper.sections.get("introduction", "")
        head = " ".join((paper.title, paper.abstract, intro or paper.text[:6000]))
    scores = count_domain_terms(problem_text, weight=3) + count_domain_terms(head)
    for domain in set(dataset_domains(find_datasets(problem_text + " " + head))):
        scores[domain] += 2
    top = max(scores.values(), default=0)
    chosen = [d for d in DOMAIN_TERMS if scores[d] >= max(2, 0.5 * top)]
    return sorted(chosen, key=lambda d: -scores[d])


def detect_method_name(problem: ResearchProblem, paper: Paper | None = None) -> str | None:
    """The name of the paper's proposed method, when the text names it (e.g. "called X")."""
    title = paper.title if paper else ""
    head, sep, _ = title.partition(":")
    if sep and len(head.split()) == 1 and re.fullmatch(r"[A-Z][\w-]*[A-Z0-9][\w-]*", head.strip()):
        return head.strip()
    abstract = (paper.abstract or paper.text[:3000]) if paper else ""
    for sentence in re.split(r"(?<=[.!?])\s+", f"{problem.task_definition} {abstract}"):
        if _PROPOSE.search(sentence) or _OUR_METHOD.search(sentence):
            match = (_NAME_CUE.search(sentence) or _PROPOSED_NAME.search(sentence)
                     or _ACRONYM.search(sentence))
            if match:
                return match.group(1).rstrip("-.,")
    return None


def _paper_text(problem: ResearchProblem, paper: Paper | None) -> str:
    parts = [problem.task_definition, *problem.research_gaps, problem.rationale]
    if paper is not None:
        parts += [paper.title, paper.abstract, paper.text or " ".join(paper.sections.values())]
    return "\n".join(parts)


def _pick(candidates: Sequence[str], sims: np.ndarray, used: Counter[str], penalty: float) -> int:
    """Index of the candidate most similar to a strategy, discounting those already used."""
    scores = [sims[i] - penalty * used[c] for i, c in enumerate(candidates)]
    return max(range(len(candidates)), key=lambda i: (scores[i], -i))


class _FillValues(dict[str, str]):
    """Template values; an unknown placeholder becomes a neutral phrase, never a raw brace."""

    def __missing__(self, key: str) -> str:
        return "the problem"


def offline_ideas(
    problem: ResearchProblem,
    paper: Paper | None = None,
    n: int = 5,
    *,
    related: Sequence[RelatedWork] = (),
    exclude: Iterable[str] = frozenset(),
    start: int = 1,
) -> list[Idea]:
    """Generate up to ``n`` distinct ideas for ``problem`` from the strategy catalog, no LLM.

    ``related`` (default: ``problem.related_works``) slightly demotes strategies a related work
    already covers and is cited in the rationale of the idea it is closest to. ``exclude`` holds
    strategy keys already used (for "generate more"); ids run from ``idea-{start}``. The output
    is deterministic for the same input.
    """
    excluded = set(exclude)
    pool = [s for s in CATALOG if s.key not in excluded]
    if n <= 0 or not pool:
        return []
    related = list(related) or list(problem.related_works)
    keywords = [k for k in problem.keywords if k.strip()]
    fill_keywords = usable_keywords(keywords) or keywords
    gaps = [g.strip().rstrip(".") for g in problem.research_gaps if g.strip()]
    query = " ".join([problem.task_definition, *gaps, *keywords, *keywords])
    docs = [_strategy_doc(s) for s in pool]
    rel_docs = [f"{r.title} {r.abstract}" for r in related]
    from sklearn.feature_extraction.text import TfidfVectorizer  # not at import: ideas/text.py

    vectorizer = TfidfVectorizer(analyzer=_analyze, sublinear_tf=True)
    matrix = vectorizer.fit_transform(docs + [query] + keywords + gaps + rel_docs)
    strat_m = matrix[: len(pool)]
    offset = len(pool) + 1
    sim_query = (strat_m @ matrix[len(pool)].T).toarray().ravel()
    sim_kw = (matrix[offset: offset + len(keywords)] @ strat_m.T).toarray()
    offset += len(keywords)
    sim_gap = (matrix[offset: offset + len(gaps)] @ strat_m.T).toarray()
    sim_rel = (matrix[offset + len(gaps):] @ strat_m.T).toarray()

    domains = detect_domains(problem, paper)
    fitting = set(domains) | ({"nlp"} if "llm" in domains else set())
    scores = []
    for i, s in enumerate(pool):
        if fitting & set(s.applies_to):
            boost = DOMAIN_BOOST
        elif "general" in s.applies_to:
            boost = GENERAL_BOOST
        else:
            boost = -MISMATCH_PENALTY if domains else 0.0
        closest = float(sim_rel[:, i].max()) if len(related) else 0.0
        scores.append(sim_query[i] + boost - RELATED_PENALTY * closest)
    ranked = sorted(range(len(pool)), key=lambda i: (-scores[i], i))
    chosen = _diversify(ranked, [s.family for s in pool], n)

    text = _paper_text(problem, paper)
    datasets, metrics = find_datasets(text)[:3], find_metrics(text)[:3]
    task = task_phrase(problem.task_definition, keywords,
                       title=paper.title if paper else "", abstract=paper.abstract if paper else "")
    baseline = detect_method_name(problem, paper) or DEFAULT_BASELINE
    used_kw: Counter[str] = Counter()
    used_gap: Counter[str] = Counter()
    ideas = []
    for number, i in enumerate(chosen, start=start):
        s = pool[i]
        keyword = task
        if keywords:
            usable = np.array([k in fill_keywords for k in keywords])
            keyword = keywords[_pick(keywords, np.where(usable, sim_kw[:, i], -9.0), used_kw,
                                     0.05)]
            used_kw[keyword] += 1
        gap = f"it is untested how far current methods for {task} can be pushed"
        if gaps:
            gap = gaps[_pick(gaps, sim_gap[:, i], used_gap, 0.1)]
            used_gap[gap] += 1
            gap = _sentence_case(gap)
        values = _FillValues(task=task, keyword=keyword, gap=gap, baseline=baseline,
                             dataset=datasets[0] if datasets else DEFAULT_DATASET,
                             metric=metrics[0] if metrics else DEFAULT_METRIC)
        rationale = s.rationale.format_map(values)
        if len(related) and sim_rel[:, i].max() >= 0.08:
            work = related[int(sim_rel[:, i].argmax())]
            year = f" ({work.year})" if work.year else ""
            rationale += f" Closest related work: \u201c{work.title}\u201d{year}."
        title_task = _short_task(task)
        ideas.append(Idea(
            id=f"idea-{number}",
            title=f"{s.title} for {title_task}",
            hypothesis=s.hypothesis.format_map(values),
            rationale=rationale,
            plan=ExperimentPlan(
                objective=f"Test whether applying {_sentence_case(s.title)} to {task} improves "
                          f"{values['metric']} over {baseline} on {values['dataset']}.",
                method=s.method.format_map(values),
                datasets=datasets or [DEFAULT_DATASET],
                baselines=[baseline],
                metrics=list(dict.fromkeys([*(metrics or [DEFAULT_METRIC]), *s.metrics])),
                steps=[step.format_map(values) for step in s.steps],
                risks=[risk.format_map(values) for risk in s.risks],
            ),
            strategy=s.key,
            engine="offline",
        ))
    return ideas


def _diversify(ranked: Sequence[int], families: Sequence[str], n: int) -> list[int]:
    """Pick ``n`` of ``ranked`` in order, repeating a family only once every family in the top
    list (the best ``2n``) has been used as often."""
    top_families = {families[i] for i in ranked[: 2 * n]}
    chosen: list[int] = []
    used: Counter[str] = Counter()
    while len(chosen) < min(n, len(ranked)):
        level = min(used[f] for f in top_families)
        pick = next((i for i in ranked if i not in chosen and used[families[i]] <= level),
                    next(i for i in ranked if i not in chosen))
        chosen.append(pick)
        used[families[pick]] += 1
    return chosen


def _solve_directions(messages: list[Message], inputs: object) -> CatalogIdeas:
    """Offline solver for the "directions" call: the catalog's ideas, fitted to the task."""
    request = expect_inputs(inputs, IdeaRequest, "directions")
    used = {i.strategy for i in request.existing if i.strategy}
    ideas = offline_ideas(request.problem, request.paper, request.n, related=list(request.related),
                          exclude=used)
    if request.task is not None:
        ideas = [fit_to_task(i, request.task) for i in ideas]
    return CatalogIdeas(directions=[i.title for i in ideas], ideas=ideas)


register_solver(DirectionsDraft, _solve_directions)
