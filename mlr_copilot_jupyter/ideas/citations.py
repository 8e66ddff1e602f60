"""Every number the problem carries is cited: the sentence or table row of the paper it came from
and its page (issue 27).

The paper's text is searched *flat* (whitespace collapsed, :func:`..models.flat`), so the
offsets match :attr:`Paper.page_starts`. A number matches as written or with its thousands
separators and unit dropped (``18,450`` is ``18450``; ``7.4%`` is ``7.4``), never as part of a
longer number (``18`` is not in ``18,450``).

An LLM's result is taken only when the paper bears it out: its quote is found in the text (or,
when the model paraphrased, the sentence holding the number that shares most of the quote's
words) and the quote holds the value. Otherwise it is kept in
:attr:`ResearchProblem.unsupported` with the model's wording and the reason, and no prompt sees
it. The same holds for the datasets an LLM names: a name the text never mentions is unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..models import Paper, ReportedResult, UnsupportedClaim, flat

#: Characters of a cited quote (a long sentence, or a table flattened into one, is cut around
#: the number).
QUOTE_CHARS = 300
#: Share of a paraphrased quote's words the paper's sentence must hold to stand for it.
PARAPHRASE_OVERLAP = 0.6
_NUMBER = re.compile(r"(?<![\w.,])[-\u2212]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
                     r"(?!\w|[.,]\d)")
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


def numbers(text: str) -> list[str]:
    """The numbers in ``text``, canonical: thousands separators dropped, a unicode minus as
    ``-``, ``.5`` as ``0.5`` (trailing zeros kept: ``0.850`` is what the paper wrote)."""
    out = []
    for match in _NUMBER.finditer(text):
        token = match.group(0).replace(",", "").replace("\u2212", "-")
        if token.lstrip("-").startswith("."):
            token = token.replace(".", "0.", 1)
        out.append(token)
    return out


def value_number(value: str) -> str | None:
    """The number a result's value states (``'7.4%'`` -> ``'7.4'``); None when it has none."""
    found = numbers(value)
    return found[0] if found else None


