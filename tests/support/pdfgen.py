"""Build test PDFs with fpdf2 at test time (no paper is ever downloaded).

Reused by other test modules (CLI, magics): ``make_conference_pdf``, ``make_image_only_pdf``,
``make_encrypted_pdf``, ``make_ligature_pdf``, ``corrupt_copies``.
"""

from __future__ import annotations

import random
from pathlib import Path

from fpdf import FPDF

TITLE = "Sparse Mixture Adapters for Robust Low-Resource Speech Recognition"
AUTHORS = "Alice Smith1, Bob Jones2, Carol White1"
AFFILIATIONS = "1University of Testing, 2Institute of Examples"
EMAILS = "{alice, carol}@testing.edu, bob@examples.org"
RUNNING_HEADER = "Proceedings of the Conference on Testing Machine Learning 2024"
ARXIV_STAMP = "arXiv:2401.00001v2 [cs.CL] 12 Jan 2024"
ABSTRACT = (
    "Speech recognition in low-resource languages remains difficult because labelled audio is "
    "scarce and acoustic conditions vary widely. We propose sparse mixture adapters, a "
    "parameter-efficient method that routes each utterance through a small set of specialised "
    "adapter modules. On five benchmark languages our approach reduces the word error rate by "
    "twelve percent relative to strong state-of-the-art baselines while training only three "
    "percent of the parameters."
)

#: Results lines for ``make_conference_pdf(results=...)``: two results sentences and a results
#: table (caption, header, rows) of the speech paper, with numbers and datasets to extract.
SPEECH_RESULTS = (
    "On LibriSpeech our sparse mixture adapters reach a word error rate of 7.4% compared with "
    "8.9% for full fine-tuning.",
    "On Common Voice the WER drops to 12.3% while training 3 percent of the parameters.",
    "Table 2: WER of each system.",
    "System LibriSpeech Common Voice",
    "Dense adapters 8.1 14.6",
    "Sparse mixture adapters 7.4 12.3",
)
# (heading, sentinel word, canonical key); the sentinel is unique to its section.
SECTIONS: list[tuple[str, str, str]] = [
    ("1 Introduction", "SENTINELINTRO", "introduction"),
    ("2 Related Work", "SENTINELRELATED", "related_work"),
    ("3 Background", "SENTINELBACKGROUND", "background"),
    ("4 Proposed Method", "SENTINELMETHOD", "method"),
    ("5 Experimental Setup", "SENTINELEXPERIMENTS", "experiments"),
    ("6 Results", "SENTINELRESULTS", "results"),
    ("7 Discussion", "SENTINELDISCUSSION", "discussion"),
    ("8 Limitations", "SENTINELLIMITATIONS", "limitations"),
    ("9 Conclusion", "SENTINELCONCLUSION", "conclusion"),
    ("References", "SENTINELREFERENCES", "references"),
    ("Appendix", "SENTINELAPPENDIX", "appendix"),
]

# Long lowercase words the line wrapper likes to hyphenate at line ends.
LONG_WORDS = (
    "recognition",
    "representation",
    "transformation",
    "generalization",
    "computational",
    "understanding",
    "multilingual",
    "performance",
    "architecture",
    "optimization",
    "regularization",
    "experimental",
    "significantly",
    "interpretability",
    "configuration",
)
FILLER = (
    "the model",
    "our adapters",
    "each utterance",
    "the acoustic encoder",
    "the decoder",
    "a small routing network",
    "the baseline",
    "every language",
    "the training data",
)
VERBS = ("improves", "changes", "stabilises", "affects", "supports", "limits", "explains")
STANDARD_FONT = "Helvetica"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(FILLER), rng.choice(VERBS), "the", rng.choice(LONG_WORDS), "of"]
    words += [rng.choice(FILLER), "with", "careful", rng.choice(LONG_WORDS)]
    if rng.random() < 0.2:
        words += ["under", "state-of-the-art", "conditions"]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, n: int = 5, extra: str = "") -> str:
    body = " ".join(_sentence(rng) for _ in range(n))
    return f"{extra} {body}".strip()


