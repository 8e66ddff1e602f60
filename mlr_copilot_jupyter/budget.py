"""Spending limits of one stage: a token budget, a cost budget and a wall-clock deadline.

Base layer (pure data and a context variable): ``config`` builds :class:`Limits` from the
settings and ``aio.run_sync`` cuts coroutines off at a stage's deadline, so neither needs
anything from ``llm/``. ``llm.budget`` re-exports these names.

:class:`Spend` is what a node (or a whole run) used: tokens, calls, and the cost when a price per
1k tokens is configured. :class:`Limits` says whether a stage must stop, and why, in one line
("token budget of 5000 reached (5210 tokens used)"). The agents check it between steps; the
request in flight is bounded by :meth:`Limits.remaining` (``asyncio.wait_for``).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .errors import InputError, MLRCopilotError
from .models import Usage

#: What stopped a stage (``Journal.stopped_by``): the limit's name.
LIMIT_NAMES = ("token_budget", "cost_budget", "deadline")


@dataclass(frozen=True)
class Prices:
    """Price per 1k prompt and completion tokens in the user's currency; 0 means unknown.

    With one price set and the other 0, the other kind of token counts as free (e.g. an endpoint
    that bills completions only); with both 0 there is no cost, only tokens.
    """

    prompt: float = 0.0
    completion: float = 0.0

    @property
    def known(self) -> bool:
        return self.prompt > 0 or self.completion > 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if not self.known:
            return None
        return prompt_tokens / 1000 * self.prompt + completion_tokens / 1000 * self.completion


class Spend(BaseModel):
    """LLM usage of a node, of verification, or of a whole run; ``cost`` is None without prices."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0
    cost: float | None = None

    @classmethod
    def of(cls, usage: Usage, prices: Prices) -> Spend:
        return cls(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                   total_tokens=usage.total_tokens, calls=usage.calls,
                   cost=prices.cost(usage.prompt_tokens, usage.completion_tokens))

    def __add__(self, other: Spend) -> Spend:
        cost = None if self.cost is None and other.cost is None else \
            (self.cost or 0.0) + (other.cost or 0.0)
        return Spend(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     total_tokens=self.total_tokens + other.total_tokens,
                     calls=self.calls + other.calls, cost=cost)

    def line(self) -> str:
        """``1234 tokens (1000 prompt + 234 completion) in 3 calls, cost 0.0123``."""
        text = (f"{self.total_tokens} tokens ({self.prompt_tokens} prompt + "
                f"{self.completion_tokens} completion) in {self.calls} call"
                f"{'' if self.calls == 1 else 's'}")
        return text + (f", cost {self.cost:.4g}" if self.cost is not None else "")


@dataclass(frozen=True)
class Limits:
    """The limits of one stage; None switches a limit off."""

    token_budget: int | None = None
    cost_budget: float | None = None
    deadline: float | None = None  # seconds of wall-clock time from the stage's start
    prices: Prices = Prices()

    def __post_init__(self) -> None:
        check_limits(self.token_budget, self.cost_budget, self.deadline, self.prices)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.token_budget, self.cost_budget, self.deadline))

    def reached(self, spent: Spend, elapsed: float) -> tuple[str, str] | None:
        """``(limit name, one-line message)`` of the first limit reached, else None."""
        if self.token_budget is not None and spent.total_tokens >= self.token_budget:
            return "token_budget", (f"token budget of {self.token_budget} reached "
                                    f"({spent.total_tokens} tokens used)")
        if self.cost_budget is not None and (spent.cost or 0.0) >= self.cost_budget:
            return "cost_budget", (f"cost budget of {self.cost_budget:g} reached "
                                   f"({spent.cost or 0.0:.4g} spent, {spent.total_tokens} tokens)")
        if self.deadline is not None and elapsed >= self.deadline:
            return "deadline", self.deadline_message(elapsed)
        return None

    def deadline_message(self, elapsed: float) -> str:
        return f"deadline of {self.deadline:g} s reached ({elapsed:.1f} s elapsed)"

    def remaining(self, elapsed: float) -> float | None:
        """Seconds left before the deadline (None: no deadline), never negative."""
        return None if self.deadline is None else max(0.0, self.deadline - elapsed)

    def describe(self) -> dict[str, Any]:
        return {"token_budget": self.token_budget, "cost_budget": self.cost_budget,
                "deadline": self.deadline,
                "price_per_1k_prompt": self.prices.prompt or None,
                "price_per_1k_completion": self.prices.completion or None}


def check_limits(token_budget: int | None, cost_budget: float | None, deadline: float | None,
                 prices: Prices) -> None:
    """Refuse limits that would silently switch themselves off, and a cost budget without prices."""
    if token_budget is not None and not token_budget > 0:
        raise InputError(f"--token-budget must be a positive number of tokens, got {token_budget}")
    for flag, value in (("--cost-budget", cost_budget), ("--deadline", deadline)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{flag} must be a positive number, got {value}")
    for name, price in (("price_per_1k_prompt", prices.prompt),
                        ("price_per_1k_completion", prices.completion)):
        if not (math.isfinite(price) and price >= 0):
            raise InputError(f"MLRCopilot.{name} must be a number >= 0, got {price}")
    if cost_budget is not None and not prices.known:
        raise InputError("--cost-budget needs a price per 1k tokens",
                         hint="set MLRCopilot.price_per_1k_prompt / price_per_1k_completion "
                              "(env MLR_COPILOT_PRICE_PER_1K_PROMPT / _COMPLETION)")


# -- the deadline of a synchronous stage (the problem / ideas commands) -------------------------
class DeadlineReached(MLRCopilotError):
    """A stage's wall-clock deadline passed; the message says which and while doing what."""


_stage: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "mlr_copilot_stage_deadline", default=None)


@contextlib.contextmanager
def stage_deadline(seconds: float | None) -> Iterator[None]:
    """Bound the block to ``seconds`` of wall-clock time (None: no bound).

    Coroutines run through :func:`~mlr_copilot_jupyter.aio.run_sync` inside the block are cut
    off at the deadline; :func:`check_deadline` raises between steps.
    """
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise InputError(f"--deadline must be a positive number, got {seconds}")
    token = _stage.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _stage.reset(token)


def time_left() -> float | None:
    """Seconds before the current stage's deadline (None: no deadline), never negative."""
    stage = _stage.get()
    return None if stage is None else max(0.0, stage[0] - time.monotonic())


def deadline_error(doing: str) -> DeadlineReached:
    stage = _stage.get()
    seconds = stage[1] if stage else 0.0
    elapsed = seconds - (time_left() or 0.0)
    return DeadlineReached(f"deadline of {seconds:g} s reached while {doing} "
                           f"({elapsed:.1f} s elapsed)",
                           hint="what finished is kept in the research state; raise --deadline")


def check_deadline(doing: str) -> None:
    """Raise :class:`DeadlineReached` when the current stage's deadline has passed."""
    if time_left() == 0.0:
        raise deadline_error(doing)