def _same_number(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return float(a) == float(b)  # 0.50 and 0.5, 92.0 and 92
    except ValueError:
        return False


def holds_number(text: str, number: str) -> bool:
    """Whether ``text`` states ``number`` as a whole number (not inside a longer one)."""
    return any(_same_number(found, number) for found in numbers(text))


class PaperText:
    """The paper's flat text, searchable for quotes, names and numbers, with pages."""

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.text = flat(paper.text)
        self.lower = self.text.lower()
        self._sentences: list[tuple[int, str]] | None = None

    def page(self, offset: int) -> int | None:
        return self.paper.page_at(offset)

    def mentions(self, name: str) -> bool:
        """Whether the text names ``name`` (case and spacing aside)."""
        key = flat(name).lower().strip(" .,;:")
        return bool(key) and key in self.lower

    def find(self, quote: str) -> int:
        """Offset of ``quote`` in the text (case and spacing aside), or -1."""
        key = flat(quote).lower().strip(" .")
        if len(key) < 8:
            return -1
        return self.lower.find(key)

    @property
    def sentences(self) -> list[tuple[int, str]]:
        """(start, sentence) of the whole text, in order."""
        if self._sentences is None:
            self._sentences, start = [], 0
            for end in _SENTENCE_END.finditer(self.text):
                self._sentences.append((start, self.text[start:end.start()]))
                start = end.end()
            self._sentences.append((start, self.text[start:]))
        return self._sentences

    def sentences_with(self, number: str) -> list[tuple[int, str]]:
        """(start, sentence) of each sentence stating ``number``, cut to :data:`QUOTE_CHARS`
        around it."""
        head = number.lstrip("-").split(".")[0]
        found = []
        for start, sentence in self.sentences:
            if head not in sentence.replace(",", "") or not holds_number(sentence, number):
                continue
            if len(sentence) > QUOTE_CHARS:
                start, sentence = _window(start, sentence, number)
            found.append((start, sentence))
        return found


def _window(start: int, sentence: str, number: str) -> tuple[int, str]:
    """The :data:`QUOTE_CHARS` of a long sentence around its first statement of ``number``."""
    at = next((m.start() for m in _NUMBER.finditer(sentence)
               if _same_number(numbers(m.group(0))[0], number)), 0)
    begin = max(0, min(at - QUOTE_CHARS // 2, len(sentence) - QUOTE_CHARS))
    space = sentence.rfind(" ", 0, begin) + 1 if begin else 0  # whole words
    return start + space, sentence[space:space + QUOTE_CHARS].strip()


def _overlap(quote: str, sentence: str) -> float:
    words = set(_WORD.findall(quote.lower()))
    if not words:
        return 0.0
    return len(words & set(_WORD.findall(sentence.lower()))) / len(words)


def cite(text: PaperText, result: ReportedResult) -> tuple[ReportedResult | None, str]:
    """``result`` with the paper's quote and page, or (None, why the paper does not bear it
    out)."""
    number = value_number(result.value)
    if number is None:
        return None, "the value states no number"
    candidates = text.sentences_with(number)
    if not candidates:
        return None, "the number is not in the paper"
    quote = result.quote.strip()
    if not quote:
        return None, "no quote from the paper"
    offset = text.find(quote)
    if offset >= 0:
        span = text.text[offset:offset + len(flat(quote).strip(" ."))]
        if not holds_number(span, number):  # a real quote, but of another number
            return None, "the quote does not state the number"
        start, sentence = (offset, span) if len(span) <= QUOTE_CHARS else _window(offset, span,
                                                                                   number)
    else:  # a paraphrase: the paper's own sentence with the number sharing most of its words
        score, start, sentence = max(((_overlap(quote, s), b, s) for b, s in candidates),
                                     key=lambda c: c[0])
        if score < PARAPHRASE_OVERLAP:
            return None, "the quote is not in the paper"
    return result.model_copy(update={"quote": sentence, "page": text.page(start)}), ""


def check_results(text: PaperText, results: Iterable[ReportedResult],
                  ) -> tuple[list[ReportedResult], list[UnsupportedClaim]]:
    """The results the paper bears out (cited), and the rest as unsupported claims."""
    kept: list[ReportedResult] = []
    dropped: list[UnsupportedClaim] = []
    for result in results:
        cited, why = cite(text, result)
        if cited is not None:
            kept.append(cited)
        else:
            wording = " ".join(x for x in (result.metric, result.value, result.dataset and
                                           f"on {result.dataset}", result.setting and
                                           f"({result.setting})") if x)
            if result.quote.strip():
                wording += f' — quoted: "{result.quote.strip()[:200]}"'
            dropped.append(UnsupportedClaim(kind="result", text=wording, reason=why))
    return kept, dropped


def check_names(text: PaperText, names: Iterable[str],
                ) -> tuple[list[str], list[UnsupportedClaim]]:
    """The dataset names the paper's text mentions, and the rest as unsupported claims."""
    kept, dropped = [], []
    for name in names:
        if text.mentions(name):
            kept.append(name)
        else:
            dropped.append(UnsupportedClaim(kind="dataset", text=name,
                                            reason="the paper never names it"))
    return kept, dropped


def cite_offline(text: PaperText, result: ReportedResult, source: str) -> ReportedResult:
    """An offline result with its source (the sentence or table row it was read from, found in
    the text) and page; the source itself when the flattened text does not hold it verbatim."""
    source = flat(source)
    offset = text.find(source[:160])
    quote = source if len(source) <= QUOTE_CHARS else _window(0, source,
                                                               value_number(result.value) or "")[1]
    return result.model_copy(update={"quote": quote,
                                     "page": text.page(offset) if offset >= 0 else None})
