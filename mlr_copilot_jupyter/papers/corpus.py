"""Local related-work corpora: BibTeX, JSONL and JSON files with titles and abstracts."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from ..errors import InputError
from ..models import RelatedWork

_CORPUS_TYPES = (".bib", ".bibtex", ".jsonl", ".json")
_MONTHS = dict(zip(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(),
    "January February March April May June July August September October November December".split(),
    strict=True,
))
_BIB_WORD = re.compile(r"[^\s\"#%'(),={}@0-9][^\s\"#%'(),={}@]*")
_BIB_KEY = re.compile(r"[^\s\"#%'(),={}]*")
_BIB_DELIM = re.compile(r"[{}\"]|\n[ \t]*@[A-Za-z]+[ \t]*[{(]")  # the last: an entry inside a value
_BIB_SWALLOWED = re.compile(r"\n[ \t]*[A-Za-z]+[ \t]*=[ \t]*[{\"\d]")
_BIB_SCAN = re.compile(r"%[^\n]*|@")
_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
            "r": "\u030a"}
_SYMBOLS = {"ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å", "o": "ø",
            "O": "Ø", "l": "ł", "L": "Ł", "i": "i", "j": "j", "LaTeX": "LaTeX", "TeX": "TeX"}
_DROPPED = frozenset(  # formatting commands; any other command keeps its name (\log -> log)
    "emph textit textbf textsc texttt textrm textsf textsl textup textnormal text mathrm mathbf "
    "mathit mathcal mathsf mathtt mathbb bf it em sc tt rm sf url protect relax ensuremath mbox "
    "hbox noopsort".split()
)


class BibEntry(NamedTuple):
    """One BibTeX entry: type, key, lower-cased field names to raw values, and its first line."""

    kind: str
    key: str
    fields: dict[str, str]
    line: int


def load_corpus(path: str | os.PathLike[str]) -> list[RelatedWork]:
    """The works in a ``.bib``, ``.jsonl`` or ``.json`` file (BibTeX entries without a title are skipped)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CORPUS_TYPES:
        raise InputError(f"{path}: unsupported related-work file {suffix or 'without extension'}; "
                         "use a .bib, .jsonl or .json file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the related-work file ({exc.strerror or exc})") from None
    source = f"local:{path.name}"
    if suffix in (".bib", ".bibtex"):
        works = [w for w in (_bib_work(e, source) for e in parse_bibtex(_decode(raw, path), str(path))) if w]
    else:
        text = _decode(raw, path, strict=True)
        rows = _jsonl_rows(text, path) if suffix == ".jsonl" else _json_rows(text, path)
        works = [_json_work(obj, where, path, source) for where, obj in rows]
    if not works:
        raise InputError(f"{path}: no entries with a title; expected "
                         + ("@article{key, title = {...}, abstract = {...}} entries" if suffix.startswith(".bib")
                            else "objects with 'title' and 'abstract'"))
    return works


def parse_bibtex(text: str, name: str = "<bibtex>") -> list[BibEntry]:
    """Entries of a BibTeX text (``@string`` macros and ``#`` joins expanded, ``@comment`` and ``%`` lines skipped)."""
    return _BibReader(text, name).entries()


