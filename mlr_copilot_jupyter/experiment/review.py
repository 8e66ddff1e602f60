"""The review of one execution: did the cell really work, and which number is its validation metric?

After a cell ran and printed no ``MLR_METRIC`` line for the task's metric, the agent asks its
policy for an :class:`ExecutionReview`, which asks the backend (``llm_review``: a
:class:`ReviewReply` query with the :class:`ExecutionRequest` as inputs). With an LLM this is an
AIDE-style review that reads the code and the output; the offline engine's solver
(experiment/offline_steps.py) answers with a labelled heuristic readout of validation lines
(``heuristic_review``) that never claims to be an LLM and never reads lines naming a test split.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from ..errors import LLMAuthError, LLMError, LLMModelNotFound
from ..kernels.metric_line import strip_ansi
from ..llm.base import Backend
from ..llm.prompts import compile_prompt_to_md
from .result import truncate_middle
from .task import METRIC_ALIASES, Task, canonical_metric

LLM_SOURCE = "llm review"
HEURISTIC_SOURCE = "heuristic readout"
REVIEW_CODE_CHARS = 6000
REVIEW_OUTPUT_CHARS = 4000


class ExecutionReview(BaseModel):
    """What a review found in one execution's code and output."""

    is_bug: bool
    summary: str
    metric: float | None = None
    metric_name: str | None = None
    source: str


class ReviewReply(BaseModel):
    """The LLM's structured review (the ``submit_review`` schema)."""

    is_bug: bool = Field(description="true if the output shows the code failed, crashed, skipped "
                                     "its work or has a bug (e.g. no predictions written, "
                                     "a metric computed on the wrong data); otherwise false.")
    summary: str = Field(description="2-3 sentences: if there is a bug, what it is and how to fix "
                                     "it; otherwise the empirical findings, and whether the "
                                     "predictions / submission file were written.")
    metric: float | None = Field(description="The VALIDATION metric value exactly as the output "
                                             "prints it; null if the output prints none.")
    metric_name: str | None = Field(description="The metric's name as printed (e.g. 'val MAE').")
    metric_split: str = Field(description="Which data the printed metric was computed on: "
                                          "'validation', 'train', 'test' or 'none'.")


@dataclass
class ExecutionRequest:
    """What a review is asked about (the ``inputs`` of the review query)."""

    code: str
    output: str
    task: Task


class HeuristicReviewReply(ReviewReply):
    """The offline engine's answer: a :class:`ReviewReply` carrying the heuristic's full review."""

    review: ExecutionReview


# -- LLM review -----------------------------------------------------------------------------------
REVIEW_INTRO = (
    "You wrote the code below for a machine-learning research task and it has been run as one "
    "notebook cell. Review the execution: did it really run to the end and produce predictions, "
    "is there a bug, and which number in the output is the VALIDATION metric (computed on "
    "validation or held-out-from-training data, never on the test set)?"
)


def review_prompt(code: str, output: str, task: Task) -> list[dict[str, str]]:
    """The review prompt: task, metric, the code and the output (head and tail)."""
    user = compile_prompt_to_md({
        "Introduction": REVIEW_INTRO,
        "Task": task.description.strip()[:1500],
        "Metric": f"{task.metric.name} ({task.metric.direction})",
        "Code": "```python\n" + truncate_middle(code, REVIEW_CODE_CHARS) + "\n```",
        "Execution output": "```\n" + (truncate_middle(strip_ansi(output), REVIEW_OUTPUT_CHARS)
                                       or "(no output)") + "\n```",
        "Instructions": [
            "Report a metric only if the output prints it; copy the value exactly.",
            "A metric computed on the test set, or on the training data, is NOT the validation "
            "metric: say so in metric_split and in the summary.",
            "If the output shows an exception, a skipped step or no predictions, is_bug is true.",
        ],
    })
    return [{"role": "system", "content": "You review machine-learning experiment runs. Never "
                                          "invent numbers that the output does not show."},
            {"role": "user", "content": user}]


async def llm_review(backend: Backend, code: str, output: str, task: Task, *,
                     label: str = "review") -> ExecutionReview:
    """AIDE-style review by the LLM; a failed or unparseable reply gives a review that says so."""
    try:
        reply = await backend.aquery(review_prompt(code, output, task), schema=ReviewReply,
                                     temperature=0.0, label=label,
                                     inputs=ExecutionRequest(code, output, task))
    except (LLMAuthError, LLMModelNotFound):
        raise  # the configuration is wrong: the next step would fail the same way
    except LLMError as exc:
        return ExecutionReview(is_bug=False, summary=f"The LLM review failed ({exc}); no metric "
                                                     "was read from the output.", source=LLM_SOURCE)
    parsed = reply.parsed
    if parsed is None:
        return ExecutionReview(is_bug=False, summary="The LLM review reply could not be parsed; no "
                                                     "metric was read from the output.",
                               source=LLM_SOURCE)
    if isinstance(parsed, HeuristicReviewReply):
        return parsed.review  # the offline engine's readout, already labelled as such
    return _checked(parsed, output)


def _checked(parsed: ReviewReply, output: str) -> ExecutionReview:
    """Keep the reviewer's metric only when it is a validation number the output really prints."""
    summary, metric = parsed.summary.strip(), parsed.metric
    if metric is not None and not math.isfinite(metric):
        metric = None
    split = parsed.metric_split.strip().lower()
    if metric is not None and not split.startswith(("val", "dev", "cross", "cv", "hold")):
        summary += (f" The number the review found ({parsed.metric_name or 'metric'} = {metric:g}) "
                    f"is a {split or 'unspecified'} metric, not a validation metric; not used.")
        metric = None
    if metric is not None and not printed_in(metric, output):
        summary += (f" The review's value {metric:g} does not appear in the output; not used.")
        metric = None
    return ExecutionReview(is_bug=parsed.is_bug, summary=summary, metric=metric,
                           metric_name=parsed.metric_name if metric is not None else None,
                           source=LLM_SOURCE)


