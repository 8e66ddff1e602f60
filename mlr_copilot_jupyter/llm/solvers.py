"""The offline solvers: heuristics registered by the modules that own them, found by the engine.

A solver answers one kind of request for the offline engine (``llm/offline.py``): it is called as
``solver(messages, inputs)`` with the typed ``inputs`` the caller passed to ``query()`` (a Paper, a
Task, a request object) and returns an instance of the request's schema (or of a subclass that
carries the heuristic's full result), or a string for a free-text call. It is found by the
request's schema first, else by its call kind (the label up to the first "-").

The module that defines a heuristic registers it, at import, with :func:`register_solver` (or the
:func:`solves` decorator). The offline engine learns which modules those are from the entry-point
group :data:`SOLVER_GROUP` (``[project.entry-points."mlr_copilot_jupyter.offline_solvers"]``, each
entry naming a module) and imports them at the first lookup; so this package names no agent
module, and another package can add solvers the same way. This module is not a backend: agents
import it to register their heuristics without importing the offline engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel

from ..errors import LLMError
from .base import Message

#: The entry-point group naming the modules that register offline solvers.
SOLVER_GROUP = "mlr_copilot_jupyter.offline_solvers"

Solver = Callable[[list[Message], Any], "BaseModel | str"]
_solvers: dict[type[BaseModel] | str, Solver] = {}
_uncounted: set[Solver] = set()
_loaded = threading.Event()
_load_lock = threading.Lock()

S = TypeVar("S", bound=Solver)
In = TypeVar("In")


def register_solver(key: type[BaseModel] | str, solver: Solver, *, counted: bool = True) -> None:
    """Let the offline engine answer requests for ``key`` (a schema, or a call kind such as
    ``"hyde"``) with ``solver(messages, inputs)``.

    ``counted=False``: its answers add no call to the usage totals (the experiment's recipe steps
    and heuristic readouts, which a run has never counted as calls); the backend's own meter
    still records each one.
    """
    _solvers[key] = solver
    if counted:
        _uncounted.discard(solver)
    else:
        _uncounted.add(solver)


def solves(key: type[BaseModel] | str, *, counted: bool = True) -> Callable[[S], S]:
    """Decorator form of :func:`register_solver`."""

    def register(solver: S) -> S:
        register_solver(key, solver, counted=counted)
        return solver

    return register


def is_counted(solver: Solver) -> bool:
    """Whether the solver's answers count as calls in the usage totals."""
    return solver not in _uncounted


def expect_inputs(inputs: object, kind: type[In], call: str) -> In:
    """``inputs`` if it is a ``kind``, else a clear error: the solver cannot work from the prompt."""
    if not isinstance(inputs, kind):
        raise LLMError(f"the offline engine needs the {kind.__name__} as inputs= for the {call} "
                       f"call (got {type(inputs).__name__})")
    return inputs


def call_kind(label: str) -> str:
    """The kind of a call from its label: "review-idea-1" -> "review"."""
    return label.split("-", 1)[0]


def solver_modules() -> list[str]:
    """The modules the entry-point group names (sorted by entry name, so the order is fixed)."""
    found = sorted(entry_points(group=SOLVER_GROUP), key=lambda ep: ep.name)
    return [ep.value for ep in found]


def load_solvers() -> None:
    """Import the modules that register solvers (once)."""
    if _loaded.is_set():
        return
    with _load_lock:
        if not _loaded.is_set():
            for ep in sorted(entry_points(group=SOLVER_GROUP), key=lambda ep: ep.name):
                ep.load()  # the module registers its solvers when it is imported
            _loaded.set()


def find_solver(schema: type[BaseModel] | None, label: str) -> Solver | None:
    """The solver for a request: by its schema first, else by its call kind."""
    load_solvers()
    solver = _solvers.get(schema) if schema is not None else None
    kind = call_kind(label)
    return solver or (_solvers.get(kind) if kind else None)


__all__ = ["SOLVER_GROUP", "Solver", "call_kind", "expect_inputs", "find_solver", "is_counted",
           "load_solvers", "register_solver", "solver_modules", "solves"]
