"""Tests of mlr_copilot_jupyter.papers: PDFs built at test time, text sources, arXiv on localhost."""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from mlr_copilot_jupyter.errors import InputError, NetworkUnavailable, PaperError
from mlr_copilot_jupyter.papers import (
    CANONICAL_KEYS,
    canonical_key,
    clean_text,
    join_hyphenation,
    load_paper,
    parse_arxiv_id,
    parse_paper_text,
)
from tests.support import pdfgen
from tests.support.load import time_bound

EXPECTED_KEYS = [
    "abstract",
    "introduction",
    "related_work",
    "background",
    "method",
    "experiments",
    "results",
    "discussion",
    "limitations",
    "conclusion",
    "references",
    "appendix",
]


@pytest.fixture(scope="module")
def conf_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pdfgen.make_conference_pdf(tmp_path_factory.mktemp("pdf") / "conference.pdf", pages=12)


def _assert_conference_paper(paper, path: Path, n_pages: int) -> None:
    assert paper.title == pdfgen.TITLE
    assert paper.abstract == pdfgen.ABSTRACT
    assert list(paper.sections) == EXPECTED_KEYS
    for _heading, sentinel, key in pdfgen.SECTIONS:
        holders = [k for k, v in paper.sections.items() if sentinel in v]
        assert holders == [key], (sentinel, holders)
    assert "4.1 Model Architecture" in paper.sections["method"]
    assert paper.n_pages == n_pages
    assert paper.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert paper.source == str(path)
    # running header, page numbers and the arXiv stamp are gone
    assert pdfgen.RUNNING_HEADER not in paper.text
    assert "arXiv:2401" not in paper.text
    assert not re.search(r"(?m)^\d+$", paper.text)
    # every line-end hyphenation was re-joined; real compounds kept their hyphen
    allowed = {w for s in pdfgen.FILLER + pdfgen.VERBS + pdfgen.LONG_WORDS for w in s.split()}
    body = paper.sections["introduction"] + paper.sections["discussion"]
    odd = {w for w in re.findall(r"\b[a-z][a-z-]*\b", body.lower()) if w not in allowed}
    assert odd <= {
        "with",
        "careful",
        "of",
        "the",
        "under",
        "state-of-the-art",
        "conditions",
        "paragraph",
        "opens",
        "here",
        "sentinelintro",
        "sentineldiscussion",
    }, odd
    assert "state-of-the-art" in paper.text


@pytest.mark.parametrize("two_column", [True, False])
def test_conference_pdf_sections(tmp_path: Path, two_column: bool) -> None:
    path = pdfgen.make_conference_pdf(tmp_path / "paper.pdf", pages=12, two_column=two_column)
    _assert_conference_paper(load_paper(path), path, 12)


def test_conference_pdf_as_str_and_text_layout(conf_pdf: Path) -> None:
    paper = load_paper(str(conf_pdf))
    _assert_conference_paper(paper, conf_pdf, 12)
    assert paper.text.startswith(pdfgen.TITLE)
    assert "\n\n1 Introduction\n\n" in paper.text
    assert set(paper.sections) <= set(CANONICAL_KEYS)


def test_fifteen_pages_load_fast(tmp_path: Path) -> None:
    path = pdfgen.make_conference_pdf(tmp_path / "long.pdf", pages=15)
    start = time.perf_counter()
    paper = load_paper(path)
    assert time.perf_counter() - start < time_bound(10)
    assert paper.n_pages == 15


