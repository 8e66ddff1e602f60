"""Experiment execution: a persistent Jupyter kernel that runs the agent's cells.

The kernel plumbing it shares with batch runs (manager, transport, limits, environment
scrubbing, the metric line) is in :mod:`mlr_copilot_jupyter.kernels`.

Names are imported lazily so that ``import mlr_copilot_jupyter.experiment.<module>`` does not pull
in nbclient / zmq.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "KernelExecutor": "executor",
    "CellResult": "result",
    "truncate_middle": "result",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
