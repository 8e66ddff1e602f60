"""Answers that sit inside an MLAgentBench task's ``env/``, and the validation data of such a task.

Many real task folders keep the labelled test split in the agent's own folder: the MLR-Copilot
SemEval task's ``eval.py`` reads ``<folder>/data/eng/eng_test.csv`` and scores its ``label``
column against ``submission.csv``. Copied as is, the agent could read (or train on) the answers.
So:

- :func:`find_answer_files` finds the data files ``eval.py`` opens that hold labels: files of
  ``env/`` named in ``eval.py`` (as literals or f-string patterns such as ``f"{lang}_test.csv"``)
  whose name says test/answer/gold/solution, and whose header has a column ``eval.py`` reads
  that is not an id;
- the agent's workspace gets a copy with those label columns **blanked** (header and every other
  column kept, so a baseline that reads the file for its features still runs;
  :func:`write_blanked`);
- ``eval.py`` scores in a **scoring mirror** (:func:`scoring_mirror`): links to the workspace's
  files, with the original answer files in their places; the mirror lives in the run folder,
  which the sandbox hides.

:func:`validation_plan` says what a run selects on when the baseline prints no validation
metric: a labelled dev/valid file wherever it sits (``eng_dev.csv``, ``valid.csv``, ``val/``),
else rows carved out of the training file (fraction and seed stated), else nothing.
"""

from __future__ import annotations

import ast
import csv
import fnmatch
import os
import random
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TABLE_SUFFIXES = (".csv", ".tsv")
ANSWER_WORDS = ("test", "answer", "answers", "gold", "solution", "solutions", "truth", "labels",
                "heldout", "holdout", "private")
DEV_WORDS = ("dev", "valid", "validation", "val")
TRAIN_WORDS = ("train", "training")
LABEL_NAMES = ("label", "labels", "target", "score", "y", "class", "gold", "answer", "relatedness",
               "similarity", "rating", "sentiment")
CARVE_FRACTION = 0.2
CARVE_SEED = 0


@dataclass(frozen=True)
class AnswerFile:
    """A workspace data file that ``eval.py`` reads the answers from."""

    rel: str
    labels: tuple[str, ...]
    #: eval.py opens this file (else it scores answers kept elsewhere, and this is a labelled copy)
    opened: bool = True

    def describe(self) -> str:
        return f"{self.rel} (label column {', '.join(self.labels)})"


@dataclass(frozen=True)
class ValidationPlan:
    """Where a baseline's validation score comes from when it prints none.

    ``test_input`` is the file the baseline predicts for (the answer file, else the test
    features); the replay puts the validation rows there, labels blanked, and scores the
    submission it writes against their labels (``labels`` of ``dev``, or of the carved rows).
    """

    test_input: str
    labels: tuple[str, ...]
    dev: str | None = None
    train: str | None = None
    fraction: float = CARVE_FRACTION
    seed: int = CARVE_SEED
    answer_in_workspace: bool = False

    def describe(self, rows: int | None = None) -> str:
        many = f"{rows} rows of " if rows else ""
        if self.dev is not None:
            return f"{many}the labelled dev file {self.dev}"
        return (f"{many}{self.train} carved out as validation ({self.fraction:.0%} of its rows, "
                f"random seed {self.seed}; the replay trains on the rest)")


