"""Transient failures of an LLM request, retried by tenacity: one policy, a sync and an async driver.

Retried: HTTP 429, 5xx, connection errors and timeouts, and replies that came back unusable in a
way a retry may fix (no choices, a cut stream: :class:`~.wire.TransientReplyError`). The wait is
jittered exponential backoff from ``backoff_base`` up to ``backoff_max``, or the server's
Retry-After when longer (:func:`mlr_copilot_jupyter.http_retry.server_wait`), and never past the
current stage's deadline (:func:`.budget.time_left`): the stage ends there instead of retrying.
After ``max_retries`` transient failures in one query the error says what kept failing
(:func:`.failures.gave_up`). Ctrl-C and task cancellation are never retried and stop the wait.

Everything else a query does again (a reply cut at the output cap, an HTTP 400 read for what it
says, a schema repair) is the query's own policy, not a transient retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import openai
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_base

from ..config import MLRCopilot
from .budget import deadline_error, time_left
from .failures import gave_up, retry_delay, short
from .wire import TransientReplyError

log = logging.getLogger("mlr_copilot")

R = TypeVar("R")
#: Seconds before a stage's deadline within which a retry is not started (a timer may wake a
#: hair early, and a request begun at the deadline is cut off at once anyway).
DEADLINE_MARGIN = 0.05

#: Exceptions after which the same request is sent again.
RETRYABLE: tuple[type[BaseException], ...] = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APIConnectionError,  # includes APITimeoutError
    TransientReplyError,
)


@dataclass
class Tally:
    """Requests sent and transient failures met by one query, across all its requests (a re-ask
    after a cut reply does not give a query a fresh set of retries)."""

    attempts: int = 0
    failures: int = 0


class BackoffOrRetryAfter(wait_base):
    """Jittered exponential backoff, or the server's Retry-After when longer; capped at the time
    left before the stage's deadline."""

    def __init__(self, settings: MLRCopilot, tally: Tally) -> None:
        self.settings = settings
        self.tally = tally

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = retry_delay(self.settings, exc, max(1, self.tally.failures))
        left = time_left()
        return delay if left is None else min(delay, left)


def _after_sleep() -> None:
    left = time_left()
    if left is not None and left < DEADLINE_MARGIN:  # the wait was cut at the deadline: stop here
        raise deadline_error("waiting to retry the LLM")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)
    _after_sleep()


async def _asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
    _after_sleep()


class RetryPolicy:
    """The retry policy of one backend; :meth:`call` and :meth:`acall` run a request under it."""

    def __init__(self, settings: MLRCopilot, base_url: str) -> None:
        self.settings = settings
        self.base_url = base_url

    def _options(self, tally: Tally) -> dict[str, Any]:
        settings, base_url = self.settings, self.base_url

        def count(state: RetryCallState) -> None:
            tally.failures += 1

        def stop(state: RetryCallState) -> bool:
            return tally.failures > settings.max_retries

        def give_up(state: RetryCallState) -> NoReturn:
            exc = state.outcome.exception() if state.outcome is not None else None
            raise gave_up(settings, base_url, exc or RuntimeError("no outcome"), tally.attempts) from None

        def announce(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            log.info("LLM call failed (%s); retry %d in %.2fs", short(exc) if exc else "?",
                     tally.failures, state.upcoming_sleep)

        return {
            "retry": retry_if_exception_type(RETRYABLE),
            "after": count,
            "wait": BackoffOrRetryAfter(settings, tally),
            "stop": stop,
            "before_sleep": announce,
            "retry_error_callback": give_up,
        }

    def call(self, tally: Tally, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)``, sent again after each transient failure (sync driver)."""
        return Retrying(sleep=_sleep, **self._options(tally))(fn, *args)

    async def acall(self, tally: Tally, fn: Callable[..., Awaitable[R]], *args: Any) -> R:
        """``await fn(*args)``, sent again after each transient failure (async driver)."""
        return await AsyncRetrying(sleep=_asleep, **self._options(tally))(fn, *args)  # type: ignore[no-any-return]