class _Writer:
    """Greedy line layout in one or two columns, hyphenating long lowercase words."""

    def __init__(self, pdf: FPDF, two_column: bool, font: str, header: str) -> None:
        self.pdf, self.font, self.header = pdf, font, header
        self.ncols = 2 if two_column else 1
        self.gap = 8.0
        self.col_w = (
            pdf.w - pdf.l_margin - pdf.r_margin - (self.ncols - 1) * self.gap
        ) / self.ncols
        self.col, self.y, self.lh = 0, pdf.t_margin, 4.6
        self.top = pdf.t_margin

    def new_page(self) -> None:
        self.pdf.add_page()
        page = self.pdf.page_no()
        if page > 1:
            self.pdf.set_font(self.font, size=8)
            self.pdf.set_xy(self.pdf.l_margin, 8)
            self.pdf.cell(0, 4, self.header, align="C")
        self.pdf.set_font(self.font, size=9)
        self.pdf.set_xy(self.pdf.l_margin, self.pdf.h - 12)
        self.pdf.cell(0, 4, str(page), align="C")
        self.col, self.y = 0, self.top

    def _x(self) -> float:
        return self.pdf.l_margin + self.col * (self.col_w + self.gap)

    def _advance(self, height: float) -> None:
        if self.y + height > self.pdf.h - self.pdf.b_margin:
            if self.col + 1 < self.ncols:
                self.col, self.y = self.col + 1, self.top
            else:
                self.new_page()

    def _wrap(self, text: str, size: float) -> list[str]:
        self.pdf.set_font(self.font, size=size)
        width = self.col_w - 1
        fits = lambda s: self.pdf.get_string_width(s) <= width  # noqa: E731
        lines, cur = [], ""
        for word in text.split():
            trial = f"{cur} {word}" if cur else word
            if fits(trial):
                cur = trial
                continue
            if word.isalpha() and word.islower() and len(word) >= 7 and cur:
                for cut in range(len(word) - 3, 2, -1):
                    if fits(f"{cur} {word[:cut]}-"):
                        lines.append(f"{cur} {word[:cut]}-")
                        word = word[cut:]
                        break
                else:
                    lines.append(cur)
            elif cur:
                lines.append(cur)
            cur = word
        if cur:
            lines.append(cur)
        return lines

    def write(self, text: str, size: float = 9.5, style: str = "", space: float = 1.5) -> None:
        self.pdf.set_font(self.font, style=style, size=size)
        for line in self._wrap(text, size):
            self._advance(self.lh)
            self.pdf.set_font(self.font, style=style, size=size)
            self.pdf.set_xy(self._x(), self.y)
            self.pdf.cell(self.col_w, self.lh, line)
            self.y += self.lh
        self.y += space


