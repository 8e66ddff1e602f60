"""mlr-copilot-jupyter: a research copilot in Jupyter, after MLR-Copilot (arXiv 2408.14033).

``%load_ext mlr_copilot_jupyter`` registers the magics and the ``MLRCopilot`` configurable;
``from mlr_copilot_jupyter import Copilot`` is the Python API every surface uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _version() -> str:
    """The version, whose one source is ``labextension/package.json``.

    In a source checkout (or an editable install) that file is read directly; the build writes
    it into the distribution's metadata (hatch-nodejs-version), which installed wheels report.
    """
    package_json = Path(__file__).resolve().parent.parent / "labextension" / "package.json"
    try:
        data = json.loads(package_json.read_text(encoding="utf-8"))
        if data.get("name") == "mlr-copilot-jupyter" and isinstance(data.get("version"), str):
            return str(data["version"])
    except (OSError, ValueError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlr-copilot-jupyter")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

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
