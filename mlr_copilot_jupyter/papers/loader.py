"""``load_paper``: turn a path, an arXiv id/URL or raw text into a :class:`~..models.Paper`."""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
from pathlib import Path

from ..errors import PaperError
from ..models import Paper
from .arxiv import fetch_arxiv, parse_arxiv_id
from .pages import page_starts
from .pdf import extract_pdf_text, join_hyphenation, normalize_text, strip_running_lines
from .sections import ParsedPaper, parse_lines

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
_PATH_SUFFIX = re.compile(r"\.(pdf|txt|md|markdown|tex|text|rst)$", re.IGNORECASE)
_MIN_TEXT_CHARS = 200
_KINDS = "a PDF, .txt or .md path, an arXiv id/URL, or the paper text"


def parse_paper_text(text: str, *, markdown: bool = False) -> ParsedPaper:
    """Clean ``text`` (pages split by form feeds) and find its title, abstract and sections."""
    return _parse_text(text, markdown=markdown)[0]


def _parse_text(text: str, *, markdown: bool = False) -> tuple[ParsedPaper, list[int]]:
    """The parse and, for text with form-feed page breaks, where each page starts."""
    pages = normalize_text(text).split("\f")
    if len(pages) > 1:
        page_lines = strip_running_lines(pages)
        parsed = parse_lines(join_hyphenation([ln for page in page_lines for ln in page]),
                             markdown=markdown)
        return parsed, page_starts(page_lines, parsed.text)
    return parse_lines(join_hyphenation(pages[0].split("\n")), markdown=markdown), []


#: Fewer characters than this on a PDF page: no text layer there (a scan, a full-page figure).
_PAGE_TEXT_CHARS = 20


def _parse_pdf(data: bytes, name: str,
               max_pages: int) -> tuple[ParsedPaper, int, list[int], list[int]]:
    """The parse, the page count, where each page starts and the pages with no text layer."""
    raw = extract_pdf_text(data, name, max_pages=max_pages)
    pages = strip_running_lines([normalize_text(p) for p in raw.pages])
    parsed = parse_lines(join_hyphenation([ln for page in pages for ln in page]))
    if not parsed.text.strip():
        raise PaperError(f"{name} has no extractable text (scanned?); run OCR first e.g. ocrmypdf")
    textless = [i + 1 for i, page in enumerate(raw.pages)
                if len("".join(page.split())) < _PAGE_TEXT_CHARS]
    return parsed, raw.n_pages, page_starts(pages, parsed.text), textless