def make_conference_pdf(
    path: str | Path, pages: int = 12, two_column: bool = True, seed: int = 7,
    results: tuple[str, ...] = (),
) -> Path:
    """Write a conference-style paper with at least ``pages`` pages; return its path.

    Page 1 has an arXiv stamp, title, authors, affiliations, e-mails and an abstract; later pages
    a running header; every page a page number. Sections are those of :data:`SECTIONS`, each
    holding its sentinel word. Long words are hyphenated at line ends. ``results`` are lines
    (sentences, or a table's caption, header and rows) written at the top of the results section.
    """
    rng = random.Random(seed)
    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_margins(18, 20, 18)
    pdf.b_margin = 20
    w = _Writer(pdf, two_column, STANDARD_FONT, RUNNING_HEADER)
    w.new_page()
    pdf.set_font(STANDARD_FONT, size=8)
    pdf.set_xy(pdf.l_margin, 10)
    pdf.cell(0, 4, ARXIV_STAMP)
    pdf.set_font(STANDARD_FONT, style="B", size=15)
    pdf.set_xy(pdf.l_margin, 22)
    pdf.multi_cell(0, 7, TITLE, align="C")
    pdf.set_font(STANDARD_FONT, size=10)
    for line in (AUTHORS, AFFILIATIONS, EMAILS):
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 5, line, align="C")
    pdf.ln(4)
    pdf.set_font(STANDARD_FONT, style="B", size=11)
    pdf.set_x(pdf.l_margin)
    pdf.cell(0, 6, "Abstract", align="C")
    pdf.ln(7)
    pdf.set_font(STANDARD_FONT, size=9.5)
    pdf.set_x(pdf.l_margin + 15)
    pdf.multi_cell(pdf.w - pdf.l_margin - pdf.r_margin - 30, 4.6, ABSTRACT, align="L")
    w.top = pdf.get_y() + 6
    w.y = w.top
    per_section = max(2, pages // 3)
    for heading, sentinel, key in SECTIONS:
        w.write(heading, size=11, style="B", space=1)
        w.top = pdf.t_margin if pdf.page_no() > 1 else w.top
        if key == "references":
            for i in range(12 + pages):
                w.write(
                    f"[{i + 1}] A. Author and B. Author. Title of cited work number {i + 1}. "
                    f"In Proceedings of Venue, pages {i + 10}-{i + 20}, 2023. {sentinel}"
                )
            continue
        if key == "results":
            for line in results:
                w.write(line, space=0.5)
        for i in range(per_section):
            w.write(
                _paragraph(rng, extra=f"{sentinel} paragraph {i + 1} opens here." if i == 0 else "")
            )
            if key == "method" and i == 0:
                w.write("4.1 Model Architecture", size=10, style="B", space=1)
        w.top = pdf.t_margin
    while pdf.page_no() < pages:  # appendix filler up to the requested length
        w.write(_paragraph(rng, extra="SENTINELAPPENDIX"))
    pdf.output(str(path))
    return Path(path)


def _add_image_pages(pdf: FPDF, pages: int, colour: tuple[int, int, int]) -> None:
    """``pages`` pages holding a drawn rectangle and an image, but no text (a scan)."""
    from PIL import Image

    img = Image.new("RGB", (60, 40), colour)
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(20, 20, 120, 80, style="F")
        pdf.image(img, x=30, y=120, w=60)


def make_image_only_pdf(path: str | Path, pages: int = 2) -> Path:
    """A "scanned" PDF: pages hold a drawn rectangle and an image, but no text."""
    pdf = FPDF()
    _add_image_pages(pdf, pages, (200, 30, 30))
    pdf.output(str(path))
    return Path(path)


def make_encrypted_pdf(path: str | Path, user_password: str = "secret") -> Path:
    """A short text PDF encrypted (RC4) with ``user_password``; "" means opens without one."""
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner-pw", user_password=user_password)
    pdf.add_page()
    pdf.set_font(STANDARD_FONT, size=11)
    pdf.multi_cell(0, 6, f"{TITLE}\n\nAbstract\n\n{ABSTRACT}\n\n1 Introduction\n\n" + "Text. " * 80)
    pdf.output(str(path))
    return Path(path)


def make_ligature_pdf(path: str | Path) -> Path | None:
    """A PDF whose text uses Unicode ligature glyphs (DejaVu Sans); None if the font is missing."""
    if not DEJAVU.exists():
        return None
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(DEJAVU))
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    abstract = (
        "We ﬁnd that the eﬀect of ﬂexible adapters is signiﬁcant and the oﬄine baseline diﬀers. "
    )
    body = "The ﬁrst section is here. " * 30
    pdf.multi_cell(
        0, 6, f"Eﬃcient Speech Models\n\nAbstract\n\n{abstract * 4}\n\n1 Introduction\n\n{body}"
    )
    pdf.output(str(path))
    return Path(path)


def make_plain_pdf(path: str | Path, text: str) -> Path:
    """A one-column PDF holding ``text`` (latin-1) verbatim, one paragraph per blank line."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font(STANDARD_FONT, size=10)
    pdf.multi_cell(0, 5, text)
    pdf.output(str(path))
    return Path(path)


def corrupt_copies(valid_pdf: Path, out_dir: Path) -> dict[str, Path]:
    """Broken variants of ``valid_pdf``: truncated, garbage, zero-byte, mangled xref/body."""
    data = valid_pdf.read_bytes()
    rng = random.Random(1)
    variants = {
        "truncated.pdf": data[: len(data) // 2],
        "garbage.pdf": bytes(rng.randrange(256) for _ in range(4096)),
        "empty.pdf": b"",
        "header_only.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        "html.pdf": b"<!DOCTYPE html><html><body>PDF unavailable</body></html>",
        "corrupt.pdf": data[:200]
        + bytes(rng.randrange(256) for _ in range(len(data) - 400))
        + data[-200:],
    }
    out = {}
    for name, blob in variants.items():
        p = out_dir / name
        p.write_bytes(blob)
        out[name] = p
    return out


def make_partly_scanned_pdf(path: str | Path, text: str, scanned_pages: int = 2) -> Path:
    """A PDF whose first page holds ``text`` and whose next ``scanned_pages`` pages are images
    only (a results table pasted as a picture, a scanned appendix): no text layer there."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font(STANDARD_FONT, size=10)
    pdf.multi_cell(0, 5, text)
    _add_image_pages(pdf, scanned_pages, (30, 30, 200))
    pdf.output(str(path))
    return Path(path)