def test_page_cap_reads_first_pages_and_logs(
    conf_pdf: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mlr_copilot_jupyter"):
        paper = load_paper(conf_pdf, max_pages=2)
    assert paper.n_pages == 12
    assert "introduction" in paper.sections and "references" not in paper.sections
    assert any("first 2 of 12 pages" in r.getMessage() for r in caplog.records)


def test_size_cap_names_file_and_limit(conf_pdf: Path) -> None:
    with pytest.raises(PaperError) as err:
        load_paper(conf_pdf, max_bytes=1000)
    assert conf_pdf.name in str(err.value) and "max_bytes" in str(err.value)


def _bad_inputs(tmp: Path, valid: Path) -> dict[str, Path]:
    bad = pdfgen.corrupt_copies(valid, tmp)
    bad["encrypted.pdf"] = pdfgen.make_encrypted_pdf(tmp / "encrypted.pdf")
    bad["scanned.pdf"] = pdfgen.make_image_only_pdf(tmp / "scanned.pdf")
    (tmp / "a_directory").mkdir()
    bad["a_directory"] = tmp / "a_directory"
    bad["missing.pdf"] = tmp / "missing.pdf"
    (tmp / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    bad["binary.txt"] = tmp / "binary.txt"
    (tmp / "empty.txt").write_bytes(b"")
    bad["empty.txt"] = tmp / "empty.txt"
    (tmp / "blank.md").write_text(" \n\n\t\n", encoding="utf-8")
    bad["blank.md"] = tmp / "blank.md"
    return bad


BAD_MESSAGES = {
    "truncated.pdf": "truncated",
    "garbage.pdf": "not a PDF",
    "empty.pdf": "empty",
    "header_only.pdf": "truncated",
    "html.pdf": "not a PDF",
    "corrupt.pdf": "corrupt",
    "encrypted.pdf": "is encrypted; provide a decrypted copy",
    "scanned.pdf": "no extractable text (scanned?); run OCR first e.g. ocrmypdf",
    "a_directory": "is a directory",
    "missing.pdf": "not found",
    "binary.txt": "binary",
    "empty.txt": "empty",
    "blank.md": "no text",
}


def test_bad_inputs_raise_one_line_paper_errors(
    tmp_path: Path, conf_pdf: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _bad_inputs(tmp_path, conf_pdf)
    assert set(bad) == set(BAD_MESSAGES)
    with caplog.at_level(logging.DEBUG):
        for name, path in bad.items():
            for source in (path, str(path)):
                with pytest.raises(PaperError) as err:
                    load_paper(source)
                message = str(err.value)
                assert "\n" not in message and name in message, message
                assert BAD_MESSAGES[name] in message, message
                assert isinstance(err.value, InputError)
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_encrypted_with_empty_user_password_opens(tmp_path: Path) -> None:
    paper = load_paper(pdfgen.make_encrypted_pdf(tmp_path / "open.pdf", user_password=""))
    assert paper.title == pdfgen.TITLE and "introduction" in paper.sections


def test_aes_without_cryptography_is_a_paper_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PageObject
    from pypdf.errors import DependencyError

    def needs_aes(self: object, *args: object, **kwargs: object) -> str:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(PageObject, "extract_text", needs_aes)
    path = pdfgen.make_encrypted_pdf(tmp_path / "aes.pdf", user_password="")
    with pytest.raises(PaperError, match=r"aes\.pdf is encrypted \(AES\); provide a decrypted"):
        load_paper(path)


def test_ligature_pdf(tmp_path: Path) -> None:
    path = pdfgen.make_ligature_pdf(tmp_path / "lig.pdf")
    if path is None:
        pytest.skip("no DejaVu Sans TTF on this system")
    paper = load_paper(path)
    assert paper.title == "Efficient Speech Models"
    assert paper.abstract.startswith("We find that the effect of flexible adapters is significant")
    assert "offline baseline differs" in paper.abstract
    assert not re.search("[\ufb00-\ufb06]", paper.text)
    assert "The first section is here." in paper.sections["introduction"]


def test_clean_text_ligatures_hyphens_unicode() -> None:
    raw = (
        "The \ufb01rst e\ufb00ect of speech recog-\nnition and\u00a0e\ufb03cient   models.\n"
        "It is state-of-the-\nart and self-\nsupervised; GPT-\n4 and BERT-\nbased.\n\n"
        "Second  para\ufb02    here\u00ad.\n"
    )
    assert clean_text(raw) == (
        "The first effect of speech recognition and efficient models. It is state-of-the-art "
        "and self-supervised; GPT-4 and BERT-based.\n\nSecond parafl here."
    )


def test_hyphenation_uses_document_vocabulary() -> None:
    lines = ["a multi-", "lingual model", "is multilingual", "a multi-", "task model", "multi-task"]
    assert join_hyphenation(lines) == [
        "a multilingual",
        "model",
        "is multilingual",
        "a multi-task",
        "model",
        "multi-task",
    ]


def test_text_markdown_and_raw_string_sources(tmp_path: Path) -> None:
    body = "\n\n".join(
        [
            "Graph Adapters for Molecules",
            "Abstract",
            "We study graph adapters. " * 12,
            "1 Introduction",
            "Molecules matter. " * 20,
            "2 Method",
            "We add adapters. " * 20,
            "3 Experiments",
            "We test on QM9. " * 20,
            "4 Conclusion",
            "It works. " * 10,
        ]
    )
    txt = tmp_path / "paper.txt"
    txt.write_text(body, encoding="utf-8")
    md = tmp_path / "paper.md"
    md.write_text(re.sub(r"(?m)^(Abstract|\d \w+)$", r"## \1", "# " + body), encoding="utf-8")
    for source, name in ((txt, str(txt)), (md, str(md)), (body, "text")):
        paper = load_paper(source)
        assert paper.source == name and paper.n_pages is None
        assert paper.title == "Graph Adapters for Molecules"
        assert paper.abstract.startswith("We study graph adapters.")
        assert list(paper.sections) == [
            "abstract",
            "introduction",
            "method",
            "experiments",
            "conclusion",
        ]
        assert paper.sections["method"].startswith("We add adapters.")
    assert load_paper(body).sha256 == hashlib.sha256(body.encode()).hexdigest()


def test_markdown_subsections_stay_in_parent_and_code_fences_ignored(tmp_path: Path) -> None:
    md = tmp_path / "notes.md"
    md.write_text(
        "# My Paper\n\nIntro words here.\n\n## Approach\n\nWe do X.\n\n### Details\n\n"
        "More.\n\n```\n# not a heading\n```\n\n## Results\n\nGood.\n",
        encoding="utf-8",
    )
    paper = load_paper(md)
    assert paper.title == "My Paper"
    assert list(paper.sections) == ["method", "results"]
    assert "Details" in paper.sections["method"] and "# not a heading" in paper.sections["method"]
    assert paper.abstract == "Intro words here."


def test_non_utf8_text_file_decodes(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    text = (
        "Caf\u00e9 R\u00e9sum\u00e9 Study\n\n\u201cNa\u00efve\u201d methods " + "are tested. " * 30
    )
    path.write_bytes(text.encode("cp1252") + b"\x81")
    paper = load_paper(path)
    assert paper.title == "Caf\u00e9 R\u00e9sum\u00e9 Study"
    assert "\u201cNa\u00efve\u201d" in paper.text and "\ufffd" in paper.text


def test_no_headings_goes_to_body() -> None:
    text = "\n\n".join(
        f"Paragraph {i} talks about learning rates and batch sizes at length. " * 3
        for i in range(4)
    )
    paper = load_paper(text)
    assert list(paper.sections) == ["body"]
    assert paper.abstract.startswith("Paragraph 0")
    assert "Paragraph 3" in paper.sections["body"]


def test_ieee_roman_headings_and_inline_abstract() -> None:
    text = "\n".join(
        [
            "Robust Control of Drones With Learned Models",
            "Jane Doe, John Roe",
            "Abstract\u2014We present a controller for drones that learns its own dynamics model.",
            "I. INTRODUCTION",
            "Drones are everywhere. " * 8,
            "II. RELATED WORK",
            "Others did things. " * 8,
            "III. PROPOSED FRAMEWORK",
            "A. Dynamics Model",
            "We learn it. " * 8,
            "IV. EXPERIMENTS",
            "We fly. " * 8,
            "V. CONCLUSION",
            "Done. " * 8,
            "REFERENCES",
            "[1] X.",
        ]
    )
    paper = parse_paper_text(text)
    assert paper.title == "Robust Control of Drones With Learned Models"
    assert paper.abstract.startswith("We present a controller")
    assert list(paper.sections) == [
        "abstract",
        "introduction",
        "related_work",
        "method",
        "experiments",
        "conclusion",
        "references",
    ]


def test_unknown_numbered_headings_slug_and_method_inference() -> None:
    text = "\n".join(
        [
            "A Study of Sparse Things in Deep Networks",
            "Abstract",
            "We study sparsity. " * 10,
            "1 Introduction",
            "Sparsity matters. " * 10,
            "2 Sparse Mixture Adapters",
            "Our design is here. " * 10,
            "3 Experiments",
            "We run it. " * 10,
            "Datasets",
            "10 datasets are used. " * 3,
            "4 Ethics Statement",
            "No issues. " * 10,
            "5 We report that the rest of the paper",
            "is just text that starts with a number. " * 3,
            "7 Bogus Heading Out Of Order",
            "Text. " * 10,
            "Appendix",
            "A Proofs",
            "Proof text. " * 10,
            "B More Results",
            "More. " * 10,
        ]
    )
    paper = parse_paper_text(text)
    assert list(paper.sections) == [
        "abstract",
        "introduction",
        "method",
        "experiments",
        "ethics_statement",
        "appendix",
    ]
    assert paper.sections["method"].startswith("Our design is here.")
    assert "Datasets\n\n10 datasets are used." in paper.sections["experiments"]
    assert "7 Bogus Heading" in paper.sections["ethics_statement"]
    assert "Proof text." in paper.sections["appendix"] and "More." in paper.sections["appendix"]


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("Introduction", "introduction"),
        ("Related Works", "related_work"),
        ("Preliminaries", "background"),
        ("Methodology", "method"),
        ("Proposed Method", "method"),
        ("Our Approach", "method"),
        ("Experimental Setup", "experiments"),
        ("Evaluation", "experiments"),
        ("Experimental Results", "results"),
        ("Conclusions and Future Work", "conclusion"),
        ("Limitations", "limitations"),
        ("Bibliography", "references"),
        ("Acknowledgments", "acknowledgements"),
        ("Appendices", "appendix"),
        ("Discussion", "discussion"),
        ("Sparse Adapters", None),
    ],
)
def test_canonical_key(title: str, key: str | None) -> None:
    assert canonical_key(title) == key


def test_form_feed_pages_drop_running_lines() -> None:
    page = "My Workshop Header 2024\n{body}\n{n}"
    pages = [
        page.format(body="Some sentence of the paper text goes here. " * 3, n=i)
        for i in range(1, 6)
    ]
    paper = parse_paper_text("\f".join(pages))
    assert "Workshop Header" not in paper.text and not re.search(r"(?m)^\d$", paper.text)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("2408.14033", "2408.14033"),
        ("2408.14033v2", "2408.14033v2"),
        ("arXiv:2408.14033", "2408.14033"),
        ("arxiv:1234.5678", "1234.5678"),
        ("cs/0112017", "cs/0112017"),
        ("math.GT/0309136v1", "math.GT/0309136v1"),
        ("https://arxiv.org/abs/2408.14033v1", "2408.14033v1"),
        ("https://arxiv.org/pdf/2408.14033", "2408.14033"),
        ("http://export.arxiv.org/pdf/2408.14033v3.pdf", "2408.14033v3"),
        ("2408.1403", "2408.1403"),
        ("2408.140", None),
        ("paper.pdf", None),
        ("https://example.com/abs/2408.14033", None),
    ],
)
def test_parse_arxiv_id(source: str, expected: str | None) -> None:
    assert parse_arxiv_id(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "",
        "   ",
        "hello",
        "no_such_file.pdf",
        "dir/paper.txt",
        "https://example.com/paper.pdf",
        "too short\ntext",
    ],
)
def test_unusable_sources(source: str) -> None:
    with pytest.raises(PaperError) as err:
        load_paper(source)
    assert "\n" not in str(err.value)


