"""Experiment execution: a persistent Jupyter kernel, the metric protocol, environment scrubbing.

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
    "REPORT_METRIC_PRELUDE": "metrics",
    "format_metric_line": "metrics",
    "parse_metrics": "metrics",
    "strip_ansi": "metrics",
    "scrub_environ": "env",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
