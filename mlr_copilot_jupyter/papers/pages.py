"""Where each page of a paper begins in its cleaned text, so a quote can be cited with its page.

The loader reflows lines into paragraphs and re-joins hyphenated words, so page boundaries are
not kept as offsets by the parse. They are found again afterwards: each page is anchored by a run
of words from its head (skipping the first word, which may be the tail of a word hyphenated
across the page break) that occurs only once in the rest of the *flat* text (whitespace collapsed
to single spaces, :func:`..models.flat`, the text the offsets are into). A page whose anchor is
not found (a page of figures, a table the parse reordered) takes the previous page's offset, and
:meth:`..models.Paper.page_at` gives the first page of such a run: the last one that can be
vouched for, never a later one.
"""

from __future__ import annotations

from ..models import flat
from .pdf import join_hyphenation

#: Words of a line that anchor its page (after its first word); an anchor must occur once in
#: the rest of the text (generated or boilerplate prose repeats shorter phrases).
ANCHOR_WORDS = 8
#: A line shorter than this (a page number, a stray heading) does not anchor a page.
MIN_ANCHOR_CHARS = 25


def page_starts(pages: list[list[str]], text: str) -> list[int]:
    """Offsets in ``flat(text)`` where each page (its lines, running lines removed) begins.

    The first page starts at 0; the list has one entry per page and never decreases."""
    flat_text = flat(text).lower()
    starts: list[int] = []
    position = 0
    for number, lines in enumerate(pages):
        if number == 0:
            starts.append(0)
            continue
        words = flat(" ".join(join_hyphenation(lines[:40]))).lower().split()
        found = -1
        # windows from the page's head; the first word may end a word split across the break
        for begin in range(1, max(2, min(len(words) - ANCHOR_WORDS, 200)), ANCHOR_WORDS):
            anchor = " ".join(words[begin:begin + ANCHOR_WORDS])
            if len(anchor) < MIN_ANCHOR_CHARS:
                continue
            at = flat_text.find(anchor, position)
            if at >= 0 and flat_text.find(anchor, at + 1) < 0:  # once: it is this page's
                # back over the page's words before the anchor
                found = max(at - len(" ".join(words[:begin])) - 1, position)
                break
        if found >= 0:
            position = found
        starts.append(position)
    return starts
