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
from .printed import labelled_numbers, numbers_in
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
    #: why the metric may be misread ("" when the reading is certain), kept in the record
    unsure: str = ""


#: Characters of a review's summary (2-3 sentences) in the schema sent: a server that enforces the
#: schema by grammar ends a looping small model's review there. Unbounded (2,000 characters by
#: default per string), SmolLM2-135M ran each review to its 600-token cap twice: 52 s of a 231 s
#: three-step run on 2 cores (issue 26); the whole review now fits in about 300 tokens.
REVIEW_SUMMARY_CHARS = 700


class ReviewReply(BaseModel):
    """The LLM's structured review (the ``submit_review`` schema)."""

    is_bug: bool = Field(description="true if the output shows the code failed, crashed, skipped "
                                     "its work or has a bug (e.g. no predictions written, "
                                     "a metric computed on the wrong data); otherwise false.")
    summary: str = Field(description="2-3 sentences: if there is a bug, what it is and how to fix "
                                     "it; otherwise the empirical findings, and whether the "
                                     "predictions / submission file were written.",
                         json_schema_extra={"maxLength": REVIEW_SUMMARY_CHARS})
    metric: float | None = Field(description="The VALIDATION metric value exactly as the output "
                                             "prints it; null if the output prints none.")
    metric_name: str | None = Field(description="The metric's name as printed (e.g. 'val MAE').",
                                    json_schema_extra={"maxLength": 80})
    # the grammar of a schema-enforcing server picks one of these; validation takes any string
    # (a model's "Validation" is normalised where it is read)
    metric_split: str = Field(description="Which data the printed metric was computed on: "
                                          "'validation', 'train', 'test' or 'none'.",
                              json_schema_extra={"enum": ["validation", "train", "test", "none"]})


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


def printed_in(value: float, output: str) -> bool:
    """Whether ``value`` is one of the numbers printed in ``output`` (to its printed precision).

    Numbers are read as people print them (:mod:`.printed`): ``18,450`` matches 18450, ``91.2%``
    matches 0.912; a reviewer that rounds ``0.912345`` to ``0.9123`` matches too.
    """
    shown = repr(float(value))
    value_decimals = len(shown.split(".")[1]) if "." in shown and "e" not in shown else 0
    for line in strip_ansi(output).splitlines():
        for number in numbers_in(line):
            mantissa = number.text.rstrip("% ").lower().split("e")[0]
            decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
            tolerance = 0.5 * 10.0 ** -decimals + 1e-12
            printed = number.value * 100 if number.percent else number.value
            candidates = [(printed, tolerance)] + (
                [(number.value, tolerance / 100)] if number.percent else [])
            for candidate, tol in candidates:
                if abs(candidate - value) <= tol:
                    return True
                if value_decimals >= 2 and round(candidate, value_decimals) == value:
                    return True
    return False


# -- heuristic readout (no LLM) -------------------------------------------------------------------
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w*Error: ", re.MULTILINE)
# A label ending in a counter: "epoch 3", "fold 2/5", "DataLoader 0", "n=1,000" are no results.
_COUNTER = re.compile(r"(?:^|[\s_(])(?:epochs?|steps?|iter(?:ation)?s?|batch(?:es)?|folds?|"
                      r"dataloader|n|seeds?|rounds?|trials?|samples|rows|size|k|top)$")


def metric_words(name: str) -> list[str]:
    """Spellings of a metric in printed output: ``roc_auc`` -> roc_auc, roc auc, auc, ..."""
    canonical = canonical_metric(name)
    words = {name.lower(), canonical, canonical.replace("_", " "), name.lower().replace("_", " ")}
    words |= {alias for alias, canon in METRIC_ALIASES.items() if canon == canonical}
    words |= {alias.replace("_", " ") for alias, canon in METRIC_ALIASES.items() if canon == canonical}
    return sorted((w for w in words if w), key=len, reverse=True)


def _names(label: str, words: list[str]) -> bool:
    """Whether ``label`` names the metric (``val_mae``, ``Validation MAE``, ``mae on dev``)."""
    return any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", label.replace("_", " "))
               or re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", label) for w in words)


def heuristic_review(output: str, task: Task) -> ExecutionReview:
    """Read the validation metric from what a script prints (see :mod:`.printed`).

    A number counts when its label, or a heading or earlier label of its line, names a
    validation split; numbers labelled as train or test are never read, nor counters (epoch,
    fold, step). A number whose label names the task's metric is preferred; the last one
    printed wins (the final epoch). A reading that could be wrong is returned with ``unsure``
    set, and the summary says so: a decimal comma, or a line of several unlabelled validation
    numbers none of which names the metric.
    """
    text = strip_ansi(output)
    words = metric_words(task.metric.name)
    found = [p for p in labelled_numbers(text)
             if p.split == "validation" and not _COUNTER.search(p.label)]
    bug = bool(_TRACEBACK.search(text))
    if not found:
        return ExecutionReview(
            is_bug=bug, source=HEURISTIC_SOURCE,
            summary="Heuristic readout (no LLM): no output line reports a validation metric "
                    "(numbers labelled as train or test, and counters, are ignored)"
                    + ("; the output shows an error." if bug else "."))
    named = [p for p in found if _names(p.label, words)]
    chosen = (named or found)[-1]
    unsure = chosen.unsure
    if not named:
        alike = {p.value for p in found if p.line == chosen.line}
        if len(alike) > 1 and not unsure:
            unsure = (f"the line prints {len(alike)} validation numbers and none is labelled "
                      f"{task.metric.name}; took the last")
    metric_name = task.metric.name if named else _label_words(chosen.label)
    note = f" (printed {chosen.text!r}, a percentage read as a fraction)" if chosen.percent else (
        f" (printed {chosen.text!r})" if chosen.text != f"{chosen.value:g}" else "")
    return ExecutionReview(
        is_bug=bug, metric=chosen.value, metric_name=metric_name, source=HEURISTIC_SOURCE,
        unsure=unsure,
        summary=(f"Heuristic readout (no LLM): validation {metric_name} = {chosen.value:g}{note}, "
                 f"read from the output line {chosen.line[:160]!r}."
                 + ("" if named else f" The line does not name {task.metric.name}.")
                 + (f" UNSURE: {unsure}." if unsure else "")
                 + (" The output also shows an error." if bug else "")))


def _label_words(label: str) -> str:
    """The last words of a label, from its validation word on: ``valid score`` -> ``valid score``."""
    words = re.findall(r"[a-z][\w\-]*", label)
    return " ".join(words[-4:]) or "validation metric"


__all__ = ["ExecutionRequest", "ExecutionReview", "HeuristicReviewReply", "ReviewReply",
           "heuristic_review", "llm_review", "metric_words", "printed_in", "review_prompt"]
