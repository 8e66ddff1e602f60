"""A small arXiv client: parse ids/URLs, fetch Atom metadata and the PDF, cache both on disk.

The API is ``{api_base}/api/query?id_list=ID`` (default ``https://export.arxiv.org``); the PDF is
``{pdf_base}/pdf/ID`` (default ``https://arxiv.org``). One ``base_url`` overrides both (tests,
mirrors). Unreachable hosts raise :class:`NetworkUnavailable`; unknown ids raise
:class:`PaperError`.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ..errors import NetworkUnavailable, PaperError

API_BASE = "https://export.arxiv.org"
PDF_BASE = "https://arxiv.org"
_ATOM = "{http://www.w3.org/2005/Atom}"
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7}"
_ID = re.compile(rf"^(?:arxiv:\s*)?(?P<id>(?:{_NEW_ID}|{_OLD_ID})(?:v\d+)?)$", re.IGNORECASE)
_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<id>(?:{_NEW_ID}|{_OLD_ID})"
    r"(?:v\d+)?)(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_HINT = "download the PDF yourself and pass its path"


@dataclass
class ArxivPaper:
    """Metadata and PDF bytes of one arXiv paper."""

    arxiv_id: str
    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    pdf: bytes = b""


def parse_arxiv_id(source: str) -> str | None:
    """The arXiv id in ``source`` (``2408.14033v2``, ``arXiv:cs/0112017``, an abs/pdf URL), or None."""
    s = source.strip()
    m = _ID.match(s) or _URL.match(s)
    if not m:
        return None
    aid = m.group("id")
    if "/" in aid:  # old style: archive lower-case, subject class upper-case
        archive, num = aid.split("/")
        head, _, sub = archive.partition(".")
        aid = f"{head.lower()}{'.' + sub.upper() if sub else ''}/{num}"
    return re.sub(r"V(\d+)$", r"v\1", aid)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mlr-copilot/arxiv`` or ``~/.cache/mlr-copilot/arxiv``."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "mlr-copilot" / "arxiv"


def _client(url: str, timeout: float) -> httpx.Client:
    host = urlsplit(url).hostname or ""
    local = host in ("localhost", "127.0.0.1", "::1")  # never send loopback through a proxy
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        trust_env=not local,
        headers={"User-Agent": "mlr-copilot-jupyter (arXiv client)"},
    )


def _get(url: str, aid: str, what: str, timeout: float, max_bytes: int) -> bytes:
    """GET ``url``; map transport failures to NetworkUnavailable and HTTP errors to PaperError."""
    try:
        with _client(url, timeout) as client, client.stream("GET", url) as resp:
            if resp.status_code == 404:
                raise PaperError(f"arXiv has no {what} for {aid} (HTTP 404); check the id")
            if resp.status_code == 429 or resp.status_code >= 500:
                raise NetworkUnavailable(
                    f"arXiv answered HTTP {resp.status_code} for {aid}; try again later or {_HINT}"
                )
            if resp.status_code >= 400:
                raise PaperError(
                    f"arXiv refused the {what} of {aid} (HTTP {resp.status_code}); {_HINT}"
                )
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise PaperError(
                        f"the {what} of arXiv:{aid} is over the {max_bytes} byte limit (max_bytes); "
                        f"{_HINT}"
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except (httpx.TransportError, OSError) as exc:  # connect/read errors and timeouts
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise NetworkUnavailable(f"cannot reach arXiv to fetch {aid} ({reason}); {_HINT}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise PaperError(f"cannot fetch {aid} from arXiv ({type(exc).__name__}: {exc})") from None


def parse_atom(xml: bytes, aid: str) -> ArxivPaper:
    """Title, abstract and authors of the first entry of an arXiv API Atom feed."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise PaperError(f"arXiv returned unreadable metadata for {aid}; {_HINT}") from None
    entry = root.find(f"{_ATOM}entry")

    def text(node: ET.Element | None, tag: str) -> str:
        found = node.find(f"{_ATOM}{tag}") if node is not None else None
        return " ".join((found.text or "").split()) if found is not None else ""

    entry_id = text(entry, "id")
    if entry is None or "api/errors" in entry_id or text(entry, "title").lower() == "error":
        raise PaperError(f"arXiv has no paper {aid}; check the id")
    authors = [text(a, "name") for a in entry.findall(f"{_ATOM}author")]
    return ArxivPaper(
        aid,
        title=text(entry, "title"),
        abstract=text(entry, "summary"),
        authors=[a for a in authors if a],
    )


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:  # an unwritable cache must not fail the load
        pass


def fetch_arxiv(
    arxiv_id: str,
    *,
    base_url: str | None = None,
    cache_dir: Path | None = None,
    timeout: float = 20.0,
    max_bytes: int = 50_000_000,
) -> ArxivPaper:
    """Metadata and PDF of ``arxiv_id``, from ``cache_dir`` if cached, else from arXiv."""
    aid = parse_arxiv_id(arxiv_id) or arxiv_id
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    stem = aid.replace("/", "_")
    meta_path, pdf_path = cache / f"{stem}.json", cache / f"{stem}.pdf"
    if meta_path.is_file() and pdf_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            return ArxivPaper(
                aid,
                title=meta.get("title", ""),
                abstract=meta.get("abstract", ""),
                authors=list(meta.get("authors", [])),
                pdf=pdf_path.read_bytes(),
            )
        except (OSError, ValueError):
            pass  # broken cache entry: fetch again
    api = (base_url or API_BASE).rstrip("/")
    pdf_base = (base_url or PDF_BASE).rstrip("/")
    paper = parse_atom(
        _get(f"{api}/api/query?id_list={aid}", aid, "metadata", timeout, 10_000_000), aid
    )
    pdf = _get(f"{pdf_base}/pdf/{aid}", aid, "PDF", timeout, max_bytes)
    if b"%PDF-" not in pdf[:1024]:
        raise PaperError(f"arXiv returned no PDF for {aid} (withdrawn or not yet built?); {_HINT}")
    paper.pdf = pdf
    _write(pdf_path, pdf)
    meta = {"id": aid, "title": paper.title, "abstract": paper.abstract, "authors": paper.authors}
    _write(meta_path, json.dumps(meta, indent=1).encode("utf-8"))
    return paper
