"""FrontendBridge: the kernel side of the ``mlr_copilot`` comm.

Message handling is tested with a fake comm standing in for the JupyterLab side; the fallback
path on a real ``InteractiveShell`` (tests/integration/test_comm.py: on a real kernel driven by
nbclient, no frontend). The fake
comm checks every message the kernel sends against the protocol's JSON Schema
(``mlr_copilot_jupyter/jupyter_ui/comm_protocol.schema.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter import __version__
from mlr_copilot_jupyter.jupyter_ui.comm import FALLBACK_NOTICE, FrontendBridge
from tests.support import comm as _comm
from tests.support.comm import CELLS, HELLO, META, FakeComm

shell = _comm.shell  # the fixture


@pytest.fixture
def comm() -> FakeComm:
    return FakeComm()


@pytest.fixture
def bridge(shell: InteractiveShell, comm: FakeComm) -> Iterator[FrontendBridge]:
    bridge = FrontendBridge(shell, comm_factory=comm.open)
    shell.user_ns["bridge"] = bridge
    yield bridge
    bridge.close()
    shell.user_ns.pop("bridge", None)


def run(shell: InteractiveShell, code: str, cell_id: str | None = None) -> Any:
    result = shell.run_cell(code, cell_id=cell_id)
    result.raise_error()
    return result.result


def test_comm_opened_and_hello_makes_the_frontend_available(
    bridge: FrontendBridge, comm: FakeComm
) -> None:
    assert comm.open_kwargs == {"data": {"version": __version__}}
    assert not bridge.available
    comm.deliver(HELLO)
    assert bridge.available
    assert bridge.frontend["notebook_path"] == "work/nb.ipynb"


def test_insert_cells_sends_cells_with_metadata_below_the_running_cell(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm
) -> None:
    comm.deliver(HELLO)
    shell.user_ns["cells"] = CELLS
    code = "r1 = bridge.insert_cells(cells, run=True)\nr2 = bridge.insert_cells(cells[1:])"
    run(shell, code, cell_id="cell-7")
    assert shell.user_ns["r1"] == shell.user_ns["r2"] == "comm"
    first, second = comm.actions("insert_cells")
    assert first["cells"] == [
        {"cell_type": "markdown", "source": "## Plan\n\nTry a bigger model.", "metadata": META},
        {"cell_type": "code", "source": "x = 41 + 1", "metadata": META},
    ]
    assert first["run"] is True and first["after_cell_id"] == "cell-7"
    # The second goes below the first (the frontend's active cell), keeping the order.
    assert "after_cell_id" not in second and second["run"] is False
    assert first["request_id"] != second["request_id"]
    assert shell.rl_next_input is None

    comm.deliver({"action": "ack", "request_id": first["request_id"], "ok": True, "inserted": 2})
    assert bridge.replies[first["request_id"]][0]["inserted"] == 2


def test_cells_are_normalised_to_json(bridge: FrontendBridge, comm: FakeComm) -> None:
    comm.deliver(HELLO)
    bridge.insert_cells([{"source": ["a = 1\n", "b = 2"], "metadata": {"path": Path("/x")}},
                         "not a cell", {"cell_type": "heading", "source": "t", "metadata": None}])
    (msg,) = comm.actions("insert_cells")
    assert msg["cells"] == [
        {"cell_type": "code", "source": "a = 1\nb = 2", "metadata": {"path": "/x"}},
        {"cell_type": "code", "source": "t", "metadata": {}},
    ]


def test_without_hello_cells_go_to_the_next_input_joined(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shell.user_ns["cells"] = CELLS
    run(shell, "r = bridge.insert_cells(cells)\nbridge.insert_cells([{'source': 'y = x'}])")
    assert shell.user_ns["r"] == "fallback"
    # Both calls of the cell end up in the one next input a kernel keeps.
    assert shell.rl_next_input == "# ## Plan\n#\n# Try a bigger model.\n\nx = 41 + 1\n\ny = x"
    assert comm.actions("insert_cells") == []
    run(shell, "bridge.insert_cells([{'source': 'z = 3'}])")
    assert shell.rl_next_input == "z = 3"
    assert capsys.readouterr().out.count(FALLBACK_NOTICE) == 1


def test_comm_closed_by_frontend_falls_back(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm
) -> None:
    comm.deliver(HELLO)
    comm.close_from_frontend()
    assert not bridge.available
    assert bridge.insert_cells(CELLS) == "fallback"
    assert bridge.open_notebook("other.ipynb") is False
    assert shell.rl_next_input.endswith("x = 41 + 1")


def test_actions_dispatch_to_callbacks_and_errors_do_not_escape(
    bridge: FrontendBridge, comm: FakeComm
) -> None:
    got: list[tuple[str, Any]] = []

    def broken(msg: dict[str, Any]) -> None:
        raise RuntimeError("callback bug")

    bridge.on_action("stop_run", broken)
    bridge.on_action("stop_run", lambda m: got.append(("stop", m["run_id"])))
    bridge.on_action("open_run", lambda m: got.append(("open", m["run_id"])))
    bridge.on_action("insert_run", lambda m: got.append(("insert", m["run_id"])))
    comm.deliver({"action": "stop_run", "run_id": "run-2"})
    comm.deliver({"action": "open_run", "run_id": "run-1"})
    comm.deliver({"action": "insert_run", "run_id": "run-1"})
    assert got == [("stop", "run-2"), ("open", "run-1"), ("insert", "run-1")]


@pytest.mark.parametrize("data", [None, "hello", 42, [], {}, {"action": 5}, {"run_id": "r"},
                                  {"action": None}])
def test_malformed_messages_are_ignored(
    bridge: FrontendBridge, comm: FakeComm, data: Any
) -> None:
    comm.deliver(data)
    comm._on_msg(data)  # not even a message envelope
    comm._on_msg({"content": None})
    assert not bridge.available and comm.sent == []


def test_state_waits_for_hello_then_is_deduplicated_and_throttled(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm
) -> None:
    bridge.state_interval = 3600.0
    bridge.send_state({"paper": {"title": "Early"}})
    assert comm.sent == []  # no frontend yet: kept, not sent
    comm.deliver(HELLO)
    assert [m["state"]["paper"]["title"] for m in comm.actions("state")] == ["Early"]
    for i in range(50):
        bridge.send_state({"paper": {"title": f"T{i}"}, "runs": [{"path": Path("/r")}]})
    assert len(comm.actions("state")) == 1  # throttled
    run(shell, "pass")  # the latest state goes out when the cell finishes
    states = comm.actions("state")
    assert len(states) == 2 and states[-1]["state"] == {"paper": {"title": "T49"},
                                                        "runs": [{"path": "/r"}]}
    bridge.state_interval = 0.0
    bridge.send_state({"runs": [{"path": Path("/r")}], "paper": {"title": "T49"}})
    assert len(comm.actions("state")) == 2  # unchanged: not resent


def test_request_state_resends_the_state_or_asks_the_callback(
    bridge: FrontendBridge, comm: FakeComm
) -> None:
    comm.deliver(HELLO)
    bridge.send_state({"paper": {"title": "P"}})
    comm.deliver({"action": "request_state"})
    assert [m["state"] for m in comm.actions("state")] == [{"paper": {"title": "P"}}] * 2
    bridge.on_action("request_state", lambda m: bridge.send_state({"paper": {"title": "Q"}}))
    comm.deliver({"action": "request_state"})
    assert [m["state"]["paper"]["title"] for m in comm.actions("state")] == ["P", "P", "Q"]


def test_open_notebook_sends_a_path_under_the_server_root(
    bridge: FrontendBridge, comm: FakeComm, tmp_path: Path
) -> None:
    comm.deliver({**HELLO, "server_root": str(tmp_path)})
    assert bridge.open_notebook(tmp_path / "runs" / "run-1" / "experiment.ipynb") is True
    assert bridge.open_notebook("runs/run-2/experiment.ipynb") is True  # cwd is tmp_path
    assert [m["path"] for m in comm.actions("open_notebook")] == [
        "runs/run-1/experiment.ipynb", "runs/run-2/experiment.ipynb"]


def test_for_shell_caches_and_none_is_a_no_op(shell: InteractiveShell) -> None:
    bridge = FrontendBridge.for_shell(shell)
    try:
        assert FrontendBridge.for_shell(shell) is bridge
        assert not bridge.available  # a terminal shell has no kernel: no comm
    finally:
        bridge.close()
    none = FrontendBridge.for_shell(None)
    assert none.insert_cells(CELLS, run=True) == "fallback"
    assert none.open_notebook("x.ipynb") is False
    none.send_state({"paper": None})
    none.on_action("stop_run", print)


def test_marked_execute_request_makes_inserts_live_before_any_hello(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "Run All": the hello waits behind every queued cell, but each request carries the mark.
    shell.user_ns["cells"] = CELLS
    shell.parent_header = {"metadata": {"mlr_copilot_frontend": "0.1.0", "cellId": "c-2"}}
    try:
        run(shell, "anchor = bridge.current_cell_id\n"
                   "sent = bridge.insert_group(cells, group='run-9', anchor_cell_id=anchor, "
                   "label='node n1')", cell_id="c-2")
    finally:
        del shell.parent_header
    assert not bridge.available and bridge.live and shell.user_ns["sent"] is True
    (msg,) = comm.actions("insert_cells")
    assert (msg["group"], msg["anchor_cell_id"], msg["activate"]) == ("run-9", "c-2", False)
    assert [c["source"] for c in msg["cells"]] == [c["source"] for c in CELLS]
    assert shell.rl_next_input is None
    # a refusal from the notebook is said after the next cell, with how to re-insert
    comm.deliver({"action": "ack", "request_id": msg["request_id"], "ok": False,
                  "error": "no open notebook is attached to this kernel"})
    run(shell, "pass")
    out = capsys.readouterr().out
    assert "did not take node n1 of run-9 (no open notebook is attached to this kernel)" in out
    assert "%mlr_experiment --insert-run run-9" in out


def test_unmarked_requests_without_hello_send_nothing_live(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm
) -> None:
    run(shell, "pass", cell_id="c-1")
    assert not bridge.live
    assert bridge.insert_group(CELLS, group="run-9", anchor_cell_id="c-1") is False
    assert comm.actions("insert_cells") == []


def test_state_updates_from_a_background_thread_reach_the_panel_between_cells(
    bridge: FrontendBridge, comm: FakeComm
) -> None:
    import threading
    import time

    comm.deliver(HELLO)
    bridge.state_interval = 0.3
    bridge.send_state({"comparisons": [{"status": "running", "done": 0}]})

    def updates() -> None:  # a comparison's on_update: many quick updates, no cell running
        for done in range(1, 21):
            bridge.send_state({"comparisons": [{"status": "running", "done": done}]})
            time.sleep(0.01)

    worker = threading.Thread(target=updates)
    worker.start()
    worker.join()
    assert len(comm.actions("state")) == 1  # throttled ...
    deadline = time.monotonic() + 5
    while len(comm.actions("state")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    states = comm.actions("state")  # ... and the latest one follows without any cell
    assert [s["state"]["comparisons"][0]["done"] for s in states] == [0, 20]
    time.sleep(0.5)
    assert len(comm.actions("state")) == 2


def _group_cells(node: str) -> list[dict[str, Any]]:
    meta = {"mlr_copilot": {"node_id": node, "run_id": "run-9", "stage": "draft"}}
    return [{"cell_type": "markdown", "source": f"## {node}", "metadata": meta},
            {"cell_type": "code", "source": f"# {node}", "metadata": meta}]


def test_inserts_not_yet_saved_are_sent_again_to_a_frontend_that_reconnects(
    bridge: FrontendBridge, comm: FakeComm
) -> None:
    """Issue 27 item 5: a page reloaded mid-run gets every node the notebook was not saved with
    (acknowledged or not), in order, marked ``replay``; a saved one is never sent again."""
    comm.deliver(HELLO)
    for node in ("n1", "n2", "n3"):
        assert bridge.insert_group(_group_cells(node), group="run-9", anchor_cell_id="c-1",
                                   label=f"node {node}")
    first = comm.actions("insert_cells")
    assert [m.get("replay") for m in first] == [None, None, None]
    ids = [m["request_id"] for m in first]
    comm.deliver({"action": "ack", "request_id": ids[0], "ok": True, "inserted": 2})
    comm.deliver({"action": "ack", "request_id": ids[1], "ok": True, "inserted": 2})
    comm.deliver({"action": "saved", "request_ids": [ids[0]]})  # n1 is on disk; n2, n3 not yet
    assert bridge.kept_inserts == 2

    # the page reloads: the new page opens a comm of its own with its hello (comm target path)
    reloaded = FakeComm()
    bridge._on_frontend_open(reloaded, {"content": {"data": HELLO}})
    assert comm.closed  # the dead page's comm is dropped
    again = reloaded.actions("insert_cells")
    assert [m["request_id"] for m in again] == ids[1:]
    assert all(m["replay"] is True and m["group"] == "run-9" for m in again)
    assert [c["source"] for c in again[0]["cells"]] == ["## n2", "# n2"]
    assert bridge.replayed == 2

    # the new page took them and saved: a later reconnect sends nothing again
    for message in again:
        reloaded.deliver({"action": "ack", "request_id": message["request_id"], "ok": True})
    reloaded.deliver({"action": "saved", "request_ids": ids[1:]})
    assert bridge.kept_inserts == 0
    reloaded.deliver(HELLO)
    assert len(reloaded.actions("insert_cells")) == 2


def test_an_insert_the_notebook_refused_is_announced_once_not_replayed(
    shell: InteractiveShell, bridge: FrontendBridge, comm: FakeComm,
    capsys: pytest.CaptureFixture[str],
) -> None:
    comm.deliver(HELLO)
    assert bridge.insert_group(_group_cells("n1"), group="run-9", anchor_cell_id=None,
                               label="node n1")
    request_id = comm.actions("insert_cells")[0]["request_id"]
    comm.deliver({"action": "ack", "request_id": request_id, "ok": False,
                  "error": "no open notebook is attached to this kernel"})
    assert bridge.kept_inserts == 0
    run(shell, "1")
    assert "%mlr_experiment --insert-run run-9" in capsys.readouterr().out
    comm.deliver(HELLO)
    assert len(comm.actions("insert_cells")) == 1
