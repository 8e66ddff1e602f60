"""Kernel side of the ``mlr_copilot`` comm: insert cells, open notebooks, push the research state.

The JupyterLab extension registers the comm target ``mlr_copilot`` on every notebook kernel.
:meth:`FrontendBridge.for_shell` opens a comm to it (at ``%load_ext`` time); the frontend answers
``hello``. The kernel only processes that answer (and every ``ack``) once the cells queued before
it have finished — with "Run All", after the last cell — so nothing here waits for it.

How the kernel knows, without a round trip, that inserts will arrive: the extension adds
``{"mlr_copilot_frontend": VERSION}`` to the metadata of every execute request its notebook sends
(it wraps the kernel connection's ``requestExecute``). A cell whose request carries that mark
runs in a JupyterLab that has the extension and holds this kernel's comm target, so inserts go
out at once over the comm (kernel -> frontend comm messages travel on IOPub, even while a cell
runs, and the frontend inserts them immediately); the frontend acks each one. Where no request
ever carried the mark and no hello arrived (nbclient, papermill, terminal IPython, classic
Notebook, VS Code, JupyterLab without the extension) :meth:`FrontendBridge.insert_cells` falls
back to ``shell.set_next_input`` (one joined cell). An ack that reports a failure is announced
after the next cell, naming what to re-insert.

No insert of a run is lost when the page is reloaded (or the notebook closed and reopened)
mid-run: the kernel keeps every group insert until the frontend says the notebook was ``saved``
with it, and sends the kept ones again, marked ``replay``, when a frontend says ``hello``. A
reloaded page opens a comm of its own when it finds this kernel's comm target in use (a
``comm_info`` request), so the kernel hears the new ``hello`` as soon as it is idle (a background
run), or once the running cell ends (``--wait``); the frontend skips the cells the notebook
already has.

Kernel -> frontend: ``insert_cells``, ``open_notebook``, ``state``, ``notify``.
Frontend -> kernel: ``hello``, ``ack``, ``run_done``, ``pong``, ``saved`` and the side panel's actions
``open_run``, ``insert_run``, ``stop_run``, ``insert_winner``, ``request_state`` (see :meth:`FrontendBridge.on_action`).
Every message is defined once, in ``comm_protocol.schema.json`` (:mod:`.comm_protocol`), which
the extension's TypeScript types (``labextension/src/protocol.ts``) and both sides' tests follow.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from .._version import __version__

COMM_TARGET = "mlr_copilot"
FRONTEND_MARK = "mlr_copilot_frontend"  # execute-request metadata key set by the extension
FALLBACK_NOTICE = (
    "JupyterLab extension not detected: the generated cells were put into the next input as one "
    "cell (install/enable mlr-copilot-jupyter's labextension to get separate cells)"
)
_MAX_REPLIES = 64
#: Group inserts kept for a replay at most (the oldest go first): a few runs' worth of nodes.
MAX_KEPT_INSERTS = 2000
_CELL_TYPES = ("code", "markdown", "raw")

log = logging.getLogger(__name__)

ActionCallback = Callable[[dict[str, Any]], Any]
_bridges: weakref.WeakKeyDictionary[Any, FrontendBridge] = weakref.WeakKeyDictionary()
_null_bridge: FrontendBridge | None = None


def _open_kernel_comm(**kwargs: Any) -> Any:
    import comm  # ipykernel replaces comm.create_comm when it starts, so look it up late

    return comm.create_comm(target_name=COMM_TARGET, **kwargs)


def _close_quietly(comm: Any) -> None:
    try:
        if comm is not None:
            comm.close()
    except Exception:
        log.debug("mlr-copilot: closing a comm failed", exc_info=True)


def _json_clean(value: Any) -> Any:
    """A JSON-safe deep copy (paths, datetimes and numpy scalars become strings)."""
    return json.loads(json.dumps(value, default=str))


def normalize_cell(raw: Any) -> dict[str, Any] | None:
    """A cell dict as the frontend expects it, or None when ``raw`` is not a mapping."""
    if not isinstance(raw, dict):
        return None
    cell_type = raw.get("cell_type") if raw.get("cell_type") in _CELL_TYPES else "code"
    source = raw.get("source", "")
    if isinstance(source, (list, tuple)):
        source = "".join(str(s) for s in source)
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    cell: dict[str, Any] = {"cell_type": cell_type, "source": str(source), "metadata": metadata}
    if cell_type == "code" and isinstance(raw.get("outputs"), list):
        cell["outputs"] = raw["outputs"]
    return _json_clean(cell)


def join_cells(cells: Iterable[dict[str, Any]]) -> str:
    """One code cell's source: code kept as is, markdown and raw cells as ``# `` comments."""
    parts = []
    for cell in cells:
        source = cell["source"].strip("\n")
        if cell["cell_type"] != "code":
            source = "\n".join(f"# {line}" if line else "#" for line in source.splitlines())
        if source:
            parts.append(source)
    return "\n\n".join(parts)


