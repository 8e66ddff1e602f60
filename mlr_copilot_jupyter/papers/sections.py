"""Find a paper's title, abstract and sections from its headings.

Headings are recognised as numbered (``1 Introduction``, ``1. Introduction``, ``3.2 Setup``),
Roman (``II. RELATED WORK``), appendix letters after the references (``A Proofs``), markdown
(``## Method``) or bare known names (``Conclusion``, ``References``). Each top-level heading maps to
a canonical key (:data:`CANONICAL_KEYS`, plus ``acknowledgements``). Policy for the rest:

* subsections (``4.1 ...``, deeper markdown levels) stay inside their parent section;
* an unknown *numbered* top-level heading (``3 Sparse Adapters``) starts a section under its
  slug (``sparse_adapters``); if no ``method`` section was found, the first such section between
  the introduction/related work/background and the experiments is renamed ``method``;
* text with no headings at all goes to ``sections["body"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .pdf import ARXIV_STAMP, paragraphs, typical_line_length

# fmt: off
CANONICAL_KEYS: tuple[str, ...] = (
    "abstract", "introduction", "related_work", "background", "method", "experiments",
    "results", "discussion", "conclusion", "limitations", "references", "appendix",
)
_PATTERNS: list[tuple[str, str]] = [  # first match wins; matched on the lower-cased heading
    ("abstract", r"abstract"),
    ("introduction", r"introduction|intro|overview and motivation"),
    ("related_work", r"(?:related|prior|previous) (?:works?|research|literature|approaches)"
     r"|literature (?:review|survey)|background and related works?"),
    ("background", r"background|preliminar(?:y|ies)|notations?"
     r"|(?:problem|task) (?:formulation|setting|setup|definition|statement)"),
    ("results", r"(?:experimental |main |empirical |evaluation )?results"
     r"|ablations?(?: stud(?:y|ies)| analysis)?"),
    ("experiments", r"experiments?|experimental(?: \w+)?|evaluations?|empirical \w+"
     r"|(?:experimental )?setup|implementation(?: details)?|datasets?"),
    ("discussion", r"discussions?|analys[ie]s|error analysis|case stud(?:y|ies)"),
    ("conclusion", r"conclusions?|concluding remarks|summary|future work"),
    ("limitations", r"limitations?"),
    ("references", r"references|bibliography|works cited|literature cited"),
    ("acknowledgements", r"acknowledge?ments?"),
    ("appendix", r"appendix|appendices|supplementa(?:ry|l)(?: materials?)?"),
    ("method", r"(?:the |our )?(?:proposed )?(?:methods?|methodology|approach(?:es)?|models?"
     r"|framework|algorithms?|architecture|system)(?: overview)?"),
]
# fmt: on
_COMPILED = [(k, re.compile(rf"(?:{p})\b")) for k, p in _PATTERNS]
_NUMBERED = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\.?(?P<sp>\s*)(?P<title>[^\d\s].*)$")
_ROMAN = re.compile(r"^(?P<num>[IVX]{1,5})\.?\s+(?P<title>[A-Z].*)$")
_LETTER = re.compile(r"^(?P<num>[A-H](?:\.\d{1,2}){0,2})[.:]?\s+(?P<title>[A-Z].*)$")
_MARKDOWN = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
_LONE_NUMBER = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}|[IVX]{1,5}|[A-H])\.?$")
_INLINE_ABSTRACT = re.compile(r"^abstract\s*[-\u2013\u2014:.]+\s*(?P<rest>\S.*)$", re.IGNORECASE)
_FRONT_JUNK = re.compile(
    r"@|https?://|^arxiv:|universit|institut|department|laborator|school of|college|\binc\b|"
    r"\bltd\b|corporation|academy|faculty|preprint|under review|published as|proceedings|"
    r"conference|workshop|copyright|licen[cs]e|accepted (?:at|to|by)|\u00a9|\bdoi\b|"
    r"equal contribution|corresponding author|^(?:keywords|index terms)\b",
    re.IGNORECASE,
)
_SENTENCE_WORDS = re.compile(  # lower-case words that mark a sentence, not a heading
    r"\b(?:we|is|are|was|were|that|which|has|have|been|it|they|these|this|can|will|would)\b"
)
# Once sections are numbered, a bare "Model" or "Datasets" line is a paragraph title, not a section.
_UNNUMBERED_IN_NUMBERED = frozenset(
    {"abstract", "references", "acknowledgements", "limitations", "appendix"}
)
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}


@dataclass
class ParsedPaper:
    """Title, abstract, sections and cleaned full text of a paper."""

    title: str = ""
    abstract: str = ""
    sections: dict[str, str] = field(default_factory=dict)
    text: str = ""


@dataclass
class _Heading:
    kind: str  # "section", "sub", "title"
    key: str
    label: str
    rest: str = ""  # inline text after the heading ("Abstract-- We ...")
    line: str = ""  # the heading line as written


def canonical_key(title: str, *, exact: bool = False) -> str | None:
    """Map a heading title (numbering removed) to its canonical key, or None if unknown.

    With ``exact`` the whole title must be a known name; otherwise a known prefix suffices.
    """
    t = " ".join(re.sub(r"[^\w\s&-]", " ", title.lower()).replace("&", "and").split())
    if len(t.split()) > 6:
        return None
    for key, rx in _COMPILED:
        if rx.fullmatch(t) if exact else rx.match(t):
            return key
    return None


def slugify(title: str) -> str:
    """``"Sparse Mixture-Adapters!"`` -> ``"sparse_mixture_adapters"``."""
    return "_".join(re.findall(r"[a-z0-9]+", title.lower()))[:60] or "section"


def _roman(num: str) -> int:
    vals = [_ROMAN_VALUES[c] for c in num]
    return sum(-v if i + 1 < len(vals) and v < vals[i + 1] else v for i, v in enumerate(vals))


def _plausible_title(title: str) -> bool:
    """A heading title: short, starts with a letter, no sentence punctuation, few numbers."""
    t = title.strip()
    if not t or len(t) > 80 or len(t.split()) > 10 or not t[0].isalpha():
        return False
    if t[-1] in ".,;-" or "," in t or ". " in t or re.search(r"\d\.\d|\s\d+\s.*\d", t):
        return False
    if _SENTENCE_WORDS.search(t):
        return False
    return sum(c.isalpha() for c in t) >= 3


class _Classifier:
    """Stateful heading detection: numbering must run in order (1, 2, 3 / A, B, C)."""

    def __init__(self, typical: float, markdown: bool) -> None:
        self.typical, self.markdown = typical, markdown
        self.last_top = 0
        self.last_letter = 0
        self.back = False  # after References/Appendix: appendix letters allowed
        self.roman = False
        self.seen_section = False
        self.md_top: int | None = None

    def __call__(self, line: str) -> _Heading | None:
        h = self._markdown(line) if self.markdown and line.startswith("#") else self._plain(line)
        if h:
            h.line = "Abstract" if h.rest else line.lstrip("#").strip()
        if h and h.kind == "section":
            self.seen_section = True
            self.back = self.back or h.key in ("references", "appendix")
        return h

    def _markdown(self, line: str) -> _Heading | None:
        m = _MARKDOWN.match(line)
        if not m:
            return None
        level, title = len(m.group("hashes")), m.group("title").strip("*_ ")
        title = re.sub(r"^(?:\d{1,2}(?:\.\d{1,2})*|[IVX]{1,5}|[A-H])[.:]?\s+(?=\S)", "", title)
        key = canonical_key(title)
        if level == 1 and not self.seen_section and key is None:
            return _Heading("title", "title", title)
        if self.md_top is None or level < self.md_top:
            self.md_top = level
        if level > self.md_top:
            return _Heading("sub", "", title)
        return _Heading("section", key or slugify(title), title)

    def _plain(self, line: str) -> _Heading | None:
        if len(line) > 90:
            m = _INLINE_ABSTRACT.match(line)
            return _Heading("section", "abstract", "Abstract", m.group("rest")) if m else None
        bare = line.strip().rstrip(":.").strip()
        key = canonical_key(bare, exact=True) if bare[:1].isupper() else None
        if key and (self.last_top == 0 or key in _UNNUMBERED_IN_NUMBERED):
            return _Heading("section", key, bare)
        if re.match(r"(?:Appendix|APPENDIX)\s+[A-Z0-9]\b", bare) and _plausible_title(bare):
            return _Heading("section", "appendix", bare)
        m = _INLINE_ABSTRACT.match(line)
        if m and line[:1].isupper():
            return _Heading("section", "abstract", "Abstract", m.group("rest"))
        return self._numbered(line)

    def _numbered(self, line: str) -> _Heading | None:
        m = _NUMBERED.match(line)
        if m and m.group("title")[0].isupper() and _plausible_title(m.group("title")):
            parts = [int(p) for p in m.group("num").split(".")]
            title, key = m.group("title").strip(), canonical_key(m.group("title"))
            if not m.group("sp") and key is None:
                return None
            if len(parts) == 1 and (
                parts[0] == self.last_top + 1 or (key and parts[0] > self.last_top)
            ):
                if key is None and len(line) > 0.85 * self.typical and len(title.split()) > 6:
                    return None
                self.last_top = parts[0]
                return _Heading("section", key or slugify(title), title)
            if len(parts) > 1 and parts[0] == self.last_top and not self.back:
                return _Heading("sub", "", title)
            return None
        m = _ROMAN.match(line)
        if (
            m
            and _plausible_title(m.group("title"))
            and m.group("title").upper() == m.group("title")
        ):
            value = _roman(m.group("num"))
            if value == self.last_top + 1:
                self.last_top, self.roman = value, True
                title = m.group("title").strip()
                return _Heading("section", canonical_key(title) or slugify(title), title)
        m = _LETTER.match(line)
        if m and _plausible_title(m.group("title")):
            labels = m.group("num").split(".")
            index = ord(labels[0]) - ord("A") + 1
            if self.back and len(labels) == 1 and index == self.last_letter + 1:
                self.last_letter = index
                return _Heading("section", "appendix", m.group("title").strip())
            if (self.back and len(labels) > 1 and index == self.last_letter) or (
                self.roman and not self.back and len(labels) == 1 and "." in line[:3]
            ):
                return _Heading("sub", "", m.group("title").strip())
        return None


def _name_like(line: str) -> bool:
    if re.search(r"[\u2217\u2020\u2021\u00a7\u00b6*]|[a-z]\d", line):
        return True
    chunks = [c.strip() for c in re.split(r",|\band\b", line) if c.strip()]
    if len(chunks) >= 2 and all(len(c.split()) <= 4 and c[0].isupper() for c in chunks):
        return "," in line or all(len(c.split()) >= 2 for c in chunks)
    return False


def _find_title(front: list[str]) -> tuple[str, int]:
    """The first substantial non-junk line(s) of the front matter; returns (title, lines used)."""
    lines = [ln.strip() for ln in front]
    for i, ln in enumerate(lines):
        if not ln or _FRONT_JUNK.search(ln) or ARXIV_STAMP.match(ln) or len(ln) < 8:
            continue
        if len(ln.split()) < 2 or not any(c.isalpha() for c in ln) or _name_like(ln):
            continue
        if len(ln) > 200 or len(ln.split()) > 25 or (ln[-1] in ".!?" and len(ln.split()) >= 10):
            return "", 0  # the text starts with prose: no title
        title, used = ln, i + 1
        for nxt in lines[i + 1 : i + 3]:
            if (
                not nxt
                or title[-1] in ".!?"
                or len(title) < 30
                or len(title) + len(nxt) > 220
                or _FRONT_JUNK.search(nxt)
                or _name_like(nxt)
                or not nxt[0].isalpha()
            ):
                break
            title, used = f"{title} {nxt}", used + 1
        return title, used
    return "", 0


def parse_lines(lines: list[str], *, markdown: bool = False) -> ParsedPaper:
    """Parse cleaned lines (hyphenation already joined) into a :class:`ParsedPaper`."""
    lines = [ln.strip() for ln in lines]
    typical = typical_line_length(lines)
    classify = _Classifier(typical, markdown)
    front: list[str] = []
    segments: list[tuple[_Heading, list[str]]] = []
    title = ""
    in_fence, skip = False, False
    for i, ln in enumerate(lines):
        if skip:
            skip = False
            continue
        in_fence ^= markdown and ln.startswith("```")
        h = None if in_fence or not ln else classify(ln)
        if h is None and not markdown and _LONE_NUMBER.match(ln) and i + 1 < len(lines):
            h = classify(f"{ln} {lines[i + 1]}")  # "1" / "Introduction" split over two lines
            skip = h is not None
        if h and h.kind == "title" and not title:
            title = h.label
        elif h and h.kind == "section":
            segments.append((h, [h.rest] if h.rest else []))
        elif h and h.kind == "sub" and segments:
            segments[-1][1].extend(["", h.line, ""])
        elif segments:
            segments[-1][1].append(ln)
        else:
            front.append(ln)
    if not title:
        title, used = _find_title(front)
        front = front[used:]
    front_pars = paragraphs(front, typical)
    result = ParsedPaper(title=title)
    for h, body in segments:
        text = "\n\n".join(paragraphs(body, typical))
        if h.key in result.sections:  # a repeated key keeps the later heading as a paragraph
            text = "\n\n".join(p for p in (result.sections[h.key], h.line, text) if p)
        if text:
            result.sections[h.key] = text
    if not segments:
        result.sections["body"] = "\n\n".join(front_pars)
    _infer_method(result.sections)
    if "abstract" in result.sections:
        result.abstract = result.sections["abstract"]
    else:
        prose = (
            [p for p in front_pars if len(p.split()) >= 30]
            or [p for p in front_pars if p[-1] in ".!?" and len(p.split()) >= 3]
            or ([] if segments else front_pars)
        )
        if not prose and segments:
            prose = paragraphs(segments[0][1], typical)
        result.abstract = prose[0] if prose else ""
    parts = ([title] if title else []) + front_pars
    for h, body in segments:
        parts.append(h.line)
        parts.extend(paragraphs(body, typical))
    result.text = "\n\n".join(p for p in parts if p)
    return result


def _infer_method(sections: dict[str, str]) -> None:
    """Rename the first unknown section after intro/related/background to ``method`` if absent."""
    if "method" in sections:
        return
    keys = list(sections)
    before = [i for i, k in enumerate(keys) if k in ("introduction", "related_work", "background")]
    after = [i for i, k in enumerate(keys) if k in ("experiments", "results", "conclusion")]
    lo = max(before) if before else -1
    hi = min((i for i in after if i > lo), default=len(keys))
    known = set(CANONICAL_KEYS) | {"acknowledgements", "body"}
    for i in range(lo + 1, hi):
        if keys[i] not in known:
            items = [("method" if k == keys[i] else k, v) for k, v in sections.items()]
            sections.clear()
            sections.update(items)
            return
