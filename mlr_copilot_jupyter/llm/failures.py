"""What a failed LLM request means for the user: retry delays and one-line errors."""

from __future__ import annotations

import random
from collections.abc import Callable

import openai

from ..config import MLRCopilot
from ..errors import LLMAuthError, LLMError, LLMModelNotFound
from ..http_retry import server_wait
from .base import redact


def retry_delay(settings: MLRCopilot, exc: BaseException | None, failure: int) -> float:
    """Seconds before retry number ``failure``: jittered exponential backoff, or what the server
    asked for (Retry-After) when that is longer."""
    backoff = min(settings.backoff_max, settings.backoff_base * 2 ** (failure - 1))
    delay = random.uniform(backoff / 2, backoff)  # jitter spreads out concurrent retries
    server_says = server_wait(exc)
    if server_says is not None:
        delay = max(delay, min(server_says, max(settings.backoff_max, 120.0)))
    return delay


def gave_up(settings: MLRCopilot, base_url: str, exc: BaseException, attempts: int) -> LLMError:
    """The error after the retries ran out, saying what kept failing and what to do."""
    if isinstance(exc, openai.APITimeoutError):
        what = f"timed out after {settings.request_timeout:g} s"
        hint = "raise MLRCopilot.request_timeout or check the server's load"
    elif isinstance(exc, openai.APIConnectionError):
        what = "could not be reached"
        hint = "check OPENAI_BASE_URL and that the server is running"
    elif isinstance(exc, openai.RateLimitError):
        what = "kept rate-limiting (HTTP 429)"
        hint = "wait, lower MLRCopilot.concurrency or raise MLRCopilot.max_retries"
    elif isinstance(exc, openai.APIStatusError):
        what = f"kept failing (HTTP {exc.status_code})"
        hint = "the server is unhealthy; try again later"
    else:
        what = f"kept returning unusable replies ({short(exc)})"
        hint = "check the server's logs"
    return LLMError(f"{base_url} {what}; gave up after {attempts} attempts", hint=hint)


def cut_twice(settings: MLRCopilot, kind: str, model: str, cap: int, configured: int) -> LLMError:
    """The error when a reply stopped at the output cap again after the re-ask."""
    kind = kind or "query"
    if 0 < settings.output_cap_limit <= configured:
        setting = "MLRCopilot.output_cap_limit"
        example = f"MLR_COPILOT_MAX_OUTPUT_TOKENS={cap * 2}, or unset it"
    elif kind in settings.max_output_tokens_by_kind:
        setting = f"MLRCopilot.max_output_tokens_by_kind['{kind}']"
        example = f"%config MLRCopilot.max_output_tokens_by_kind = {{'{kind}': {cap * 2}}}"
    else:
        setting = "MLRCopilot.max_output_tokens"
        example = f"%config MLRCopilot.max_output_tokens = {cap * 2}"
    lowered = f" (lowered from {configured} to fit the context window)" if cap < configured else ""
    return LLMError(
        f"the {kind} reply of {model} was cut at the output cap of {cap} tokens{lowered}, twice",
        hint=f"raise {setting}, e.g. {example}",
    )


def status_error(
    settings: MLRCopilot,
    base_url: str,
    exc: openai.APIStatusError,
    model: str,
    served_models: Callable[[], list[str]],
) -> LLMError:
    """The error for an HTTP status no retry or adaptation fixes (401/403, 404, others)."""
    message = server_message(exc, settings.api_key())
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return LLMAuthError(
            f"{base_url} rejected the API key from ${settings.api_key_env} (HTTP 401/403)",
            hint=f"check ${settings.api_key_env}, or unset it to use the offline engine",
        )
    if isinstance(exc, openai.NotFoundError) and "model" in message.lower():
        served = served_models()
        hint = "set MLR_COPILOT_MODEL or %config MLRCopilot.model"
        if served:
            hint += "; served: " + ", ".join(served[:10])
        return LLMModelNotFound(f"model {model!r} is not served by {base_url}", hint=hint)
    if isinstance(exc, openai.NotFoundError):
        return LLMError(
            f"{base_url} has no chat-completions endpoint (HTTP 404)",
            hint="OpenAI-compatible base URLs usually end in /v1",
        )
    return LLMError(f"{base_url} answered HTTP {exc.status_code}: {message}")


def server_message(exc: openai.APIStatusError, api_key: str | None) -> str:
    """The server's own error message, on one line, without secrets."""
    body = exc.body
    message = ""
    if isinstance(body, dict):
        err = body.get("error", body)
        message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
    message = message or str(exc)
    return redact(" ".join(message.split())[:300], api_key)


def short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
