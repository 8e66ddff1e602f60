"""Spending limits of one stage, as the LLM layer and its callers have always imported them.

The definitions live in the base layer (:mod:`mlr_copilot_jupyter.budget`) so that ``config``
and ``aio`` can use them without importing ``llm/``; this module re-exports the same objects
(one stage-deadline context variable, one ``DeadlineReached`` class).
"""

from __future__ import annotations

from ..budget import (
    LIMIT_NAMES,
    DeadlineReached,
    Limits,
    Prices,
    Spend,
    check_deadline,
    check_limits,
    deadline_error,
    stage_deadline,
    time_left,
)

__all__ = [
    "LIMIT_NAMES",
    "DeadlineReached",
    "Limits",
    "Prices",
    "Spend",
    "check_deadline",
    "check_limits",
    "deadline_error",
    "stage_deadline",
    "time_left",
]
