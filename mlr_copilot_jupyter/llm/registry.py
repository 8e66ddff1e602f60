"""Backend registry: built-ins plus entry points in group ``mlr_copilot_jupyter.backends``."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from ..config import MLRCopilot
from ..errors import ConfigError
from .base import Backend

BackendFactory = Callable[[MLRCopilot], Backend]


class BackendRegistry:
    """Holds backend factories by name; ``get`` builds one from settings."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}
        self._loaded_entry_points = False

    def register(self, name: str, factory: BackendFactory) -> None:
        self._factories[name] = factory

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._factories)

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group="mlr_copilot_jupyter.backends"):
            if ep.name not in self._factories:
                self._factories[ep.name] = _lazy(ep)

    def get(self, settings: MLRCopilot) -> Backend:
        name = settings.resolved_backend()
        if name not in self._factories:
            self._load_entry_points()
        factory = self._factories.get(name)
        if factory is None:
            raise ConfigError(f"unknown backend {name!r}", hint="known: " + ", ".join(self.names()))
        return factory(settings)


def _lazy(ep: Any) -> BackendFactory:
    def factory(settings: MLRCopilot) -> Backend:
        return ep.load()(settings)

    return factory


def _openai(settings: MLRCopilot) -> Backend:
    from .openai_backend import OpenAIBackend

    return OpenAIBackend(settings)


def _offline(settings: MLRCopilot) -> Backend:
    from .offline import OfflineBackend

    return OfflineBackend(settings)


backends = BackendRegistry()
backends.register("openai", _openai)
backends.register("offline", _offline)


def get_backend(settings: MLRCopilot | None = None) -> Backend:
    """The backend the settings select ('auto' resolves to openai or offline)."""
    return backends.get(settings or MLRCopilot())
