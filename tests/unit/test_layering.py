"""The public result types re-exported by ``mlr_copilot_jupyter.types`` all resolve.

The layering rule (the surfaces call ``Copilot`` and import public types, never the agent or
engine packages) is the import-linter contract ``surfaces-use-the-facade`` in ``pyproject.toml``,
run by ``make lint`` and tested in ``tests/integration/test_import_contracts.py``."""

from __future__ import annotations


def test_every_re_exported_name_resolves() -> None:
    from mlr_copilot_jupyter import types

    for name in types.__all__:
        assert getattr(types, name) is not None, name
