"""FrontendBridge, the kernel side of the ``mlr_copilot`` comm, in a real kernel driven by nbclient
(no frontend): loading the extension works and inserts fall back to the next input.

Message handling with a fake comm and the fallback on an ``InteractiveShell`` are tested
in-process in tests/unit/test_comm.py.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mlr_copilot_jupyter.jupyter_ui.comm import FALLBACK_NOTICE
from tests.support.comm import CELLS


@pytest.mark.slow
def test_under_nbclient_load_ext_and_insert_fall_back(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlr_copilot_jupyter"),
        nbformat.v4.new_code_cell(
            "from mlr_copilot_jupyter.jupyter_ui.comm import FrontendBridge\n"
            "bridge = FrontendBridge.for_shell(get_ipython())\n"
            "bridge.send_state({'paper': {'title': 'P'}})\n"
            "print('open:', bridge.open_notebook('x.ipynb'))\n"
            f"print('insert:', bridge.insert_cells({CELLS!r}, run=True))\n"
        ),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "open: False" in text and "insert: fallback" in text
    assert FALLBACK_NOTICE in text
    assert not any(o["output_type"] == "error" for c in nb.cells for o in c.outputs)
