"""mlr-copilot-jupyter: a research copilot in Jupyter, after MLR-Copilot (arXiv 2408.14033).

``%load_ext mlr_copilot_jupyter`` registers the magics and the ``MLRCopilot`` configurable;
``from mlr_copilot_jupyter import Copilot`` is the Python API every surface uses.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["Copilot", "MLRCopilot", "__version__", "current_copilot", "load_ipython_extension"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package (and %load_ext) stays fast.
    if name == "Copilot":
        from .api import Copilot

        return Copilot
    if name == "MLRCopilot":
        from .config import MLRCopilot

        return MLRCopilot
    raise AttributeError(name)


def current_copilot() -> Any:
    """The :class:`Copilot` behind the ``%mlr_*`` magics of the running IPython session."""
    from IPython import get_ipython

    from .magics import get_magics

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("not running in IPython: create Copilot() yourself")
    return get_magics(shell).copilot


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%mlr_*`` magics and the ``MLRCopilot`` configurable with IPython."""
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unregister

    unregister(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlr-copilot-jupyter"}]
