"""PDF text extraction with pypdf, and cleanup of PDF text artefacts.

Every failure a user can cause (not a PDF, corrupt, truncated, encrypted, scanned) becomes a
one-line :class:`~mlr_copilot_jupyter.errors.PaperError` naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import statistics
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import PaperError

log = logging.getLogger(__name__)

# fmt: off
LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st", "\u0132": "IJ", "\u0133": "ij", "\u0152": "OE", "\u0153": "oe",
}
# fmt: on
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_PAGE_NUMBER = re.compile(
    r"^(?:[Pp]age\s*)?[-\u2013(\[]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-\u2013)\]]?"
    r"(?:\s*(?:of|/)\s*\d{1,4})?$"
)
ARXIV_STAMP = re.compile(
    r"^arXiv:\s*(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\s+\[[\w.-]+\].*\d{4}$"
)
_MIN_TEXT_CHARS = 20
_AES_HINT = "provide a decrypted copy or pip install cryptography"


@dataclass
class PdfText:
    """Raw text of the first pages of a PDF."""

    pages: list[str]
    n_pages: int
    truncated: bool


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's logger and warnings ("Ignoring wrong pointing object", ...) while reading."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def extract_pdf_text(data: bytes, name: str, *, max_pages: int = 60) -> PdfText:
    """Extract the text of the first ``max_pages`` pages of the PDF ``data`` (file ``name``)."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    if b"%PDF-" not in data[:1024]:
        raise PaperError(
            f"{name} is not a PDF (no %PDF header); pass a real PDF, or a .txt/.md file"
        )
    if b"%%EOF" not in data[-1_048_576:]:
        raise PaperError(f"{name} is truncated (no %%EOF marker); download the PDF again")
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    unlocked = bool(reader.decrypt(""))
                except DependencyError:
                    raise PaperError(f"{name} is encrypted (AES); {_AES_HINT}") from None
                except NotImplementedError:
                    unlocked = False
                if not unlocked:
                    raise PaperError(
                        f"{name} is encrypted; provide a decrypted copy (e.g. qpdf --decrypt)"
                    )
            n_pages = len(reader.pages)
        except PaperError:
            raise
        except Exception as exc:  # pypdf raises PdfReadError, PdfStreamError, KeyError, ...
            raise PaperError(
                f"{name} is corrupt or not a readable PDF ({type(exc).__name__}); "
                "download it again or export it to PDF anew"
            ) from None
        if n_pages == 0:
            raise PaperError(f"{name} has no pages; download the PDF again")
        limit = min(n_pages, max(1, max_pages))
        pages, failures = [], 0
        for i in range(limit):
            try:
                pages.append(reader.pages[i].extract_text() or "")
            except DependencyError:
                raise PaperError(f"{name} is encrypted (AES); {_AES_HINT}") from None
            except Exception:  # one broken page must not lose the rest
                failures += 1
                pages.append("")
    if failures == limit:
        raise PaperError(
            f"{name} is corrupt (text extraction failed on every page); download it again"
        )
    if sum(len(p.strip()) for p in pages) < _MIN_TEXT_CHARS:
        raise PaperError(f"{name} has no extractable text (scanned?); run OCR first e.g. ocrmypdf")
    if limit < n_pages:
        log.warning(
            "%s: read the first %d of %d pages (max_pages=%d)", name, limit, n_pages, max_pages
        )
    return PdfText(pages=pages, n_pages=n_pages, truncated=limit < n_pages)


def normalize_text(text: str) -> str:
    """Expand ligatures, apply NFKC, drop soft hyphens, zero-width and control characters."""
    for lig, rep in LIGATURES.items():
        text = text.replace(lig, rep)
    text = re.sub("\u00ad[ \t]*(?=\r?\n)", "-", text)  # a soft hyphen ending a line is a split
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text)


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def strip_running_lines(pages: list[str], edge: int = 3) -> list[list[str]]:
    """Split pages into lines, dropping page numbers, arXiv stamps and running headers/footers.

    A running line is one of the first/last ``edge`` non-blank lines of a page whose text (digits
    ignored) recurs at the edges of at least half of the pages (and of three pages or more).
    """
    page_lines = [[ln.strip() for ln in p.split("\n")] for p in pages]
    counts: Counter[str] = Counter()
    for lines in page_lines:
        nonblank = [ln for ln in lines if ln]
        counts.update({_line_key(ln) for ln in nonblank[:edge] + nonblank[-edge:]})
    needed = max(3, math.ceil(0.4 * len(pages)))
    repeated = {k for k, c in counts.items() if c >= needed and k not in ("", "#")}
    out: list[list[str]] = []
    for lines in page_lines:
        idx = [i for i, ln in enumerate(lines) if ln]
        edges = set(idx[:edge] + idx[-edge:])
        kept = []
        for i, ln in enumerate(lines):
            if i in edges and (_PAGE_NUMBER.match(ln) or _line_key(ln) in repeated):
                continue
            if ARXIV_STAMP.match(ln):
                continue
            kept.append(ln)
        out.append(kept)
    return out


