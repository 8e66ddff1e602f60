"""Noun phrases that name a paper's task in its own terms, for offline idea titles and hypotheses.

A phrase is used only if it reads as a noun phrase: no pronoun or finite verb ("we propose",
"which freezes", "remains"), no bare numbers or metric names ("4 BLEU"), and no dangling
preposition at either end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .text import english_stop_words
from .vocab import find_metrics

_NOT_IN_A_NAME = frozenset("""we our us i you they it its this these those which that who whom
whose is are was were be been being has have had do does did propose proposes proposed present
presents introduce introduces show shows shown achieve achieves achieved remain remains gap how
much many whether why what when where can could will would should may might must based solely
improving improves outperform outperforms reach reaches reaching obtain obtains via compare
compares evaluate evaluates study studies revisit revisiting train trains use uses apply applies
find finds report reports demonstrate demonstrates close closes pair pairs""".split())
_EDGE = frozenset("a an the of for to in on with and or by from as at into over under than "
                  "between within using".split())
#: Head nouns of task names ("few-shot image classification", "credit default prediction").
TASK_HEADS = ("prediction", "classification", "translation", "recognition", "detection",
              "segmentation", "generation", "learning", "regression", "forecasting", "modelling",
              "modeling", "retrieval", "summarization", "summarisation", "parsing", "adaptation",
              "reasoning", "answering", "estimation", "transduction", "tagging", "matching",
              "captioning", "synthesis", "clustering", "ranking", "recommendation", "control",
              "planning", "fine-tuning", "pre-training", "pretraining", "compression")
_GENERIC_HEADS = frozenset("approach method framework architecture model models technique "
                           "pipeline algorithm system paradigm variant".split())
_HEAD_RE = re.compile(r"(?<![\w-])((?:\w+-)?(?:" + "|".join(map(re.escape, TASK_HEADS))
                      + r"))\b", re.I)
_PURPOSE = frozenset("for of on to in".split())
_OBJECT_RE = re.compile(r"\b(?:we|this paper|this work)\s+(?:propose|present|introduce|develop)s?"
                        r"\s+(?:an?|the)?\s*([^,.;:()]+)", re.I)


def reads_well(phrase: str, max_words: int = 12) -> bool:
    """True when ``phrase`` can stand after "for" in a title: a clean noun phrase."""
    words = phrase.split()
    if not 1 <= len(words) <= max_words:
        return False
    low = [w.lower().strip(",;:") for w in words]
    if low[0] in _EDGE or low[-1] in _EDGE or low[-1] in _GENERIC_HEADS - {"models"}:
        return False
    if any(w in _NOT_IN_A_NAME for w in low) or any(re.fullmatch(r"[\d.,%]+", w) for w in low):
        return False
    return not find_metrics(phrase) and not re.search(r"[()\[\]{}]", phrase)


def head_phrases(text: str, max_left: int = 4) -> list[str]:
    """Noun phrases ending in a task head noun, e.g. "few-shot image classification"; those after
    "for", "of", "on", "to" or "in" (the task a method is for) first."""
    out: list[tuple[bool, int, str]] = []
    for m in _HEAD_RE.finditer(text):
        before = re.findall(r"[A-Za-z][\w-]*|[^\sA-Za-z]", text[: m.start()])
        left: list[str] = []
        preceding = ""
        stop = english_stop_words()
        for token in reversed(before):
            preceding = token.lower()
            if (len(left) >= max_left or not token[0].isalpha()
                    or token.lower() in stop or token.lower() in _NOT_IN_A_NAME):
                break
            left.insert(0, token)
        else:
            preceding = ""
        phrase = " ".join([*left, m.group(1)])
        if (left or "-" in m.group(1)) and reads_well(phrase):
            out.append((preceding not in _PURPOSE, m.start(), phrase))
    return [phrase for *_, phrase in sorted(out)]


def proposed_objects(text: str) -> list[str]:
    """What "we propose ..." names, reduced to its task: "a scalable approach for X" -> X."""
    out = []
    for m in _OBJECT_RE.finditer(text):
        obj = re.split(r"\s+(?:which|that|where|based|using|by|to)\s+", m.group(1))[0].strip()
        parts = re.split(r"\s+for\s+", obj, maxsplit=1)
        head = parts[0].split()[-1].lower() if parts[0].split() else ""
        candidate = parts[1] if len(parts) == 2 else ("" if head in _GENERIC_HEADS else obj)
        candidate = re.sub(r"^(?:new|novel|simple|scalable|efficient|an?|the)\s+", "", candidate,
                           flags=re.I)
        if candidate and reads_well(candidate):
            out.append(candidate)
    return out


def lower_first(phrase: str) -> str:
    """Lower-case the first letter unless the phrase is a name ("Low-Rank Adaptation", "BERT")."""
    words = phrase.split()
    if not words or any(w[:1].isupper() for w in words[1:]):
        return phrase
    first = words[0]
    if len(first) > 1 and first[0].isupper() and not any(c.isupper() for c in first[1:]):
        return first[0].lower() + phrase[1:]
    return phrase


def first_reading_well(candidates: Iterable[str]) -> str | None:
    for c in candidates:
        c = " ".join(c.split())
        if reads_well(c) and len(c.split()) >= 2:
            return c
    return None


def usable_keywords(keywords: Sequence[str]) -> list[str]:
    """Keywords that read as noun phrases (TF-IDF can return "globally shared")."""
    return [k for k in keywords if reads_well(k, 6) and not re.search(r"(?:ed|ly)$", k.lower())]
