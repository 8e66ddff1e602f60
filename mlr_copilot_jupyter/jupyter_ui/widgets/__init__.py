"""ipywidgets front ends: the idea review board and the experiment monitor.

Imports are lazy so that loading one widget does not pull in the others.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExperimentMonitor", "ReviewBoard"]


def __getattr__(name: str) -> Any:
    if name == "ReviewBoard":
        from .review_board import ReviewBoard

        return ReviewBoard
    if name == "ExperimentMonitor":
        from .monitor import ExperimentMonitor

        return ExperimentMonitor
    raise AttributeError(name)