_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(%?)")


def printed_in(value: float, output: str) -> bool:
    """Whether ``value`` is one of the numbers printed in ``output`` (to its printed precision).

    ``91.2%`` matches 0.912; a reviewer that rounds ``0.912345`` to ``0.9123`` matches too.
    """
    shown = repr(float(value))
    value_decimals = len(shown.split(".")[1]) if "." in shown and "e" not in shown else 0
    for match in _NUMBER.finditer(output):
        text = match.group(0).rstrip("%")
        if not _usable(text):
            continue
        number = float(text)
        mantissa = text.lower().split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        tolerance = 0.5 * 10.0 ** -decimals + 1e-12
        candidates = [number, number / 100] if match.group(1) else [number]
        for candidate, tol in zip(candidates, (tolerance, tolerance / 100), strict=False):
            if abs(candidate - value) <= tol:
                return True
            if value_decimals >= 2 and round(candidate, value_decimals) == value:
                return True
    return False


# -- heuristic readout (no LLM) -------------------------------------------------------------------
_VALIDATION = re.compile(
    r"(?<![a-z])(val|valid|validation|validated|dev|development|holdout|hold-out|held-out|"
    r"cv|cross-validation|cross-validated|crossval|oof|out-of-fold)(?![a-z])")
_TEST = re.compile(r"(?<![a-z])test")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w*Error: ", re.MULTILINE)


def metric_words(name: str) -> list[str]:
    """Spellings of a metric in printed output: ``roc_auc`` -> roc_auc, roc auc, auc, ..."""
    canonical = canonical_metric(name)
    words = {name.lower(), canonical, canonical.replace("_", " "), name.lower().replace("_", " ")}
    words |= {alias for alias, canon in METRIC_ALIASES.items() if canon == canonical}
    words |= {alias.replace("_", " ") for alias, canon in METRIC_ALIASES.items() if canon == canonical}
    return sorted((w for w in words if w), key=len, reverse=True)


def _named_at(line: str, words: list[str]) -> int | None:
    """Where the last mention of the metric in ``line`` ends, or None when it is not named."""
    ends = [m.end() for w in words for m in re.finditer(rf"(?<![a-z]){re.escape(w)}(?![a-z])", line)]
    return max(ends) if ends else None


def heuristic_review(output: str, task: Task) -> ExecutionReview:
    """Read the validation metric from lines like ``Validation MAE: 53.1`` or ``val_acc=0.91``.

    A line counts when it names a validation split and holds a number; lines naming a test split
    are never read. A line that also names the task's metric is preferred; the value is the last
    number on the line (a trailing ``%`` is read as a fraction).
    """
    text = strip_ansi(output)
    words = metric_words(task.metric.name)
    found: list[tuple[bool, str, float, bool]] = []  # (names the metric, line, value, percent)
    for raw in text.splitlines():
        line = raw.strip().lower()
        if not line or _TEST.search(line) or not _VALIDATION.search(line):
            continue
        numbers = [m for m in _NUMBER.finditer(line) if _usable(m.group(0))]
        if not numbers:
            continue
        at = _named_at(line, words)
        after = [m for m in numbers if at is not None and m.start() >= at]
        chosen = after[0] if after else numbers[-1]
        percent = bool(chosen.group(1))
        value = float(chosen.group(0).rstrip("%"))
        found.append((at is not None, raw.strip(), value / 100 if percent else value, percent))
    bug = bool(_TRACEBACK.search(text))
    if not found:
        return ExecutionReview(
            is_bug=bug, source=HEURISTIC_SOURCE,
            summary="Heuristic readout (no LLM): no output line reports a validation metric "
                    "(lines naming a test split are ignored)"
                    + ("; the output shows an error." if bug else "."))
    named = [f for f in found if f[0]]
    names_metric, line, value, percent = (named or found)[-1]
    metric_name = task.metric.name if names_metric else _label_of(line)
    note = " (a percentage, read as a fraction)" if percent else ""
    return ExecutionReview(
        is_bug=bug, metric=value, metric_name=metric_name, source=HEURISTIC_SOURCE,
        summary=f"Heuristic readout (no LLM): validation {metric_name} = {value:g}{note}, read "
                f"from the output line {line[:160]!r}."
                + ("" if names_metric else f" The line does not name {task.metric.name}.")
                + (" The output also shows an error." if bug else ""))


def _usable(token: str) -> bool:
    value = token.rstrip("%")
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _label_of(line: str) -> str:
    """The words from the validation word to the last number: ``valid score 0.5`` -> ``valid score``.

    ``loss: 0.5 - val_loss: 0.4`` gives ``val_loss``.
    """
    numbers = list(_NUMBER.finditer(line))
    before = line[: numbers[-1].start()] if numbers else line
    marks = list(_VALIDATION.finditer(before))
    if marks:
        before = before[marks[-1].start():]
    words = re.findall(r"[a-z][\w\-]*", before)
    return " ".join(words[-4:]) or "validation metric"


__all__ = ["ExecutionRequest", "ExecutionReview", "HeuristicReviewReply", "ReviewReply",
           "heuristic_review", "llm_review", "metric_words", "printed_in", "review_prompt"]