class _BibReader:
    def __init__(self, text: str, name: str) -> None:
        self.s, self.name, self.i = text, name, 0
        self.macros: dict[str, str] = dict(_MONTHS)

    def fail(self, message: str, at: int | None = None) -> NoReturn:
        line = self.s.count("\n", 0, self.i if at is None else at) + 1
        raise InputError(f"{self.name} line {line}: {message}")

    def skip(self) -> None:
        """Skip whitespace and ``%`` comments between tokens."""
        s, n = self.s, len(self.s)
        while self.i < n and (s[self.i].isspace() or s[self.i] == "%"):
            if s[self.i] == "%":
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            self.i += 1

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def word(self, pattern: re.Pattern[str] = _BIB_WORD) -> str:
        m = pattern.match(self.s, self.i)
        if not m:
            return ""
        self.i = m.end()
        return m.group()

    def entries(self) -> list[BibEntry]:
        out: list[BibEntry] = []
        while True:
            at = next((m.start() for m in _BIB_SCAN.finditer(self.s, self.i) if m.group() == "@"), -1)
            if at < 0:
                return out
            self.i = at + 1
            self.skip()
            kind = self.word().lower()
            self.skip()
            if not kind or self.peek() not in ("{", "("):
                continue  # a stray '@' in the text between entries (an e-mail address, say)
            if kind in ("comment", "preamble"):
                self.group(at, kind)
            elif kind == "string":
                self.string(at)
            else:
                out.append(self.entry(kind, at))

    def group(self, at: int, kind: str) -> None:
        opener, depth = self.s[self.i], 0
        for j in range(self.i + 1, len(self.s)):
            c = self.s[j]
            if c == "{":
                depth += 1
            elif c == "}" and depth > 0:
                depth -= 1
            elif depth == 0 and c == ("}" if opener == "{" else ")"):
                self.i = j + 1
                return
        self.fail(f"@{kind} is not closed", at)

    def string(self, at: int) -> None:
        closer = "}" if self.s[self.i] == "{" else ")"
        self.i += 1
        self.skip()
        name = self.word()
        self.skip()
        if not name or self.peek() != "=":
            self.fail("expected @string{name = value}", at)
        self.i += 1
        value = self.value("@string", name)
        self.skip()
        if self.peek() != closer:
            self.fail(f"@string {name} is not closed with {closer!r}", at)
        self.i += 1
        self.macros[name.lower()] = value

    def entry(self, kind: str, at: int) -> BibEntry:
        closer = "}" if self.s[self.i] == "{" else ")"
        self.i += 1
        self.skip()
        key_at = self.i
        key = self.word(_BIB_KEY)
        self.skip()
        fields: dict[str, str] = {}
        spans: list[tuple[str, int]] = []  # (field, where its value starts)
        label = f"entry {key!r}" if key else f"@{kind} entry"
        if self.peek() == "=":  # no key: the entry starts with a field
            self.i, key, label = key_at, "", f"@{kind} entry"
        elif self.peek() == ",":
            self.i += 1
        elif self.peek() != closer:
            self.fail(f"expected ',' after the key of {label}")
        while True:
            self.skip()
            c = self.peek()
            if c == closer:
                self.i += 1
                return BibEntry(kind, key, fields, self.s.count("\n", 0, at) + 1)
            if c in ("", "@"):
                self.unclosed(label, closer, at, spans)
            name = self.word()
            if not name:
                self.fail(f"unexpected {c!r} in {label}")
            self.skip()
            if self.peek() != "=":
                self.fail(f"expected '=' after field {name!r} in {label}")
            self.i += 1
            self.skip()
            spans.append((name, self.i))
            fields.setdefault(name.lower(), self.value(label, name))
            self.skip()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c in ("", "@"):
                self.unclosed(label, closer, at, spans)
            elif c != closer:
                self.fail(f"expected ',' or {closer!r} after field {name!r} in {label}")

    def unclosed(self, label: str, closer: str, at: int, spans: list[tuple[str, int]]) -> NoReturn:
        """Blame a value that swallowed the next field (``title = {a {b}, year = ...}``), else the entry."""
        for (name, start), end in zip(spans, [s for _, s in spans[1:]] + [self.i], strict=True):
            if _BIB_SWALLOWED.search(self.s, start, end):
                self.fail(f"unbalanced braces in field {name!r} of {label}", start)
        self.fail(f"{label} is not closed (missing {closer!r})", at)

    def value(self, label: str, field: str) -> str:
        parts: list[str] = []
        while True:
            self.skip()
            c = self.peek()
            if c in ("{", '"'):
                parts.append(self.delimited(label, field))
            elif c.isdigit():
                parts.append(self.word(re.compile(r"\d+")))
            else:
                name = self.word()
                if not name:
                    self.fail(f"field {field!r} of {label} has no value")
                parts.append(self.macros.get(name.lower(), name))
            self.skip()
            if self.peek() != "#":
                return "".join(parts)
            self.i += 1

    def delimited(self, label: str, field: str) -> str:
        start, quoted = self.i, self.s[self.i] == '"'
        depth = 0 if quoted else 1
        for m in _BIB_DELIM.finditer(self.s, start + 1):
            c = m.group()
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0 and not quoted:
                    self.i = m.end()
                    return self.s[start + 1 : m.start()]
                if depth < 0:
                    break
            elif c == '"':
                if quoted and depth == 0:
                    self.i = m.end()
                    return self.s[start + 1 : m.start()]
            else:
                break  # an entry begins inside this value: its braces or quotes are not closed
        self.fail(f"unbalanced {'quotes' if quoted else 'braces'} in field {field!r} of {label}", start)