_KEEP_HYPHEN_PREFIXES = frozenset(
    "self non cross semi multi well state end fine zero few one two three long short high low "
    "large small real open task domain data human rule pre post co".split()
)
_HYPHEN_END = re.compile(r"([^\s]*[A-Za-z])[-\u2010\u00ad]$")


def _keep_hyphen(token: str, nxt: str, words: set[str], compounds: set[str]) -> bool:
    """Whether ``token-`` + ``nxt`` at a line break is a real compound rather than a word split.

    The document's own vocabulary decides first (``multilingual`` seen elsewhere -> join;
    ``multi-task`` seen elsewhere -> keep), then simple rules.
    """
    if "-" in token or not nxt[:1].islower():
        return True
    tail = re.sub(r"\W+$", "", nxt).lower()
    if (token + tail).lower() in words:
        return False
    if f"{token}-{tail}".lower() in compounds or token.lower() in _KEEP_HYPHEN_PREFIXES:
        return True
    return any(c.isupper() or c.isdigit() for c in token[1:])


def join_hyphenation(lines: list[str]) -> list[str]:
    """Join words split across line ends: ``recog-`` / ``nition`` -> ``recognition``.

    Real compounds keep their hyphen (``state-of-the-`` / ``art`` -> ``state-of-the-art``).
    The continuation word moves up to the previous line; the rest of its line stays in place.
    """
    tokens = [t.lower() for ln in lines for t in re.findall(r"[A-Za-z][A-Za-z-]*[A-Za-z]", ln)]
    words = {t for t in tokens if "-" not in t}
    compounds = {t for t in tokens if "-" in t}
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if out and stripped and stripped[0].isalnum():
            m = _HYPHEN_END.search(out[-1])
            if m:
                first, _, rest = stripped.partition(" ")
                token = m.group(1).split()[-1]
                joiner = "-" if _keep_hyphen(token, first, words, compounds) else ""
                out[-1] = out[-1][: m.end(1)] + joiner + first
                if rest.strip():
                    out.append(rest.strip())
                continue
        out.append(line.rstrip())
    return out


def typical_line_length(lines: list[str]) -> float:
    """Median length of the lines of 20+ characters (80 if there are none)."""
    lengths = [len(ln) for ln in lines if len(ln) >= 20]
    return float(statistics.median(lengths)) if lengths else 80.0


def paragraphs(lines: list[str], typical: float) -> list[str]:
    """Group lines into paragraphs: blank lines, or a short line (ending a sentence), end one.

    ``typical`` is the usual line length; above 160 every line is taken as a paragraph.
    """
    out: list[str] = []
    cur: list[str] = []
    one_per_line = typical > 160
    for ln in lines:
        if not ln.strip():
            if cur:
                out.append(" ".join(" ".join(cur).split()))
            cur = []
            continue
        cur.append(ln)
        n, last = len(ln), ln.rstrip()[-1]
        if one_per_line or (last in ".!?:" and n < 0.8 * typical) or n < 0.4 * typical:
            out.append(" ".join(" ".join(cur).split()))
            cur = []
    if cur:
        out.append(" ".join(" ".join(cur).split()))
    return [p for p in out if p]


def clean_text(text: str) -> str:
    """Clean plain text: normalise, re-join hyphenated words, collapse spaces inside paragraphs.

    Paragraphs are separated by blank lines in the input and the output.
    """
    paragraphs = re.split(r"\n\s*\n", normalize_text(text))
    cleaned = [" ".join(" ".join(join_hyphenation(p.split("\n"))).split()) for p in paragraphs]
    return "\n\n".join(p for p in cleaned if p)
