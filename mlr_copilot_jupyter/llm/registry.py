"""Backend registry: built-ins plus entry points in group ``mlr_copilot_jupyter.backends``.

The settings accept any name registered here (``config.backend_names()`` reads the same group), so
``MLR_COPILOT_BACKEND=mybackend`` selects a backend another package registers. What a display
says about a backend (its label, the notes of the status table) comes from the backend class, so
no caller compares backend names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from ..config import BACKEND_GROUP, MLRCopilot, declare_backend
from ..errors import ConfigError
from .base import Backend

BackendFactory = Callable[[MLRCopilot], Backend]


class BackendRegistry:
    """Holds backend factories by name; ``get`` builds one from settings."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}
        #: name -> a loader of what the factory calls (the backend class for the built-ins and
        #: for entry points naming a class), for what a backend says about itself
        self._targets: dict[str, Callable[[], Any]] = {}
        #: the sys.path the entry points were read for (a distribution added later is seen)
        self._loaded_for: tuple[str, ...] | None = None
        self._from_entry_points: set[str] = set()

    def register(self, name: str, factory: BackendFactory,
                 target: Callable[[], Any] | None = None) -> None:
        """Register ``factory`` under ``name`` (the settings then accept the name); ``target``
        loads the backend class when the factory builds one (for labels and notes)."""
        self._factories[name] = factory
        self._from_entry_points.discard(name)
        if target is not None:
            self._targets[name] = target
        declare_backend(name)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._factories)

    def _load_entry_points(self) -> None:
        path = tuple(sys.path)
        if self._loaded_for == path:
            return
        self._loaded_for = path
        for name in self._from_entry_points:  # read afresh: the path may hold other dists now
            self._factories.pop(name, None)
            self._targets.pop(name, None)
        self._from_entry_points = set()
        for ep in entry_points(group=BACKEND_GROUP):
            if ep.name not in self._factories:
                self._factories[ep.name] = _lazy(ep)
                self._targets[ep.name] = ep.load
                self._from_entry_points.add(ep.name)

    def get(self, settings: MLRCopilot) -> Backend:
        name = settings.resolved_backend()
        if name not in self._factories:
            self._load_entry_points()
        factory = self._factories.get(name)
        if factory is None:
            raise ConfigError(f"unknown backend {name!r}", hint="known: " + ", ".join(self.names()))
        return factory(settings)

    def backend_class(self, name: str) -> type[Backend] | None:
        """The class registered under ``name`` (None: unknown, or a factory that is no class)."""
        if name not in self._factories:
            self._load_entry_points()
        target = self._targets.get(name)
        found = target() if target is not None else None
        return found if isinstance(found, type) and issubclass(found, Backend) else None

    def engine_label(self, engine: str) -> str:
        """How displays credit a result a backend produced, from what the result records as its
        engine (a backend name such as "offline", or "llm:<model>"): the backend's
        ``engine_label``, else ``engine`` itself."""
        if engine not in self.names():
            return engine
        cls = self.backend_class(engine)
        return (cls.engine_label if cls is not None else "") or engine

    def status_notes(self, name: str) -> tuple[str, str]:
        """What the status table adds after the backend's name and after the model."""
        cls = self.backend_class(name)
        return (cls.status_note, cls.model_note) if cls is not None else ("", "")


def _lazy(ep: Any) -> BackendFactory:
    def factory(settings: MLRCopilot) -> Backend:
        return ep.load()(settings)  # type: ignore[no-any-return]

    return factory


def _offline_class() -> type[Backend]:
    from .offline import OfflineBackend

    return OfflineBackend


def _openai(settings: MLRCopilot) -> Backend:
    from .openai_backend import OpenAIBackend

    return OpenAIBackend(settings)


def _offline(settings: MLRCopilot) -> Backend:
    from .offline import OfflineBackend

    return OfflineBackend(settings)


backends = BackendRegistry()
# no class loader for openai: its module imports the SDK, and it adds no label or notes
backends.register("openai", _openai)
backends.register("offline", _offline, _offline_class)


def get_backend(settings: MLRCopilot | None = None) -> Backend:
    """The backend the settings select ('auto' resolves to openai or offline)."""
    return backends.get(settings or MLRCopilot())