# --- arXiv against a local server --------------------------------------------------------------

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>arXiv Query</title>
  {entry}
</feed>"""
ENTRY = """<entry><id>http://arxiv.org/abs/{aid}v1</id>
  <title>Sparse Mixture Adapters for
     Robust Speech Recognition</title>
  <summary>  An abstract from the
   arXiv API.  </summary>
  <author><name>Alice Smith</name></author><author><name>Bob Jones</name></author>
</entry>"""
ERROR_ENTRY = """<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_{aid}</id>
  <title>Error</title><summary>incorrect id format for {aid}</summary></entry>"""


class _Arxiv(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # headers and body in two writes: no delayed-ACK wait
    pdf = b""
    hits: list[str] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        type(self).hits.append(url.path)
        aid = parse_qs(url.query).get("id_list", [""])[0]
        if url.path == "/api/query":
            entry = (
                ENTRY if aid.startswith("2401.") else ERROR_ENTRY if aid == "bad/0000000" else ""
            )
            self._send(
                200, ATOM.format(entry=entry.format(aid=aid)).encode(), "application/atom+xml"
            )
        elif url.path.startswith("/pdf/2401."):
            self._send(200, self.pdf, "application/pdf")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def arxiv_server(conf_pdf: Path) -> Iterator[str]:
    _Arxiv.pdf = conf_pdf.read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Arxiv)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)  # shutdown() waits up to one poll interval
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_arxiv_fetch_parse_and_cache(arxiv_server: str, tmp_path: Path, conf_pdf: Path) -> None:
    _Arxiv.hits.clear()
    paper = load_paper("arXiv:2401.00001", arxiv_base_url=arxiv_server, cache_dir=tmp_path)
    assert paper.source == "arXiv:2401.00001"
    assert paper.title == "Sparse Mixture Adapters for Robust Speech Recognition"
    assert paper.abstract == "An abstract from the arXiv API."
    assert "method" in paper.sections and paper.n_pages == 12
    assert paper.sha256 == hashlib.sha256(conf_pdf.read_bytes()).hexdigest()
    assert _Arxiv.hits == ["/api/query", "/pdf/2401.00001"]
    assert (tmp_path / "2401.00001.pdf").is_file() and (tmp_path / "2401.00001.json").is_file()
    # second load: cache hit, no request, works even with arXiv unreachable
    again = load_paper(
        "https://arxiv.org/abs/2401.00001", arxiv_base_url=_closed_port_url(), cache_dir=tmp_path
    )
    assert again == paper and len(_Arxiv.hits) == 2


def test_arxiv_unknown_ids_raise_paper_error(arxiv_server: str, tmp_path: Path) -> None:
    for source in ("2999.99999", "bad/0000000"):
        with pytest.raises(PaperError, match=re.escape(source.split("/")[0])) as err:
            load_paper(source, arxiv_base_url=arxiv_server, cache_dir=tmp_path)
        assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_arxiv_offline_raises_network_unavailable(tmp_path: Path) -> None:
    with pytest.raises(NetworkUnavailable) as err:
        load_paper("2408.14033", arxiv_base_url=_closed_port_url(), cache_dir=tmp_path, timeout=2)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("cannot reach arXiv to fetch 2408.14033 (")
    assert message.endswith("download the PDF yourself and pass its path")