def _decode(data: bytes, name: str) -> str:
    """Decode a text file: BOMs, then UTF-8, then cp1252 with replacement; never fails."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
        (codecs.BOM_UTF32_LE, "utf-32"),
    ):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    if b"\x00" in data[:8192]:
        raise PaperError(
            f"{name} looks like a binary file, not text or PDF; "
            "convert it to PDF, .txt or .md first"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        log.info("%s is not UTF-8; decoding it as cp1252", name)
        return data.decode("cp1252", errors="replace")


def _paper(parsed: ParsedPaper, source: str, data: bytes, n_pages: int | None,
           starts: list[int] | None = None, textless: list[int] | None = None) -> Paper:
    return Paper(
        source=source,
        title=parsed.title,
        abstract=parsed.abstract,
        sections=parsed.sections,
        text=parsed.text,
        n_pages=n_pages,
        page_starts=starts or [],
        pages_without_text=textless or [],
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _load_path(path: Path, name: str, max_pages: int, max_bytes: int) -> Paper:
    try:
        st = path.stat()
        if path.is_dir():
            raise PaperError(f"{name} is a directory; pass a PDF, .txt or .md file")
        if st.st_size == 0:
            raise PaperError(f"{name} is empty (0 bytes); pass a non-empty PDF or text file")
        if st.st_size > max_bytes:
            raise PaperError(
                f"{name} is {st.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB "
                "limit (max_bytes); pass a smaller file or raise max_bytes"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise PaperError(f"{name} not found; check the path") from None
    except PermissionError:
        raise PaperError(f"cannot read {name} (permission denied); check its permissions") from None
    except OSError as exc:
        raise PaperError(f"cannot read {name} ({exc.strerror or exc}); check the path") from None
    if path.suffix.lower() == ".pdf" or b"%PDF-" in data[:1024]:
        parsed, n_pages, starts, textless = _parse_pdf(data, name, max_pages)
        return _paper(parsed, name, data, n_pages, starts, textless)
    text = _decode(data, name)
    if not text.strip():
        raise PaperError(f"{name} contains no text; pass a file with the paper's text")
    parsed, starts = _parse_text(text, markdown=path.suffix.lower() in MARKDOWN_SUFFIXES)
    if not parsed.text.strip():
        raise PaperError(f"{name} contains no readable text; pass a file with the paper's text")
    return _paper(parsed, name, data, None, starts)


def _existing_path(s: str) -> Path | None:
    if "\n" in s or len(s) > 4096:
        return None
    try:
        p = Path(s).expanduser()
        return p if p.exists() else None
    except (OSError, ValueError):
        return None


def load_paper(
    source: str | os.PathLike[str],
    *,
    max_pages: int = 60,
    max_bytes: int = 50_000_000,
    cache_dir: Path | None = None,
    arxiv_base_url: str | None = None,
    timeout: float = 20.0,
) -> Paper:
    """Load a paper from a file path, an arXiv id or URL, or its raw text.

    PDFs are read with pypdf (first ``max_pages`` pages; files over ``max_bytes`` are refused);
    arXiv papers are downloaded once and cached under ``cache_dir``. Raises :class:`PaperError`
    for unusable input and :class:`NetworkUnavailable` when arXiv cannot be reached.
    """
    if max_pages < 1:
        raise PaperError(f"--max-pages must be at least 1, got {max_pages}")
    if isinstance(source, os.PathLike):
        name = os.fspath(source)
        return _load_path(Path(name).expanduser(), str(name), max_pages, max_bytes)
    if not isinstance(source, str):
        raise PaperError(f"cannot load a paper from a {type(source).__name__}; pass {_KINDS}")
    s = source.strip()
    if not s:
        raise PaperError(f"the paper source is empty; pass {_KINDS}")
    path = _existing_path(s)
    if path is not None:
        return _load_path(path, s, max_pages, max_bytes)
    if "\n" in s or (len(s) > _MIN_TEXT_CHARS and re.search(r"\s", s)):
        if len(s) < 40:
            raise PaperError(f"the paper text is too short ({len(s)} characters); pass {_KINDS}")
        data = source.encode("utf-8")
        if len(data) > max_bytes:
            raise PaperError(f"the paper text is over the {max_bytes / 1e6:g} MB limit (max_bytes)")
        parsed, starts = _parse_text(s)
        return _paper(parsed, "text", data, None, starts)
    aid = parse_arxiv_id(s)
    if aid:
        ap = fetch_arxiv(
            aid, base_url=arxiv_base_url, cache_dir=cache_dir, timeout=timeout, max_bytes=max_bytes
        )
        name = f"arXiv:{aid}"
        parsed, n_pages, starts, textless = _parse_pdf(ap.pdf, name, max_pages)
        parsed.title = ap.title or parsed.title
        parsed.abstract = ap.abstract or parsed.abstract
        if parsed.abstract and "abstract" not in parsed.sections:
            parsed.sections = {"abstract": parsed.abstract, **parsed.sections}
        return _paper(parsed, name, ap.pdf, n_pages, starts, textless)
    if re.match(r"(?i)https?://", s):
        raise PaperError(f"{s} is not an arXiv URL; download the PDF and pass its path")
    if _PATH_SUFFIX.search(s) or os.sep in s or "/" in s or s.startswith(("~", ".")):
        raise PaperError(f"{s} not found; check the path")
    raise PaperError(f"{s!r} is not a file, an arXiv id or paper text; pass {_KINDS}")