# -- reading tables ------------------------------------------------------------------------------
def _delimiter(path: PurePosixPath | Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV/TSV file (empty lists when it cannot be read)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.reader(handle, delimiter=_delimiter(path)) if r]
    except (OSError, UnicodeDecodeError, csv.Error):
        return [], []
    if not rows:
        return [], []
    return [h.strip() for h in rows[0]], rows[1:]


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=_delimiter(path), lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [h.strip() for h in next(csv.reader(handle, delimiter=_delimiter(path)), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _tokens(rel: str) -> set[str]:
    return {t for t in re.split(r"[^a-z]+", PurePosixPath(rel).stem.lower()) if t}


def is_id_like(column: str) -> bool:
    """``id``, ``PairID``, ``passenger_id``, ``row_index``: identifiers, never labels."""
    name = column.strip().lower()
    return bool(name in {"id", "idx", "index", "uid", "guid", "key"}
                or re.search(r"(?:^|[_\s\-])(?:id|idx|index|key)$", name) or name.endswith("id")
                and len(name) > 2 and column.strip()[-2:] in {"ID", "Id"})


# -- what eval.py opens --------------------------------------------------------------------------
def _eval_names(source: str) -> tuple[set[str], list[str]]:
    """String literals of ``eval.py`` and the glob patterns of its f-strings (``*_test.csv``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"""["']([^"'\n]{1,200})["']""", source)), []
    fragments = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                 for part in node.values}
    literals: set[str] = set()
    patterns: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            pattern = "".join(part.value if isinstance(part, ast.Constant) and
                              isinstance(part.value, str) else "*" for part in node.values)
            if pattern.strip("*"):
                patterns.append(pattern)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in fragments:
            literals.add(node.value.strip())
    return literals, patterns


def _named_in(rel: str, literals: set[str], patterns: list[str]) -> bool:
    name = PurePosixPath(rel).name
    for literal in literals:
        clean = literal.lstrip("./")
        if clean and (clean == rel or rel.endswith("/" + clean) or clean == name):
            return True
    return any(fnmatch.fnmatchcase(name, PurePosixPath(p).name) or fnmatch.fnmatchcase(rel, p)
               for p in patterns)


def find_answer_files(eval_source: str, env: Path, files: Sequence[str]) -> list[AnswerFile]:
    """The files of ``env`` (``files``, env-relative) that hold the answers ``eval.py`` scores.

    A file ``eval.py`` opens, named like test/answer/gold, with a column ``eval.py`` reads that is
    no id; or a test file ``eval.py`` does not open that carries such a column (a labelled
    ``test.csv`` beside answers ``eval.py`` keeps elsewhere).
    """
    literals, patterns = _eval_names(eval_source)
    found = []
    for rel in files:
        if PurePosixPath(rel).suffix.lower() not in TABLE_SUFFIXES:
            continue
        tokens = _tokens(rel)
        if not tokens & set(ANSWER_WORDS) or tokens & set(DEV_WORDS + TRAIN_WORDS):
            continue
        header = _header(env / rel)
        named = [c for c in header if c in literals and not is_id_like(c)]
        opened = _named_in(rel, literals, patterns)
        if not opened and not ("test" in tokens and named):
            continue  # a test file eval.py never opens holds answers only in the columns it scores
        if not named and tokens & {"answer", "answers", "gold", "solution", "solutions", "truth"}:
            named = [c for c in header if c.lower() in LABEL_NAMES] or header[-1:]
        if named:
            found.append(AnswerFile(rel, tuple(named), opened))
    return found


def write_blanked(source: Path, destination: Path, labels: Sequence[str]) -> int:
    """Copy ``source`` to ``destination`` with the ``labels`` columns emptied; the row count."""
    header, rows = read_table(source)
    drop = {k for k, name in enumerate(header) if name in labels}
    write_table(destination, header,
                ([v if k not in drop else "" for k, v in enumerate(row)] for row in rows))
    return len(rows)


def scoring_mirror(workspace: Path, originals: Path, answers: Sequence[AnswerFile],
                   where: Path, *, substitutes: dict[str, Path] | None = None) -> Path:
    """A folder that looks like ``workspace`` with the answer files restored, for ``eval.py``.

    Top-level entries are symbolic links into the workspace, except the folders on the way to
    an answer file, which are rebuilt one level at a time. ``substitutes`` maps a workspace path
    to the file put there instead of the original answers (the validation replay's labels).
    """
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    placed = {a.rel: originals / a.rel for a in answers}
    placed.update(substitutes or {})
    _mirror(workspace, where, placed, "")
    return where


def _mirror(source: Path, target: Path, placed: dict[str, Path], prefix: str) -> None:
    on_the_way = {rel.split("/", 1)[0] for rel in
                  (r[len(prefix):] for r in placed if r.startswith(prefix))}
    for name in on_the_way:
        rel = prefix + name
        if rel in placed:
            shutil.copyfile(placed[rel], target / name)
        else:
            (target / name).mkdir(exist_ok=True)
            _mirror(source / name, target / name, placed, rel + "/")
    if not source.is_dir():
        return
    for entry in source.iterdir():
        if entry.name not in on_the_way:
            os.symlink(entry.resolve(), target / entry.name,
                       target_is_directory=entry.is_dir())


# -- validation data -----------------------------------------------------------------------------
def _pick(files: Sequence[str], words: Sequence[str], near: str | None = None) -> list[str]:
    tables = [f for f in files if PurePosixPath(f).suffix.lower() in TABLE_SUFFIXES]
    hits = [f for f in tables if _tokens(f) & set(words)]
    if near is not None:  # the one beside the test file first (data/eng/eng_dev.csv)
        folder = str(PurePosixPath(near).parent)
        hits.sort(key=lambda f: str(PurePosixPath(f).parent) != folder)
    return hits


def validation_plan(env: Path, files: Sequence[str], answers: Sequence[AnswerFile], *,
                    target: str = "target") -> ValidationPlan | None:
    """How to score a baseline on validation data when it prints no validation metric.

    The file the baseline predicts for is the answer file in the workspace, else the data file
    named like test; validation rows come from a dev/valid file with the same feature columns
    and the labels, else from the training file. None when neither exists.
    """
    if answers:
        test_input, labels, inside = answers[0].rel, answers[0].labels, answers[0].opened
    else:
        tests = [f for f in _pick(files, ("test",)) if not _tokens(f) & set(DEV_WORDS + TRAIN_WORDS)]
        if not tests:
            return None
        test_input, labels, inside = tests[0], (), False
    test_header = _header(env / test_input)
    for source_words, is_dev in ((DEV_WORDS, True), (TRAIN_WORDS, False)):
        for rel in _pick(files, source_words, near=test_input):
            if rel == test_input or _tokens(rel) & set(ANSWER_WORDS):
                continue
            header = _header(env / rel)
            found = labels or _labels_of(header, test_header, target)
            features = [c for c in test_header if c not in found and not is_id_like(c)]
            if not found or not all(c in header for c in found) \
                    or not all(c in header for c in features):
                continue
            if is_dev:
                return ValidationPlan(test_input, tuple(found), dev=rel,
                                      answer_in_workspace=inside)
            return ValidationPlan(test_input, tuple(found), train=rel, answer_in_workspace=inside)
    return None


def _labels_of(header: list[str], test_header: list[str], target: str) -> list[str]:
    """Label columns of a labelled file: the task's target, else what the test file lacks."""
    if target in header:
        return [target]
    missing = [c for c in header if c not in test_header and not is_id_like(c)]
    return missing[:1] if len(missing) == 1 else [c for c in missing if c.lower() in LABEL_NAMES][:1]


def stage_validation(plan: ValidationPlan, originals: Path, workspace: Path
                     ) -> tuple[list[str], list[list[str]]]:
    """Put the validation rows where the baseline reads its test rows (labels blanked).

    Carved rows also leave the training file of ``workspace``. Returns the labelled rows
    (header, rows) to score the replay's submission against.
    """
    test_header, _ = read_table(originals / plan.test_input)
    if plan.dev is not None:
        header, rows = read_table(originals / plan.dev)
    else:
        assert plan.train is not None
        header, all_rows = read_table(originals / plan.train)
        order = list(range(len(all_rows)))
        random.Random(plan.seed).shuffle(order)
        held = set(order[: max(1, int(len(all_rows) * plan.fraction))])
        rows = [r for k, r in enumerate(all_rows) if k in held]
        write_table(workspace / plan.train, header,
                    (r for k, r in enumerate(all_rows) if k not in held))
    where = {name: k for k, name in enumerate(header)}

    def projected(row: list[str], blank: bool) -> list[str]:
        out = []
        for name in test_header:
            k = where.get(name)
            value = row[k] if k is not None and k < len(row) else ""
            out.append("" if blank and name in plan.labels else value)
        return out

    write_table(workspace / plan.test_input, test_header, (projected(r, True) for r in rows))
    truth_header = list(dict.fromkeys([*test_header, *plan.labels]))
    where_truth = truth_header
    truth = []
    for row in rows:
        values = projected(row, False)
        values += [row[where[c]] if where.get(c) is not None and where[c] < len(row) else ""
                   for c in where_truth[len(test_header):]]
        truth.append(values)
    return truth_header, truth
