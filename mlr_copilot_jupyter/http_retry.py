"""How long a server asked a client to wait before retrying: the one ``Retry-After`` parser.

Used by the LLM backend (:mod:`mlr_copilot_jupyter.llm.retrying`) and the Semantic Scholar client
(:mod:`mlr_copilot_jupyter.papers.related`); it depends on the standard library only.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from datetime import timezone
from typing import Any

__all__ = ["parse_retry_after", "server_wait"]


def parse_retry_after(headers: Mapping[str, str] | Any, *, now: float | None = None) -> float | None:
    """Seconds the server asked to wait, or None when it did not say (or said nonsense).

    ``retry-after-ms`` (milliseconds, sent by OpenAI and Azure) wins over ``Retry-After``, which is
    delta-seconds or an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``). A date in the past or a
    negative number means 0; a value that is not finite is ignored. Header names are matched
    without case (``headers`` is any mapping, e.g. ``httpx.Headers``); ``now`` is the current
    time (``time.time()`` when None).
    """
    if not headers:
        return None
    lower = {str(key).lower(): str(value) for key, value in headers.items()}
    ms = _seconds(lower.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000.0
    value = (lower.get("retry-after") or "").strip()
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, the zone of the sender unknown
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def server_wait(exc: BaseException | None) -> float | None:
    """Seconds the server asked to wait in the HTTP response behind ``exc``, if it said."""
    response = getattr(exc, "response", None)
    return parse_retry_after(getattr(response, "headers", None))


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return max(0.0, number) if math.isfinite(number) else None
