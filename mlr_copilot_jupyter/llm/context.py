"""The model's context window: learned from the server where it says, and fitting a request to it.

llama.cpp answers ``GET <root>/props``, vLLM lists ``max_model_len`` in ``GET <base>/models`` and
Ollama answers ``POST <root>/api/show`` (``<root>`` is the base URL without ``/v1``). Each probe
is best effort with a short timeout; a server that answers none of them has an unknown window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from .badrequest import message_chars, shrink_messages
from .base import Message

log = logging.getLogger("mlr_copilot")

#: The output cap is never lowered below this to make a prompt fit.
MIN_OUTPUT_TOKENS = 256
#: The window Ollama serves when neither the Modelfile nor the request sets ``num_ctx``.
OLLAMA_DEFAULT_NUM_CTX = 4096
#: Tokens kept free beyond the estimate: chat-template tokens per message and estimate error.
_PER_MESSAGE = 8
_MARGIN = 32


def api_root(base_url: str) -> str:
    """The server root: the base URL without a trailing ``/v1``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def discover_context_window(
    base_url: str, model: str, *, api_key: str | None = None, timeout: float = 3.0
) -> tuple[int | None, str]:
    """The context size the server reports for ``model`` and which server said so
    (``"llama.cpp"``, ``"vLLM"``, ``"Ollama"``), or ``(None, "")``."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    root = api_root(base_url)
    try:
        with httpx.Client(timeout=timeout, headers=headers) as client:
            probes = (
                ("llama.cpp", lambda: _llamacpp(client.get(f"{root}/props"))),
                ("vLLM", lambda: _vllm(client.get(f"{base_url.rstrip('/')}/models"), model)),
                ("Ollama", lambda: _ollama(client.post(f"{root}/api/show", json={"model": model}))),
            )
            for server, probe in probes:
                try:
                    window = probe()
                except (httpx.HTTPError, ValueError, TypeError, KeyError, AttributeError):
                    continue
                if window:
                    return window, server
    except httpx.HTTPError:
        pass
    return None, ""


def _json(response: httpx.Response) -> Any:
    if response.status_code != 200:
        return None
    return response.json()


def _llamacpp(response: httpx.Response) -> int | None:
    body = _json(response)
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings") or {}
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    return _positive(n_ctx or body.get("n_ctx"))


def _vllm(response: httpx.Response, model: str) -> int | None:
    body = _json(response)
    if not isinstance(body, dict):
        return None
    for entry in body.get("data") or []:
        if isinstance(entry, dict) and entry.get("id") == model:
            return _positive(entry.get("max_model_len"))
    return None


def _ollama(response: httpx.Response) -> int | None:
    body = _json(response)
    if not isinstance(body, dict):
        return None
    # Ollama serves its num_ctx (often 2048/4096), not the model's trained length, unless set
    for line in str(body.get("parameters") or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "num_ctx":
            return _positive(parts[1])
    trained = [v for k, v in (body.get("model_info") or {}).items() if k.endswith(".context_length")]
    length = _positive(trained[0]) if trained else None
    # without num_ctx in the Modelfile Ollama serves its default window (4096 in current releases,
    # 2048 before); it truncates longer prompts silently, so assume the default
    return min(length, OLLAMA_DEFAULT_NUM_CTX) if length else None


def _positive(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass
class Fit:
    """A request fitted to a window: its messages, output cap, and whether anything changed."""

    messages: list[Message]
    cap: int
    adapted: bool
    needed: int  # tokens the unfitted request needed (estimated prompt + cap)


def estimate_tokens(messages: list[Message], chars_per_token: float) -> int:
    """Estimated prompt tokens of ``messages``."""
    return int(message_chars(messages) / chars_per_token) + _PER_MESSAGE * len(messages)


def fit_request(
    messages: list[Message], cap: int, window: int, chars_per_token: float, *, fixed_chars: int = 0
) -> Fit:
    """Lower the cap (not below :data:`MIN_OUTPUT_TOKENS`) and shrink the prompt so that
    estimated prompt + cap fits ``window``. ``fixed_chars`` are sent but cannot be cut (the
    schema instructions)."""
    prompt = estimate_tokens(messages, chars_per_token) + int(fixed_chars / chars_per_token)
    needed = prompt + cap
    room = window - _MARGIN
    if needed <= room:
        return Fit(messages, cap, False, needed)
    floor = min(cap, MIN_OUTPUT_TOKENS)
    if prompt + floor <= room:
        return Fit(messages, room - prompt, True, needed)
    # the prompt itself must go down: keep a quarter of the window for the reply at most
    new_cap = max(floor, min(cap, window // 4))
    budget_tokens = room - new_cap - int(fixed_chars / chars_per_token) - _PER_MESSAGE * len(messages)
    target_chars = max(0, int(budget_tokens * chars_per_token))
    return Fit(shrink_messages(messages, target_chars), new_cap, True, needed)
