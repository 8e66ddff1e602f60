"""mlr-copilot-jupyter: a research copilot in Jupyter, after MLR-Copilot (arXiv 2408.14033).

``%load_ext mlr_copilot_jupyter`` registers the magics and the ``MLRCopilot`` configurable;
``from mlr_copilot_jupyter import Copilot`` is the Python API every surface uses.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

from ._version import __version__

# The Jupyter surface (magics, widgets, the comm bridge, live inserts, the comparison UI) lives in
# ``mlr_copilot_jupyter.jupyter_ui`` since 0.x; the old flat import paths keep working: importing
# ``mlr_copilot_jupyter.magics`` gives the very module ``mlr_copilot_jupyter.jupyter_ui.magics``.
_MOVED = frozenset({"magics", "magics_batch", "magics_compare", "magics_data",
                    "magics_experiment", "magics_ideas", "magics_retrieval", "comm",
                    "comm_protocol", "live_insert", "comparison_ui", "widgets"})


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``mlr_copilot_jupyter.<old>[.sub]`` to ``mlr_copilot_jupyter.jupyter_ui.<old>``."""

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        head, _, rest = fullname.partition(".")
        first = rest.split(".")[0]
        if head != __name__ or first not in _MOVED or rest.startswith("jupyter_ui"):
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = spec.name.replace(f"{__name__}.", f"{__name__}.jupyter_ui.", 1)
        module = importlib.import_module(new)
        spec.loader_state = module.__spec__  # the import system overwrites it; put it back
        return module

    def exec_module(self, module: ModuleType) -> None:  # the real module is already executed
        real = module.__spec__.loader_state if module.__spec__ else None
        if real is not None:
            module.__spec__ = real


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())

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

    from .jupyter_ui.magics import get_magics

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("not running in IPython: create Copilot() yourself")
    return get_magics(shell).copilot


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%mlr_*`` magics and the ``MLRCopilot`` configurable with IPython."""
    from .jupyter_ui.magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .jupyter_ui.magics import unregister

    unregister(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlr-copilot-jupyter"}]