def latex_to_text(value: str) -> str:
    """Plain text of a BibTeX value: accents to Unicode, commands and grouping braces dropped."""
    s = re.sub(r"\\([ij])(?![A-Za-z])", r"\1", value)
    s = re.sub(r"\\([\"'`^~=.])\s*(?:\{\s*([A-Za-z])\s*\}|([A-Za-z]))",
               lambda m: (m.group(2) or m.group(3)) + _ACCENTS[m.group(1)], s)
    s = re.sub(r"\\([uvHckr])(?:\s*\{\s*([A-Za-z])\s*\}|\s+([A-Za-z]))",
               lambda m: (m.group(2) or m.group(3)) + _ACCENTS[m.group(1)], s)
    s = re.sub(r"\\(LaTeX|TeX|ss|ae|AE|oe|OE|aa|AA|o|O|l|L)(?![A-Za-z])", lambda m: _SYMBOLS[m.group(1)], s)
    escaped = "&%$#_{}"
    s = re.sub(r"\\([&%$#_{}])", lambda m: chr(0xE000 + escaped.index(m.group(1))), s)
    s = re.sub(r"\\([A-Za-z]+)\*?", lambda m: "" if m.group(1) in _DROPPED else f" {m.group(1)}", s)
    s = re.sub(r"\\.", " ", s)  # \\, \, and other spacing commands
    s = re.sub(r"[{}$]", "", s).replace("~", " ").replace("---", "\u2014").replace("--", "\u2013")
    s = s.replace("``", '"').replace("''", '"')
    s = "".join(escaped[ord(c) - 0xE000] if 0xE000 <= ord(c) < 0xE000 + len(escaped) else c for c in s)
    return " ".join(unicodedata.normalize("NFC", s).split())


def _bib_work(entry: BibEntry, source: str) -> RelatedWork | None:
    f = entry.fields
    title = latex_to_text(f.get("title", ""))
    if not title:
        return None
    url = "".join(f.get("url", "").split()) or None
    doi = "".join(f.get("doi", "").split())
    if not url and doi:
        url = doi if doi.startswith("http") else f"https://doi.org/{doi}"
    archive = (f.get("archiveprefix") or f.get("eprinttype") or "").strip().lower()
    if not url and f.get("eprint") and archive == "arxiv":
        url = f"https://arxiv.org/abs/{f['eprint'].strip()}"
    return RelatedWork(title=title, abstract=latex_to_text(f.get("abstract", "")),
                       year=_year(f.get("year") or f.get("date")), url=url, source=source)


def _json_work(obj: Any, where: str, path: Path, source: str) -> RelatedWork:
    if not isinstance(obj, dict):
        raise InputError(f"{path} {where}: expected an object with 'title' and 'abstract'")
    title, abstract, url = obj.get("title"), obj.get("abstract") or "", obj.get("url") or None
    if not isinstance(title, str) or not title.strip():
        raise InputError(f"{path} {where}: missing 'title'")
    if not isinstance(abstract, str):
        raise InputError(f"{path} {where}: 'abstract' must be text")
    if url is not None and not isinstance(url, str):
        raise InputError(f"{path} {where}: 'url' must be text")
    return RelatedWork(title=" ".join(title.split()), abstract=" ".join(abstract.split()),
                       year=_year(obj.get("year")), url=url, source=source)


def _jsonl_rows(text: str, path: Path) -> list[tuple[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
    return rows


def _json_rows(text: str, path: Path) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):  # a saved Semantic Scholar answer
        data = [d for d in data["data"] if not isinstance(d, dict) or d.get("title")]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of objects with 'title' and 'abstract'")
    return [(f"item {i}", obj) for i, obj in enumerate(data, 1)]


def _decode(raw: bytes, path: Path, *, strict: bool = False) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not strict:  # old .bib files are often Latin-1
            return raw.decode("latin-1")
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path} line {line}: not UTF-8 text") from None


def _year(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.search(r"(?<!\d)(1[5-9]\d\d|2\d\d\d)(?!\d)", str(value or ""))
    return int(m.group(1)) if m else None
