"""Offline reading of what a paper did and found: method summary, datasets, reported results and
stated limitations (no LLM).

Reported results come from two places: results sentences ("our model reaches a WER of 7.4% on
LibriSpeech") split into clauses, each number paired with the metric and dataset named in its
clause or the clause before; and table rows ("Ours 7.4 12.1" under a header naming datasets or
metrics, or a caption naming them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import Paper, ReportedResult
from .citations import PaperText, cite_offline
from .text import clip, sentences
from .vocab import find_datasets, find_metrics

RESULT_SECTIONS = ("results", "experiments", "evaluation", "abstract", "discussion",
                   "conclusion", "introduction", "body")
MAX_RESULTS = 12
#: Characters read per section and of the whole text when looking for numbers (results sections
#: are a few pages; a 50 MB text must not cost seconds).
MAX_SECTION_CHARS = 120_000
MAX_TEXT_CHARS = 200_000
_NUMBER = re.compile(r"(?<![\w.@\-])(\d+(?:\.\d+)?)(\s?%|\s?(?:points?|pp)\b)?(?![\w@])")
_NOT_RESULT_BEFORE = re.compile(r"(?:table|figure|fig\.|section|sec\.|eq\.|equation|appendix|"
                                r"step|layer|top|pass@|\[|§|\b[nNkK]\s*=|\bp\s*[<=>≤]|"
                                r"\b(?:alpha|α|level)\s*(?:=|of))\s*$", re.I)
_NOT_RESULT_AFTER = re.compile(r"^\s*(?:percent\s+of|of\s+(?:the\s+)?(?:parameters|weights|data)|"
                               r"layers?|heads?|gpus?|epochs?|steps?|hours?|days?|"
                               r"languages?|parameters|params|[kmb]\b|million|billion|seeds?|"
                               r"runs?|samples?|examples?|utterances?|images?|classes|tokens?|"
                               r"times|x\b|×|"
                               # a confidence level, a shot/way count, a sample size: not results
                               r"(?:-\s?|\s)?(?:shot|way)\b|confiden|significan|credib|CI\b|"
                               r"participants?|subjects?|users?|annotators?|raters?|questions?|"
                               r"sentences?|documents?|pairs?|instances?|items?|queries|patients?)",
                               re.I)
#: A results sentence says what was measured: a method, a system or a comparison, or names a
#: dataset; "with 95% confidence" or "in the 10-shot setting" alone is not a result.
_RESULT_CUE = re.compile(r"\b(?:achiev|reach|obtain|attain|scor|outperform|improv|surpass|"
                         r"report|yield|result|get|gets|ours?|we|model|method|approach|baseline|"
                         r"system|state[- ]of[- ]the[- ]art|sota|compared?|versus|vs)\w*", re.I)
_CLAUSE = re.compile(r",\s+|;\s+|\s+(?:and|while|whereas|compared (?:with|to)|versus|vs\.?)\s+")
_PROPOSE = re.compile(r"\b(?:we|this paper|this work)\s+(?:propose|present|introduce|develop)s?\b|"
                      r"\bour (?:method|approach|model|framework)\b", re.I)
_LIMIT_CUES = re.compile(r"\b(?:limitations?|future work|does not|do not|only|restricted|"
                         r"assumes?|cannot|not (?:yet|evaluated|tested))\b", re.I)


def _is_year(token: str) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d\d", token))


def _numbers(clause: str) -> list[str]:
    out = []
    for m in _NUMBER.finditer(clause):
        number, unit = m.group(1), (m.group(2) or "").strip()
        if _is_year(number) and not unit:
            continue
        if _NOT_RESULT_BEFORE.search(clause[: m.start()]) or _NOT_RESULT_AFTER.match(
                clause[m.end():]):
            continue
        out.append(number + ("%" if unit == "%" else f" {unit}" if unit else ""))
    return out


def results_from_sentences(text: str, *, default_dataset: str = "") -> list[ReportedResult]:
    """Numbers stated with a metric name in results sentences."""
    found: list[ReportedResult] = []
    for sentence in sentences(text[:MAX_SECTION_CHARS]):
        if not _NUMBER.search(sentence) or not find_metrics(sentence):
            continue
        if not (_RESULT_CUE.search(sentence) or find_datasets(sentence) or default_dataset):
            continue
        metric, dataset = "", default_dataset
        for clause in _CLAUSE.split(sentence):
            metric = (find_metrics(clause) or [metric])[0]
            dataset = (find_datasets(clause) or [dataset])[0]
            if not metric:
                continue
            for value in _numbers(clause):
                found.append(ReportedResult(metric=metric, dataset=dataset, value=value,
                                            setting=clip(sentence, 240), quote=sentence))
    return found


_CAPTION = re.compile(r"\bTable\s+\d+\s*[:.]\s*([^.]*\.)?", re.I)
_ROW = re.compile(r"\s*((?:[A-Za-z][\w+\-/()]*\s+){1,6}?)((?:\d+(?:\.\d+)?%?\s*)+)")


def results_from_tables(text: str) -> list[ReportedResult]:
    """Numbers in table rows ("Ours 7.4 12.1") after a "Table N:" caption, paired with the header's
    dataset/metric columns (or the caption's metric and dataset). Works on flattened text too."""
    found: list[ReportedResult] = []
    for caption in _CAPTION.finditer(text):
        cap = caption.group(0)
        cap_metric = (find_metrics(cap) or [""])[0]
        cap_dataset = (find_datasets(cap) or [""])[0]
        segment = text[caption.end(): caption.end() + 1500]
        first_number = re.search(r"\d", segment)
        head = segment[: first_number.start()] if first_number else segment
        columns = _names_in_order(head)
        if columns:  # the header ends after its last named column
            last = columns[-1]
            m = list(re.finditer(_name_pattern(last), head, re.I))
            segment = segment[m[-1].end():] if m else segment
        width = 0
        pos = 0
        while True:
            row = _ROW.match(segment, pos)
            if row is None:
                break
            label = " ".join(row.group(1).split())
            values = row.group(2).split()
            if width == 0:
                width = len(values)
            if len(values) != width or len(label.split()) > 6:
                break
            cols = columns[-width:] if len(columns) >= width else []
            for k, value in enumerate(values):
                column = cols[k] if cols else ""
                metric = (find_metrics(column) or [cap_metric])[0]
                dataset = (find_datasets(column) or [cap_dataset])[0]
                if metric and not _is_year(value):
                    found.append(ReportedResult(metric=metric, dataset=dataset, value=value,
                                                setting=clip(label, 120),
                                                quote=" ".join(row.group(0).split())))
            pos = row.end()
    return found


def _name_pattern(name: str) -> str:
    return re.escape(name).replace(r"\-", "[- ]?").replace(r"\ ", r"\s+")


def _names_in_order(line: str) -> list[str]:
    names = [*find_metrics(line), *find_datasets(line)]
    positions = []
    for name in names:
        m = re.search(_name_pattern(name), line, re.I)
        if m:
            positions.append((m.start(), name))
    return [name for _, name in sorted(positions)]


def reported_results(paper: Paper, sections: dict[str, str]) -> list[ReportedResult]:
    """The paper's reported numbers, from results sentences and table rows, de-duplicated."""
    datasets = find_datasets(paper.text[:MAX_TEXT_CHARS])
    default = datasets[0] if len(datasets) == 1 else ""
    found: list[ReportedResult] = []
    for name in RESULT_SECTIONS:
        text = paper.abstract if name == "abstract" else sections.get(name, "")
        if text:
            found += results_from_sentences(text, default_dataset=default)
    found += results_from_tables(paper.text[:MAX_TEXT_CHARS])
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for r in found:
        key = (r.metric.lower(), r.dataset.lower(), r.value)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    # each with its source: the sentence or table row, found in the text, and its page
    paper_text = PaperText(paper)
    return [cite_offline(paper_text, r, r.quote) for r in unique[:MAX_RESULTS]]


def method_summary(paper: Paper, sections: dict[str, str]) -> str:
    """What the paper proposes: its 'we propose' sentences and the method section's opening."""
    picked: list[str] = []
    for text in (paper.abstract or sections.get("abstract", ""), sections.get("introduction", "")):
        picked += [s for s in sentences(text) if _PROPOSE.search(s)][:2 - len(picked)]
        if len(picked) >= 2:
            break
    method = sections.get("method", "")
    opening = [s for s in sentences(method) if len(s.split()) >= 8][:1]
    summary = " ".join(dict.fromkeys(picked + opening))
    return clip(summary or " ".join(sentences(paper.abstract)[:2]), 700)


def limitations(sections: dict[str, str], exclude: Sequence[str] = (), n: int = 4) -> list[str]:
    """Stated limitations: the limitations section, else cue sentences in discussion/conclusion."""
    own = [s for s in sentences(sections.get("limitations", "")) if len(s.split()) >= 6]
    cued = [s for name in ("discussion", "conclusion")
            for s in sentences(sections.get(name, "")) if _LIMIT_CUES.search(s)]
    taken = {e.lower()[:60] for e in exclude}
    out = [clip(s, 300) for s in [*own, *cued] if s.lower()[:60] not in taken]
    return list(dict.fromkeys(out))[:n]
