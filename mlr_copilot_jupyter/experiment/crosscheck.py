"""Are a run's numbers plausible together? (issue #24 item 2)

A node's validation metric and its held-out test metric measure the same model on two samples of
the same data: they differ, but not by orders of magnitude, and a bounded metric stays in its
range. When they do not, a number was most likely misread (``18,450`` taken as 18) or computed on
the wrong data: :func:`implausible` says why in one line, and the caller makes it a loud warning
in the record, the report, the monitor and the CLI summary.
"""

from __future__ import annotations

from .metric_infer import canonical_metric

__all__ = ["BOUNDS", "implausible"]

#: Ranges of bounded metrics.
BOUNDS: dict[str, tuple[float, float]] = {
    "accuracy": (0.0, 1.0), "balanced_accuracy": (0.0, 1.0), "f1": (0.0, 1.0),
    "f1_macro": (0.0, 1.0), "precision": (0.0, 1.0), "recall": (0.0, 1.0),
    "roc_auc": (0.0, 1.0), "r2": (float("-inf"), 1.0), "pearson": (-1.0, 1.0),
    "spearman": (-1.0, 1.0),
}  # fmt: skip
#: Largest plausible ratio between a validation and a test figure of an unbounded metric.
MAX_RATIO = 10.0


def implausible(metric: str, validation: float | None, test: float | None) -> str | None:
    """Why ``validation`` and ``test`` (the same model's ``metric``) cannot both be right, else
    None. Bounded metrics must lie in their range; unbounded positive ones (errors, losses,
    times) must be within a factor of :data:`MAX_RATIO` of each other."""
    if validation is None or test is None:
        return None
    name = canonical_metric(metric)
    low, high = BOUNDS.get(name, (float("-inf"), float("inf")))
    for which, value in (("validation", validation), ("test", test)):
        if not low <= value <= high:
            return f"the {which} {metric} {value:g} is outside its range [{low:g}, {high:g}]"
    if name in BOUNDS or validation <= 0 or test <= 0:
        return None
    ratio = max(validation, test) / min(validation, test)
    if ratio > MAX_RATIO:
        return (f"validation {metric} {validation:g} and held-out test {metric} {test:g} differ "
                f"by {ratio:,.0f}x")
    return None
