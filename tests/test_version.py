"""One version source: ``labextension/package.json``.

pyproject.toml takes its version from it (hatch-nodejs-version), ``__version__`` reads it, the
built extension carries it, and the TypeScript code imports it instead of hard-coding one.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version

import mlr_copilot_jupyter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def npm_version() -> str:
    data = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert data["name"] == "mlr-copilot-jupyter"
    return str(data["version"])


def test_pyproject_takes_its_version_from_package_json() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"] == {"source": "nodejs",
                                                     "path": "labextension/package.json"}
    assert any(r.startswith("hatch-nodejs-version") for r in pyproject["build-system"]["requires"])


def test_python_and_npm_versions_agree() -> None:
    npm = npm_version()
    assert mlr_copilot_jupyter.__version__ == npm
    # The installed distribution's metadata (written from package.json at build time).
    assert Version(version("mlr-copilot-jupyter")) == Version(npm)


def test_the_built_extension_carries_the_same_version() -> None:
    built = Path(mlr_copilot_jupyter.__file__).parent
    data = json.loads((built / "labextension" / "package.json").read_text())
    assert data["name"] == "mlr-copilot-jupyter"
    assert data["version"] == npm_version()


def test_the_typescript_code_imports_the_version_instead_of_hard_coding_it() -> None:
    sources = {p.name: p.read_text() for p in (ROOT / "labextension" / "src").glob("*.ts")}
    assert "import packageJson from '../package.json';" in sources["bridge.ts"]
    assert "export const VERSION: string = packageJson.version;" in sources["bridge.ts"]
    for name, text in sources.items():
        assert not re.search(r"['\"]\d+\.\d+\.\d+['\"]", text), name
