"""Where each page of a paper begins in its cleaned text, so a quote can be cited with its page.

The loader reflows lines into paragraphs and re-joins hyphenated words, so page boundaries are
not kept as offsets by the parse. They are found again afterwards: each page is anchored by a run
of words from one of its first lines (skipping the first word, which may be the tail of a word
hyphenated across the page break) that occurs only once in the rest of the *flat* text (whitespace collapsed to single
spaces) after the previous page's anchor. Offsets are into :func:`..models.flat`; a page whose anchor is
not found (a page of figures, a table the parse reordered) takes the previous page's offset, so
a quote is cited with the last page that can be vouched for, never a later one.
"""

from __future__ import annotations

from ..models import flat

#: Words of a line that anchor its page (after its first word); an anchor must occur once in
#: the rest of the text (generated or boilerplate prose repeats shorter phrases).
ANCHOR_WORDS = 8
#: A line shorter than this (a page number, a stray heading) does not anchor a page.
MIN_ANCHOR_CHARS = 25


def page_starts(pages: list[list[str]], text: str) -> list[int]:
    """Offsets in ``flat(text)`` where each page (its lines, running lines removed) begins.

    The first page starts at 0; the list has one entry per page and never decreases."""
    from .pdf import join_hyphenation

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
                found = at - len(" ".join(words[:begin])) - 1 if begin else at
                found = max(found, position)
                break
        if found >= 0:
            position = found
        starts.append(position)
    return starts
