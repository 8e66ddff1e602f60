"""The LLM layer: one ``query()`` / ``aquery()`` signature, several backends."""

from __future__ import annotations

from .base import Backend, Capabilities, Reply, UsageMeter, redact, usage_scope
from .registry import backends, get_backend

__all__ = ["Backend", "Capabilities", "Reply", "UsageMeter", "backends", "get_backend", "redact",
           "usage_scope"]
