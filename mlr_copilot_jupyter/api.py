"""``Copilot``: the one facade that the magics, CLI and widgets call."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .config import MLRCopilot, StatusTable
from .llm import Backend, Reply, UsageMeter, get_backend
from .llm.base import Message


class Copilot:
    """A research copilot session: settings, the LLM backend, usage accounting.

    Parameters
    ----------
    settings
        An :class:`MLRCopilot` configurable; by default one built from environment variables.
    announce_to
        Where to say (once per process) that the offline engine is in use; default stderr.
    **overrides
        Setting values that win over the environment, e.g. ``model="gpt-4o"``.
    """

    def __init__(
        self,
        settings: MLRCopilot | None = None,
        *,
        announce_to: TextIO | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or MLRCopilot()
        for name, value in overrides.items():
            if value is not None:
                setattr(self.settings, name, value)
        self._announce_to = announce_to
        self._backend: Backend | None = None
        self._backend_key: tuple[Any, ...] | None = None
        self.usage = UsageMeter()

    @property
    def backend(self) -> Backend:
        """The backend for the current settings (rebuilt when the settings change)."""
        s = self.settings
        key = (s.resolved_backend(), s.model, s.base_url, s.api_key_env, s.request_timeout,
               s.max_retries, s.concurrency)
        if self._backend is None or key != self._backend_key:
            self._backend = get_backend(s)
            self._backend_key = key
            if not self._backend.is_llm:
                from .llm.offline import announce

                announce(self._announce_to or sys.stderr)
        return self._backend

    def status(self) -> StatusTable:
        """Backend, model, base URL and whether a key is set (never the key)."""
        return self.settings.status_table()

    def query(self, messages: Sequence[Message] | str, **kwargs: Any) -> Reply[Any]:
        """One LLM call through the configured backend, counted in :attr:`usage`."""
        from .llm.base import usage_scope

        with usage_scope(self.usage):
            return self.backend.query(messages, **kwargs)

    async def aquery(self, messages: Sequence[Message] | str, **kwargs: Any) -> Reply[Any]:
        """Async twin of :meth:`query`."""
        from .llm.base import usage_scope

        with usage_scope(self.usage):
            return await self.backend.aquery(messages, **kwargs)
