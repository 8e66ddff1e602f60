"""Numbers as people print them, and which split each one belongs to.

Real scripts print ``Validation MAE: 18,450``, ``val_acc=72.3%``, ``0.85 ± 0.02``, ``1.2e-3``,
several metrics on one line, train / validation / test figures on lines of their own or under a
heading, with log timestamps and tqdm bars around them. :func:`numbers_in` reads the numbers of
one line (thousands separators, scientific notation, percentages as fractions, the ``±`` part not
counted as a number of its own, timestamps and progress bars skipped); :func:`labelled_numbers`
pairs each number of an output with its label (the words printed before it) and the split that
label or the heading above it names. A reading that could be wrong (``0,85``: a decimal comma or a
list?) carries the reason in ``unsure``, so a caller never passes a guess off as a reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Printed", "labelled_numbers", "numbers_in", "split_of"]

# A number: sign, digits with optional thousands groups (",", thin or no-break spaces, "'"),
# a fraction, an exponent, a percent sign. Not inside a word or another number.
_NUMBER = re.compile(
    r"(?<![\w.\u202f\u00a0'])"
    r"(?P<sign>[-+\u2212])?"
    r"(?P<int>[1-9]\d{0,2}(?P<sep>[,\u202f\u00a0\u2009'])\d{3}(?:(?P=sep)\d{3})*(?![\d])|\d+)?"
    r"(?P<frac>\.\d+)?"
    r"(?:[eE](?P<exp>[-+]?\d+))?"
    r"(?P<pct>\s?%)?"
    r"(?![\w])"
)
# "18 450" with plain spaces: as the value right after a label's ":" or "=", or the line's last.
_SPACED = re.compile(r"(?:(?<=[:=])\s*|(?<=\s))(?P<num>\d{1,3}(?: \d{3})+(?:\.\d+)?)"
                     r"(?:(?![\d.,])(?<=[:=]\S)|(?=\s*(?:%|[a-zA-Z]{0,3})\s*$))")
# "0,85", "12,5" or "0,850" (no valid thousands grouping): a decimal comma, or a pair without
# spaces. Read as a decimal, unsure.
_DECIMAL_COMMA = re.compile(r"(?<![\w.,])(?P<int>\d+),(?P<frac>\d+)(?![\d.,])")
_PLUS_MINUS = re.compile(r"\s*(?:±|\+/-|\+-)\s*")
# Noise whose digits are no results: timestamps, clock times, tqdm bars and rates, dates.
_NOISE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\b"
    r"|\d{1,3}%\s?\|[^|\n]*\|"
    r"|\b\d+/\d+\b(?=\s*\[)"
    r"|\[\s*\d+:\d+(?::\d+)?\s*<\s*[^,\]]*"
    r"|[\d.]+\s?(?:it/s|s/it)"
)

_VALIDATION = re.compile(
    r"(?<![a-z])(val|valid|validation|validated|dev|development|holdout|hold-out|held-out|"
    r"cv|cross-validation|cross-validated|crossval|oof|out-of-fold|eval)(?![a-z])")
_TEST = re.compile(r"(?<![a-z])(test|testing)(?![a-z])")
_TRAIN = re.compile(r"(?<![a-z])(train|training|trn|fit)(?![a-z])")


def split_of(text: str) -> str | None:
    """The split ``text`` names last: "validation", "test", "train", or None."""
    lowered = text.lower()
    hits = [(m.start(), name) for name, pattern in (("validation", _VALIDATION), ("test", _TEST),
                                                    ("train", _TRAIN))
            for m in pattern.finditer(lowered)]
    return max(hits)[1] if hits else None


@dataclass(frozen=True)
class Printed:
    """One printed number: its value (a percentage as a fraction), as printed, and context."""

    value: float
    text: str
    start: int
    end: int
    percent: bool = False
    unsure: str = ""
    label: str = ""
    split: str | None = None
    line: str = ""


def _blank(line: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), line)


def _clean(line: str) -> str:
    """``line`` with its noise (timestamps, bars, rates) blanked, positions unchanged."""
    return _blank(line, _NOISE)


def numbers_in(line: str) -> list[Printed]:
    """The numbers of one line, in order (see the module docstring)."""
    clean = _clean(line)
    found: list[Printed] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for m in _SPACED.finditer(clean):
        text = m.group("num")
        found.append(Printed(float(text.replace(" ", "")), text, m.start("num"), m.end("num")))
        taken.append((m.start("num"), m.end("num")))
    for m in _DECIMAL_COMMA.finditer(clean):
        if free(m.start(), m.end()) and not re.fullmatch(r"[1-9]\d{0,2},\d{3}", m.group(0)):
            found.append(Printed(float(f"{m.group('int')}.{m.group('frac')}"), m.group(0),
                                 m.start(), m.end(),
                                 unsure=f"{m.group(0)!r} read as a decimal comma "
                                        f"({m.group('int')}.{m.group('frac')}); it may be a list"))
            taken.append((m.start(), m.end()))
    for m in _NUMBER.finditer(clean):
        if not (m.group("int") or m.group("frac")) or not free(m.start(), m.end()):
            continue
        digits = (m.group("int") or "0").replace(m.group("sep") or "\0", "")
        literal = f"{digits}{m.group('frac') or ''}" + (f"e{m.group('exp')}" if m.group("exp")
                                                        else "")
        value = float(literal) * (-1 if m.group("sign") in ("-", "\u2212") else 1)
        percent = bool(m.group("pct"))
        found.append(Printed(value / 100 if percent else value, m.group(0).strip(), m.start(),
                             m.end(), percent=percent))
        taken.append((m.start(), m.end()))
    found.sort(key=lambda p: p.start)
    # "0.85 ± 0.02": the spread is not a result of its own
    kept: list[Printed] = []
    for number in found:
        if kept and _PLUS_MINUS.fullmatch(clean[kept[-1].end:number.start]):
            continue
        kept.append(number)
    return kept


def _lines(text: str) -> Iterator[str]:
    for raw in text.replace("\r\n", "\n").split("\n"):
        # a tqdm bar redraws itself with \r: the last state of the line is what is on screen
        yield raw.split("\r")[-1] if "\r" in raw.rstrip("\r") else raw.rstrip("\r")


def labelled_numbers(text: str) -> list[Printed]:
    """Every number of ``text`` with its label and split.

    The label is the text between the previous number on the line (or its start) and this one.
    The split is the one the label names; else the one named earlier on the line; else the one a
    heading line (a line that names a split and prints no number) set for the lines below it.
    """
    out: list[Printed] = []
    heading: str | None = None
    for line in _lines(text):
        numbers = numbers_in(line)
        if not numbers:
            if line.strip():
                heading = split_of(line) or heading
            continue
        previous, line_split, clean = 0, None, _clean(line)
        for number in numbers:
            label = " ".join(clean[previous:number.start].split()).strip(" \t:=|,;-()[]{}")
            own = split_of(label)
            line_split = own or line_split
            out.append(Printed(number.value, number.text, number.start, number.end,
                               number.percent, number.unsure, label.lower(),
                               own or line_split or heading, line.strip()))
            previous = number.end
    return out
