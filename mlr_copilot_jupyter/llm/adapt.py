"""What a server taught a backend during the session, and the requests shaped by it.

A :class:`ServerProfile` holds the facts learned from one endpoint — its context window per model,
the parameters it refused (``temperature``, ``max_tokens``, ``stream_options``), its largest
output cap, its characters per token — and builds each request's parameters from them, so a
request the server refused once is not sent again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..config import MLRCopilot
from ..models import Usage
from .badrequest import BadRequest, message_chars, shrink_messages
from .base import Message
from .context import discover_context_window, fit_request

log = logging.getLogger("mlr_copilot")

_WINDOW_FIXES = {
    "llama.cpp": "start llama-server with a larger context, e.g. -c 16384",
    "Ollama": "raise Ollama's num_ctx (OLLAMA_CONTEXT_LENGTH=16384 ollama serve, or PARAMETER "
    "num_ctx 16384 in a Modelfile)",
    "vLLM": "start vLLM with a larger --max-model-len",
}


class ServerProfile:
    """The facts learned from one endpoint, kept for the session (thread-safe)."""

    def __init__(self, settings: MLRCopilot, base_url: str) -> None:
        self.settings = settings
        self.base_url = base_url
        #: What a user should see once (a context window smaller than the prompts need).
        self.warnings: list[str] = []
        self.chars_per_token = 3.5
        self.no_temperature = False
        self.cap_param = "max_tokens"
        self.cap_ceiling: int | None = None
        self.stream_options = True
        self._windows: dict[str, tuple[int | None, str]] = {}  # model -> (window, who said so)
        self._warned_window = False
        self._lock = threading.Lock()

    # -- request parameters -------------------------------------------------------------------
    def kwargs(self, model: str, messages: list[Message], cap: int, temperature: float,
               stream: bool) -> dict[str, Any]:
        """The parameters of one chat-completions request, minus structured output."""
        if self.cap_ceiling is not None:
            cap = min(cap, self.cap_ceiling)
        kwargs: dict[str, Any] = {"model": model, "messages": messages, self.cap_param: cap}
        if not self.no_temperature:
            kwargs["temperature"] = temperature
        if stream:
            kwargs["stream"] = True
            if self.stream_options:
                kwargs["stream_options"] = {"include_usage": True}
        return kwargs

    def adapt(self, problem: BadRequest, cap: int, stream: bool) -> bool:
        """Change what is sent after a 400 that names a parameter; False when nothing can change."""
        if problem.kind == "temperature" and not self.no_temperature:
            self.no_temperature = True
            log.info("%s refuses 'temperature' for this model: not sending it", self.base_url)
        elif problem.kind == "max_tokens" and self.cap_param == "max_tokens":
            self.cap_param = "max_completion_tokens"
            log.info("%s refuses 'max_tokens': sending max_completion_tokens", self.base_url)
        elif problem.kind == "stream_options" and stream and self.stream_options:
            self.stream_options = False
            log.info("%s refuses 'stream_options': streaming without usage chunks", self.base_url)
        elif problem.kind == "cap" and problem.number and problem.number < min(cap, self.cap_ceiling or cap):
            self.cap_ceiling = problem.number
            log.info("%s allows at most %d output tokens: capping there", self.base_url, problem.number)
        else:
            return False
        return True

    # -- the context window -------------------------------------------------------------------
    def window_unknown(self, model: str) -> bool:
        """Whether the server should still be asked for ``model``'s window."""
        settings = self.settings
        return not settings.context_window and bool(settings.base_url) and model not in self._windows

    def learn_window(self, model: str) -> None:
        """Ask the server for the model's context window, once per model (best effort)."""
        if not self.window_unknown(model):
            return
        with self._lock:
            if model in self._windows:
                return
            window, server = discover_context_window(
                self.base_url, model, api_key=self.settings.api_key(), timeout=3.0
            )
            self._windows[model] = (window, server)
        if window:
            log.info("%s (%s) serves %s with a %d-token context window", self.base_url, server, model, window)

    def window(self, model: str) -> int | None:
        """The context window of ``model``: the setting, else what the server said, else None."""
        return self.settings.context_window or self._windows.get(model, (None, ""))[0]

    def fit(self, model: str, label: str, messages: list[Message], cap: int,
            fixed_chars: int) -> tuple[list[Message], int]:
        """The messages and cap of the next request, fitted to the context window when known."""
        window = self.window(model)
        if not window:
            return messages, cap
        fit = fit_request(messages, cap, window, self.chars_per_token, fixed_chars=fixed_chars)
        if fit.adapted:
            self.warn_window(model, window, fit.needed)
            log.info("[%s] fitted to the %d-token window: output cap %d -> %d, prompt %d -> %d chars",
                     label, window, cap, fit.cap, message_chars(messages), message_chars(fit.messages))
        return fit.messages, fit.cap

    def after_overflow(self, model: str, messages: list[Message], window: int | None) -> list[Message] | None:
        """The prompt cut after the server said it exceeds the context window (None: cannot cut)."""
        if window:
            with self._lock:
                self._windows[model] = (window, self._windows.get(model, (None, ""))[1])
        self.warn_window(model, window, None)
        before = message_chars(messages)
        shrunk = shrink_messages(messages, before * 3 // 5)
        after = message_chars(shrunk)
        if after >= before:
            return None
        log.info("the prompt exceeds %s's context window: cut from %d to %d characters", model, before, after)
        return shrunk

    def warn_window(self, model: str, window: int | None, needed: int | None) -> None:
        """Say once, in the log and in ``warnings``, that the window is smaller than needed."""
        with self._lock:
            if self._warned_window:
                return
            self._warned_window = True
        server = self._windows.get(model, (None, ""))[1]
        fix = _WINDOW_FIXES.get(server, "serve it with a larger context (llama-server -c, Ollama "
                                "num_ctx, vLLM --max-model-len)")
        if self.settings.context_window:
            fix += "; MLRCopilot.context_window sets the window assumed"
        size = f"a {window:,}-token context window" if window else "a context window"
        need = f"a request needs about {needed:,} tokens" if needed else "a prompt did not fit"
        text = (f"{model} at {self.base_url} has {size} but {need} (prompt + output cap): prompts "
                f"are cut and replies capped to fit; {fix}")
        self.warnings.append(text)
        log.warning(text)

    def calibrate(self, sent: list[Message], usage: Usage) -> None:
        """Learn the server's characters per token from its prompt counts."""
        chars = message_chars(sent)
        if usage.prompt_tokens >= 32 and chars >= 200:
            ratio = min(5.0, max(2.0, chars / usage.prompt_tokens))
            self.chars_per_token = (self.chars_per_token + ratio) / 2
