"""A third backend, installed the way another package would: a distribution on a path (a
``*.dist-info`` folder whose ``entry_points.txt`` names the class under the group
``mlr_copilot_jupyter.backends``) and the module that defines it. Nothing in the package's
registry is patched: the backend is found by name through ``importlib.metadata``.

The backend, ``relay``, is a small real class: it answers each query by relaying it to the
offline solvers, and appends the label of each call to the file ``$RELAY_LOG`` names, so a test
can see that the calls went through it.
"""

from __future__ import annotations

from pathlib import Path

NAME = "relay"
MODULE = "relay_backend_for_tests"

SOURCE = '''"""The relay backend (a test's third backend)."""

import os

from mlr_copilot_jupyter.llm.base import Backend
from mlr_copilot_jupyter.llm.offline import OfflineBackend


class RelayBackend(Backend):
    """Answers every query by relaying it to the offline solvers; logs each call's label."""

    name = "relay"
    is_llm = False
    capabilities = OfflineBackend.capabilities
    engine_label = "relay over the offline solvers"

    def __init__(self, settings=None):
        super().__init__()
        self.settings = settings
        self._inner = OfflineBackend(settings)

    def describe(self):
        return "relay backend (offline solvers)"

    def _log(self, label):
        path = os.environ.get("RELAY_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as log:
                log.write((label or "-") + "\\n")

    def query(self, messages, **kwargs):
        self._log(kwargs.get("label", ""))
        reply = self._inner.query(messages, **kwargs)
        reply.backend = self.name
        return reply

    async def aquery(self, messages, **kwargs):
        return self.query(messages, **kwargs)
'''


def install_relay(site: Path) -> Path:
    """Put the relay distribution (module + dist-info with its entry point) in ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
    dist = site / "relay_backend_for_tests-0.1.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: relay-backend-for-tests\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        f"[mlr_copilot_jupyter.backends]\n{NAME} = {MODULE}:RelayBackend\n", encoding="utf-8")
    return site
