"""The ``mlr_copilot`` comm protocol, defined once in ``comm_protocol.schema.json``.

The kernel side is held to it here: the schema is a valid draft 2020-12 schema, it agrees with the
shared examples (``tests/support/data/comm_protocol_examples.json``, also read by the TypeScript tests), every
message :class:`FrontendBridge` sends validates (here in one scenario covering each kind; in
``tests/integration/test_comm.py`` and ``tests/integration/test_compare_insert.py`` through the validating fake comm), and
the frontend messages the kernel acts on are exactly the schema's. The extension side is held to
the same file by ``labextension/test/*.test.ts``.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter.jupyter_ui import comm_protocol
from mlr_copilot_jupyter.jupyter_ui.comm import FrontendBridge
from tests.support import comm as _comm
from tests.support.comm import CELLS, HELLO, FakeComm

shell = _comm.shell  # the fixture


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = json.loads((ROOT / "tests" / "support" / "data" / "comm_protocol_examples.json").read_text())
K2F, F2K = comm_protocol.KERNEL_TO_FRONTEND, comm_protocol.FRONTEND_TO_KERNEL
# What FrontendBridge.handle_message itself acts on; the rest go to on_action callbacks.
BRIDGE_ACTIONS = {"hello", "ack", "run_done", "pong", "request_state", "saved"}


def test_the_schema_is_a_draft_2020_12_schema_shipped_in_the_package() -> None:
    schema = comm_protocol.schema()
    assert comm_protocol.SCHEMA_PATH.parent == Path(comm_protocol.__file__).parent
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    # One definition per message, discriminated by its `action` constant.
    k2f, f2k = comm_protocol.actions(K2F), comm_protocol.actions(F2K)
    assert k2f == ["insert_cells", "open_notebook", "state", "notify", "ping"]
    assert not set(k2f) & set(f2k) and len(set(f2k)) == len(f2k)
    for action in k2f + f2k:
        definition = schema["$defs"][action]
        assert "action" in definition["required"] and definition["additionalProperties"] is False


@pytest.mark.parametrize(("key", "direction"), [("kernel_to_frontend", K2F),
                                                ("frontend_to_kernel", F2K)])
def test_the_schema_agrees_with_the_shared_examples(key: str, direction: Any) -> None:
    other = F2K if direction == K2F else K2F
    for message in EXAMPLES[key]["valid"]:
        assert comm_protocol.errors(message, direction) == [], message
        assert comm_protocol.errors(message, other), message  # the directions do not overlap
        jsonschema.validate(message, comm_protocol.schema())  # and the root schema takes it
    for message in EXAMPLES[key]["invalid"]:
        assert comm_protocol.errors(message, direction), message
        with pytest.raises(ValueError, match=f"not a valid {direction} message"):
            comm_protocol.validate(message, direction)


def test_the_fake_comm_refuses_messages_outside_the_protocol() -> None:
    comm = FakeComm()
    with pytest.raises(ValueError, match="request_id: 3 is not of type 'string'"):
        comm.send({"action": "insert_cells", "request_id": 3, "cells": [], "run": False})
    with pytest.raises(ValueError, match="action 'pong' is not one of"):
        comm.send({"action": "pong", "request_id": None})
    with pytest.raises(ValueError, match="'version' is a required property"):
        comm.open(data={})
    assert comm.sent == []


def test_every_kind_of_message_the_bridge_sends_validates(
    shell: InteractiveShell, tmp_path: Path
) -> None:
    comm = FakeComm()
    bridge = FrontendBridge(shell, comm_factory=comm.open, state_interval=0)
    try:
        assert comm.open_kwargs is not None
        comm_protocol.validate(comm.open_kwargs["data"], comm_protocol.COMM_OPEN_DATA)
        bridge.send_state({"paper": {"title": "P"}, "runs": [], "when": tmp_path})
        comm.deliver({**HELLO, "server_root": str(tmp_path)})
        raw = [*CELLS, {"cell_type": "heading", "source": ["a", "b"], "outputs": [{"x": 1}]}, 7]
        assert bridge.insert_cells(raw, run=True) == "comm"
        bridge._cell_id = "c-1"  # as in a running cell: the first insert goes after it
        bridge._cell_inserts = 0
        assert bridge.insert_cells(CELLS) == "comm"
        assert bridge.insert_group(CELLS, group="run-1", anchor_cell_id=None, label="node n1")
        assert bridge.insert_group(CELLS, group="run-1", anchor_cell_id="c-1")
        assert bridge.open_notebook(tmp_path / "runs" / "r1" / "experiment.ipynb")
        comm.deliver({**HELLO, "server_root": None})
        assert bridge.open_notebook("cmp/compare.ipynb")
        assert bridge.notify("Insert winner: no winner yet", "warning")
        comm.deliver({"action": "request_state"})
    finally:
        bridge.close()
    # FakeComm.send validated each message; check that the scenario covered every kind.
    sent = [m["action"] for m in comm.sent]
    assert set(sent) == set(comm_protocol.actions(K2F)) - {"ping"}, sent
    opens = comm.actions("open_notebook")
    assert [o["path"] for o in opens] == ["runs/r1/experiment.ipynb", "cmp/compare.ipynb"]
    assert opens[1]["relative_to"] == "notebook"
    assert [m.get("after_cell_id") for m in comm.actions("insert_cells")][:2] == [None, "c-1"]
    assert len(comm.actions("state")) >= 2  # after the hellos and request_state


def test_the_kernel_sends_only_messages_the_schema_describes() -> None:
    from mlr_copilot_jupyter.jupyter_ui import comm

    source = inspect.getsource(comm)
    sent = set(re.findall(r'"action":\s*"(\w+)"', source))
    assert sent and sent <= set(comm_protocol.actions(K2F)), sent


def test_the_frontend_messages_the_kernel_acts_on_are_the_schemas(
    shell: InteractiveShell,
) -> None:
    from mlr_copilot_jupyter.jupyter_ui.magics import get_magics

    handled = inspect.getsource(FrontendBridge.handle_message)
    for action in BRIDGE_ACTIONS:
        assert f'"{action}"' in handled, action
    shell.run_line_magic("load_ext", "mlr_copilot_jupyter")
    bridge = get_magics(shell).bridge
    callbacks = {name for name, funcs in bridge._callbacks.items() if funcs}
    assert BRIDGE_ACTIONS | callbacks == set(comm_protocol.actions(F2K))
    # Each frontend example is taken without error by the kernel side.
    for message in EXAMPLES["frontend_to_kernel"]["valid"]:
        if message["action"] not in {"hello", "insert_run", "insert_winner", "open_run"}:
            bridge.handle_message(message)


def test_the_extension_reads_the_same_schema_file() -> None:
    schema_ts = (ROOT / "labextension" / "test" / "schema.ts").read_text()
    assert "'mlr_copilot_jupyter', 'jupyter_ui', 'comm_protocol.schema.json'" in schema_ts
    assert "'tests', 'support', 'data', 'comm_protocol_examples.json'" in schema_ts