class FrontendBridge:
    """The connection of one IPython shell to the JupyterLab extension, if there is one.

    Every method is safe without a frontend: it then does nothing (or falls back) and never
    raises. ``comm_factory`` (keyword ``data``) is for tests; by default a comm is opened only
    inside an ipykernel.
    """

    def __init__(self, shell: Any = None, *, comm_factory: Callable[..., Any] | None = None,
                 state_interval: float = 0.25) -> None:
        self.shell = shell
        self.available = False
        self.frontend: dict[str, Any] = {}  # the last hello: version, capabilities, notebook_path
        self.replies: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.state_interval = state_interval
        self._comm: Any = None
        self._callbacks: dict[str, list[ActionCallback]] = {}
        self._notice_shown = False
        self._state: Any = None
        self._state_json: str | None = None
        self._sent_json: str | None = None
        self._sent_at = float("-inf")
        self._state_lock = threading.RLock()  # send_state also comes from background runs
        self._trailing: threading.Timer | None = None
        self._cell_id: str | None = None
        self._cell_serial = 0
        self._cell_inserts = 0
        self._fallback_serial = -1
        self._fallback_text = ""
        self.frontend_marked = False  # an execute request carried the extension's mark
        self.failed_inserts: list[dict[str, Any]] = []  # acks with ok false, not yet announced
        self._pending: dict[str, dict[str, Any]] = {}  # request_id -> group, n cells (unacked)
        #: group inserts not yet saved in the notebook, in order: sent again to a new frontend
        self._kept: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.replayed = 0  # inserts sent again to a frontend that connected (counted)
        events = getattr(shell, "events", None)
        if events is not None:
            events.register("pre_run_cell", self._pre_run_cell)
            events.register("post_execute", self._post_execute)
        if comm_factory is None and getattr(shell, "kernel", None) is not None:
            comm_factory = _open_kernel_comm
            self._register_target()
        if comm_factory is not None:
            try:
                self._attach(comm_factory(data={"version": __version__}))
            except Exception:
                log.warning("mlr-copilot: could not open the %s comm", COMM_TARGET, exc_info=True)

    @classmethod
    def for_shell(cls, shell: Any) -> FrontendBridge:
        """The bridge of ``shell``, created (and its comm opened) on first use."""
        global _null_bridge
        if shell is None:
            if _null_bridge is None:
                _null_bridge = cls(None)
            return _null_bridge
        bridge = _bridges.get(shell)
        if bridge is None:
            bridge = _bridges[shell] = cls(shell)
        return bridge

    @property
    def live(self) -> bool:
        """Whether inserts reach a live notebook: a comm is open and the extension is there."""
        return self._comm is not None and (self.available or self.frontend_marked)

    @property
    def current_cell_id(self) -> str | None:
        """The id of the cell running now (None between cells and outside a frontend)."""
        return self._cell_id

    # -- kernel -> frontend -----------------------------------------------------------------
    def insert_cells(self, cells: list[dict[str, Any]], *, run: bool = False) -> str:
        """Insert ``cells`` below the running cell; returns ``"comm"`` or ``"fallback"``."""
        normalized = [c for c in map(normalize_cell, cells or []) if c is not None]
        if self.live:
            msg: dict[str, Any] = {"action": "insert_cells", "request_id": uuid.uuid4().hex,
                                   "cells": normalized, "run": bool(run)}
            # Later insertions of the same cell go below the active cell, which the frontend
            # moves to the last inserted one, so that they keep their order.
            if self._cell_id and not self._cell_inserts:
                msg["after_cell_id"] = self._cell_id
            if self._send(msg):
                self._cell_inserts += 1
                return "comm"
        self._fallback(normalized)
        return "fallback"

    def insert_group(self, cells: list[dict[str, Any]], *, group: str,
                     anchor_cell_id: str | None, label: str = "") -> bool:
        """Send ``cells`` of ``group`` (a run id) to go after the group's last inserted cell,
        else after ``anchor_cell_id``, else at the end of the notebook with a note.

        Does not fall back and does not move the user's active cell; False when nothing was
        sent (no live frontend). Safe from any thread.
        """
        normalized = [c for c in map(normalize_cell, cells or []) if c is not None]
        if not self.live or not normalized:
            return False
        request_id = uuid.uuid4().hex
        msg = {"action": "insert_cells", "request_id": request_id, "cells": normalized,
               "run": False, "group": group, "anchor_cell_id": anchor_cell_id,
               "activate": False}
        self._pending[request_id] = {"group": group, "label": label, "cells": len(normalized)}
        if self._send(msg):
            self._keep(request_id, msg)
            return True
        self._pending.pop(request_id, None)
        return False

    def _keep(self, request_id: str, msg: dict[str, Any]) -> None:
        with self._state_lock:
            self._kept[request_id] = msg
            while len(self._kept) > MAX_KEPT_INSERTS:
                self._kept.popitem(last=False)

    @property
    def kept_inserts(self) -> int:
        """Group inserts the notebook has not been saved with yet (sent again on a reconnect)."""
        return len(self._kept)

    def _replay(self) -> None:
        """Send every kept insert again, in order, to the frontend that just said hello."""
        with self._state_lock:
            kept = [dict(msg, replay=True) for msg in self._kept.values()]
        for msg in kept:
            if not self._send(msg):
                return
            self._pending.setdefault(msg["request_id"], {
                "group": msg.get("group"), "label": "cells", "cells": len(msg["cells"])})
            self.replayed += 1

    def open_notebook(self, path: str | os.PathLike[str]) -> bool:
        """Ask JupyterLab to open ``path``; False when there is no frontend to ask."""
        if not self.available:
            return False
        text = os.fspath(path)
        msg: dict[str, Any] = {"action": "open_notebook", "request_id": uuid.uuid4().hex}
        root = self.frontend.get("server_root")
        absolute = os.path.abspath(text)
        if isinstance(root, str) and root:
            root = os.path.normpath(os.path.expanduser(root))
            if absolute == root or absolute.startswith(root.rstrip(os.sep) + os.sep):
                text = os.path.relpath(absolute, root)
        elif not os.path.isabs(text):
            msg["relative_to"] = "notebook"  # the kernel starts in the notebook's folder
        msg["path"] = text.replace(os.sep, "/")
        return self._send(msg)

    def send_state(self, state_summary: dict[str, Any]) -> None:
        """Show ``state_summary`` (``ResearchState.summary()``) in the side panel.

        Cheap to call often, from any thread: unchanged states are not resent, at most one
        state goes out per ``state_interval``; the latest one follows when the interval is over
        (a background run updates the panel between cells too) or when the cell finishes.
        """
        try:
            text = json.dumps(state_summary, sort_keys=True, default=str)
        except (TypeError, ValueError):
            log.warning("mlr-copilot: state is not JSON-serialisable", exc_info=True)
            return
        with self._state_lock:
            if text != self._state_json:
                self._state, self._state_json = json.loads(text), text
            self._flush_state(force=False)

    def notify(self, message: str, kind: str = "info") -> bool:
        """Show ``message`` as a JupyterLab notification (``kind``: info, success, warning,
        error); False without a frontend. For news that has no cell to print into."""
        if not self.available:
            return False
        return self._send({"action": "notify", "message": message, "type": kind})

    def on_action(self, name: str, callback: ActionCallback) -> None:
        """Call ``callback(message)`` for each frontend message whose ``action`` is ``name``.

        Panel actions carry ``run_id``. Callbacks run between cells; errors are logged.
        Without a ``request_state`` callback the last state is sent again.
        """
        self._callbacks.setdefault(name, []).append(callback)

    def close(self) -> None:
        """Close the comm and stop listening to the shell's events."""
        events = getattr(self.shell, "events", None)
        for event, func in (("pre_run_cell", self._pre_run_cell),
                            ("post_execute", self._post_execute)):
            if events is not None and func in events.callbacks.get(event, []):
                events.unregister(event, func)
        comm, self._comm, self.available = self._comm, None, False
        if self._trailing is not None:
            self._trailing.cancel()
        _close_quietly(comm)
        if self.shell is not None and _bridges.get(self.shell) is self:
            del _bridges[self.shell]

    # -- frontend -> kernel -----------------------------------------------------------------
    def handle_message(self, data: Any) -> None:
        """Dispatch one message from the frontend; malformed ones are ignored."""
        if not isinstance(data, dict) or not isinstance(data.get("action"), str):
            log.debug("mlr-copilot: ignored message %r", data)
            return
        action = data["action"]
        if action == "hello":
            self.frontend, self.available = data, True
            self._sent_json = None  # a new frontend has no state yet
            self._flush_state(force=True)
            self._replay()
        elif action == "saved" and isinstance(data.get("request_ids"), list):
            with self._state_lock:
                for request_id in data["request_ids"]:
                    self._kept.pop(str(request_id), None)
        elif action in ("ack", "run_done", "pong") and isinstance(data.get("request_id"), str):
            pending = self._pending.pop(data["request_id"], None)
            if pending is not None and action == "ack" and data.get("ok") is False:
                self.failed_inserts.append(dict(pending, error=str(data.get("error") or "")))
                with self._state_lock:  # announced, with --insert-run: not sent again
                    self._kept.pop(data["request_id"], None)
            self.replies.setdefault(data["request_id"], []).append(data)
            while len(self.replies) > _MAX_REPLIES:
                self.replies.popitem(last=False)
        elif action == "request_state":
            self._sent_json = None
        for callback in list(self._callbacks.get(action, ())):
            try:
                callback(data)
            except Exception:
                log.exception("mlr-copilot: %s callback failed", action)
        if action == "request_state" and self._sent_json is None:
            self._flush_state(force=True)

    # -- internals --------------------------------------------------------------------------
    def _attach(self, comm: Any) -> None:
        old, self._comm, self.available = self._comm, comm, False
        if old is not comm:
            _close_quietly(old)
        comm.on_msg(self._on_comm_msg)
        comm.on_close(lambda msg, c=comm: self._on_comm_close(c))

    def _register_target(self) -> None:
        # Lets the frontend reconnect (its "refresh" command opens a comm with the hello as data).
        try:
            import comm

            comm.get_comm_manager().register_target(COMM_TARGET, self._on_frontend_open)
        except Exception:
            log.debug("mlr-copilot: could not register the comm target", exc_info=True)

    def _on_frontend_open(self, comm: Any, msg: dict[str, Any]) -> None:
        self._attach(comm)
        self.handle_message((msg.get("content") or {}).get("data"))

    def _on_comm_msg(self, msg: Any) -> None:
        content = msg.get("content") if isinstance(msg, dict) else None
        self.handle_message(content.get("data") if isinstance(content, dict) else None)

    def _on_comm_close(self, comm: Any) -> None:
        if self._comm is comm:  # not an old comm replaced by a reconnection
            self._comm, self.available = None, False

    def _send(self, data: dict[str, Any]) -> bool:
        if self._comm is None:
            return False
        try:
            self._comm.send(data)
            return True
        except Exception:
            log.warning("mlr-copilot: sending %s failed", data.get("action"), exc_info=True)
            return False

    def _flush_state(self, force: bool) -> None:
        with self._state_lock:
            if (not self.available or self._state_json is None
                    or self._state_json == self._sent_json):
                return
            now = time.monotonic()
            wait = self.state_interval - (now - self._sent_at)
            if not force and wait > 0:
                self._flush_later(wait)
                return
            if self._send({"action": "state", "state": self._state}):
                self._sent_json, self._sent_at = self._state_json, now

    def _flush_later(self, wait: float) -> None:
        """Send the latest state once the throttle interval is over (one timer at a time)."""
        if self._trailing is not None and self._trailing.is_alive():
            return
        self._trailing = threading.Timer(wait, self._flush_state, kwargs={"force": True})
        self._trailing.daemon = True
        self._trailing.start()

    def set_next_input(self, text: str) -> bool:
        """Add ``text`` to the running cell's next input (one joined cell); False if impossible."""
        set_next_input = getattr(self.shell, "set_next_input", None)
        if set_next_input is None:
            return False
        # A kernel keeps only the last next-input of a cell, so accumulate within one cell.
        if self._cell_serial and self._fallback_serial == self._cell_serial and self._fallback_text:
            text = f"{self._fallback_text}\n\n{text}" if text else self._fallback_text
        self._fallback_serial, self._fallback_text = self._cell_serial, text
        try:
            set_next_input(text, replace=False)
            return True
        except Exception:
            log.warning("mlr-copilot: set_next_input failed", exc_info=True)
            return False

    def _fallback(self, cells: list[dict[str, Any]]) -> None:
        if not self.set_next_input(join_cells(cells)):
            return
        if not self._notice_shown:
            self._notice_shown = True
            print(FALLBACK_NOTICE)

    def _pre_run_cell(self, info: Any = None) -> None:
        self._cell_serial += 1
        self._cell_inserts = 0
        self._cell_id = getattr(info, "cell_id", None)
        if FRONTEND_MARK in _request_metadata(self.shell):
            self.frontend_marked = True

    def _post_execute(self) -> None:
        self._cell_id = None  # panel-triggered inserts go below the active cell
        self._flush_state(force=True)
        failed, self.failed_inserts = self.failed_inserts, []
        for item in failed:
            group = item.get("group") or ""
            print(f"mlr-copilot: the notebook did not take {item.get('label') or 'cells'} of "
                  f"{group} ({item.get('error') or 'no reason given'}); insert the run with "
                  f"%mlr_experiment --insert-run {group}")


def _request_metadata(shell: Any) -> dict[str, Any]:
    """The metadata of the execute request being run by ``shell``'s kernel ({} if none)."""
    parent: Any = None
    kernel = getattr(shell, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if callable(get_parent):
        try:
            parent = get_parent("shell")
        except Exception:
            parent = None
    if not isinstance(parent, dict) or not parent:
        parent = getattr(shell, "parent_header", None)
    metadata = parent.get("metadata") if isinstance(parent, dict) else None
    return metadata if isinstance(metadata, dict) else {}
