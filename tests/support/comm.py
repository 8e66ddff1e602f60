"""Helpers shared by the tests (moved from ``tests/test_comm.py``)."""

from __future__ import annotations

import atexit
import json
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter import __version__, comm_protocol

HELLO = {"action": "hello", "version": __version__, "capabilities": ["insert_cells", "state"],
         "jupyterlab_version": "4.6.4", "notebook_path": "work/nb.ipynb",
         "server_root": "/srv/lab"}


META = {"mlr_copilot": {"node_id": "n1", "stage": "draft"}}


CELLS = [
    {"cell_type": "markdown", "source": "## Plan\n\nTry a bigger model.", "metadata": META},
    {"cell_type": "code", "source": "x = 41 + 1", "metadata": META},
]


class FakeComm:
    """Records what the kernel sends; ``deliver`` plays a message from the frontend.

    Like the extension's end, it takes only messages of the comm protocol: ``open`` and ``send``
    raise ``ValueError`` on data the schema does not allow.
    """

    def __init__(self) -> None:
        self.open_kwargs: dict[str, Any] | None = None
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        self._on_msg: Any = None
        self._on_close: Any = None

    def open(self, **kwargs: Any) -> FakeComm:
        """The bridge's comm factory: the kernel opens the comm."""
        comm_protocol.validate(kwargs.get("data"), comm_protocol.COMM_OPEN_DATA)
        self.open_kwargs = kwargs
        return self

    def send(self, data: dict[str, Any]) -> None:
        json.dumps(data)  # what a real comm does: it must be JSON
        comm_protocol.validate(data, comm_protocol.KERNEL_TO_FRONTEND)
        self.sent.append(data)

    def on_msg(self, callback: Any) -> None:
        self._on_msg = callback

    def on_close(self, callback: Any) -> None:
        self._on_close = callback

    def close(self) -> None:
        self.closed = True

    def deliver(self, data: Any) -> None:
        self._on_msg({"content": {"comm_id": "c1", "data": data}})

    def close_from_frontend(self) -> None:
        self._on_close({"content": {"comm_id": "c1", "data": {}}})

    def actions(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("action") == name]


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """The IPython shell instance with no next input set, before and after the test
    (tests/unit/test_comm.py, tests/unit/test_comm_protocol.py). The extension a test loaded is
    unloaded and a shell this fixture made is cleared: a later test's ``ip`` on the same
    worker got this shell with the extension loaded for another test's run folder."""
    existed = InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    shell.rl_next_input = None
    yield shell
    shell.rl_next_input = None
    if "mlr_copilot_jupyter" in shell.extension_manager.loaded:
        shell.run_line_magic("unload_ext", "mlr_copilot_jupyter")
    if not existed:
        InteractiveShell.clear_instance()
        atexit.unregister(shell.atexit_operations)
