"""The package version (its one source is ``labextension/package.json``).

A module of its own so that subpackages (``experiment.runner``, the CLI, the comm) read it without
importing the package ``__init__``.
"""

from __future__ import annotations

import json
from pathlib import Path


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
