"""Small text utilities for the offline engine: sentences, clipping, TF-IDF keyphrases."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[“\"])")
_ABBREV_END = re.compile(r"\b(e\.g|i\.e|et al|etc|cf|vs|Fig|Eq|Sec|Tab|resp|approx)\.$", re.I)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z]")

# words that are frequent in any paper and say nothing about its topic
ACADEMIC_STOP = frozenset(
    """paper work propose proposed approach approaches method methods result results show shows
    shown table figure fig section et al use used using based new novel also however thus
    therefore furthermore moreover respectively different various given well first second third
    one two three many much several existing recent recently previous prior significantly
    significant state art like can may might could would via within without across among
    number set sets task tasks performance problem problems study studies good better best
    large small high low able way ways make makes made provide provides including include
    includes following follow follows experiment experiments experimental evaluation evaluate
    evaluated demonstrate demonstrates find found present presents introduce introduces
    consider considered particular particularly specific specifically general generally
    compared compare comparison achieve achieves achieved obtain obtained improve improves
    improved improvement improvements effective effectively important key main often order
    case cases time times example examples term terms type types allow allows known strong weak
    simple cheap fair standard typical common""".split()
)


# scikit-learn is imported where it is used, not with this module: the CLI, the MCP server and
# every worker process import the ideas package through the facade, and scikit-learn (with
# SciPy and pandas) costs about a second of CPU to import, which a run that reads no paper
# never needs.
@cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words (imported on first use)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@cache
def stop_words() -> frozenset[str]:
    """English and academic stop words: words that say nothing about a paper's topic."""
    return english_stop_words() | ACADEMIC_STOP


# fine inside a phrase ("gradient boosted trees"), too generic to be a keyword on their own
WEAK_UNIGRAMS = frozenset(
    """model models data dataset datasets training train learning network networks algorithm
    algorithms baseline baselines accuracy feature features score scores metric metrics value
    values loss losses parameters input output inputs outputs layer layers function functions
    report reports reported samples sample test testing split splits step steps""".split()
)


def sentences(text: str) -> list[str]:
    """Split text into sentences (keeps abbreviations such as 'e.g.' and 'et al.' intact)."""
    flat = " ".join(text.split())
    if not flat:
        return []
    pieces = _SENTENCE_SPLIT.split(flat)
    merged: list[str] = []
    for piece in pieces:
        if merged and _ABBREV_END.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return [s.strip() for s in merged if len(s.split()) >= 3]


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: max(0, limit - 1)].rsplit(" ", 1)[0]
    return cut + "…"


def _chunks(texts: Sequence[str], words_per_chunk: int = 120) -> list[str]:
    out: list[str] = []
    for text in texts:
        words = text.split()
        for start in range(0, len(words), words_per_chunk):
            out.append(" ".join(words[start : start + words_per_chunk]))
    return [c for c in out if c]


def _candidates(text: str, max_n: int = 3) -> list[str]:
    tokens = _TOKEN.findall(text)
    stop = stop_words()
    out = []
    for n in range(1, max_n + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i : i + n]
            low = [t.lower() for t in gram]
            if low[0] in stop or low[-1] in stop or any(len(t) < 2 for t in low):
                continue
            if n == 1 and (len(low[0]) < 3 or low[0] in WEAK_UNIGRAMS):
                continue
            out.append(" ".join(gram))
    return out


def keyphrases(texts: Sequence[str], *, boost: str = "", top: int = 10) -> list[str]:
    """The ``top`` keyphrases of a document given as several texts (sections, paragraphs).

    Candidates are contiguous 1-3 word phrases (so every keyphrase occurs in the text) not
    starting or ending with a stop word. Score: summed TF-IDF over ~120-word chunks (IDF across
    chunks rewards terms concentrated in parts of the paper), times a length bonus, doubled when
    the phrase is in ``boost`` (title, abstract). Sub-phrases of a chosen phrase are skipped.
    """
    chunks = _chunks(texts)
    if not chunks:
        return []
    surface: dict[str, Counter[str]] = defaultdict(Counter)

    def analyzer(doc: str) -> list[str]:
        grams = _candidates(doc)
        for g in grams:
            surface[g.lower()][g] += 1
        return [g.lower() for g in grams]

    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=1)
    try:
        matrix = vectorizer.fit_transform(chunks)
    except ValueError:  # nothing but stop words
        return []
    scores = matrix.sum(axis=0).A1
    vocab = vectorizer.get_feature_names_out()
    counts = Counter(g.lower() for c in chunks for g in _candidates(c))
    boost_low = " ".join(_TOKEN.findall(boost)).lower()
    ranked = []
    for phrase, score in zip(vocab, scores, strict=True):
        n = phrase.count(" ") + 1
        if n > 1 and counts[phrase] < 2:  # a multi-word phrase must recur to be a term
            continue
        bonus = 1.0 + 0.6 * (n - 1)
        if boost_low and re.search(rf"\b{re.escape(phrase)}\b", boost_low):
            bonus *= 2.0
        ranked.append((score * bonus, phrase))
    ranked.sort(reverse=True)
    chosen: list[str] = []
    stems: list[str] = []
    for _, phrase in ranked:
        stem = " ".join(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in phrase.split())
        if any(f" {stem} " in f" {c} " or f" {c} " in f" {stem} " for c in stems):
            continue
        chosen.append(phrase)
        stems.append(stem)
        if len(chosen) >= top:
            break
    return [surface[p].most_common(1)[0][0] if surface[p] else p for p in chosen]
