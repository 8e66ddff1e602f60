"""Loading papers (PDF, text, markdown, arXiv) and finding their sections.

>>> from mlr_copilot_jupyter.papers import load_paper
>>> paper = load_paper("paper.pdf")  # or "2408.14033", an arXiv URL, a .txt/.md path, raw text
"""

from __future__ import annotations

from .arxiv import ArxivPaper, fetch_arxiv, parse_arxiv_id
from .loader import load_paper, parse_paper_text
from .pdf import clean_text, join_hyphenation, normalize_text
from .sections import CANONICAL_KEYS, ParsedPaper, canonical_key

__all__ = [
    "CANONICAL_KEYS",
    "ArxivPaper",
    "ParsedPaper",
    "canonical_key",
    "clean_text",
    "fetch_arxiv",
    "join_hyphenation",
    "load_paper",
    "normalize_text",
    "parse_arxiv_id",
    "parse_paper_text",
]
