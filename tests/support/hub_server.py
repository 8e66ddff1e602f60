"""A local fake of the Hugging Face Hub listing API (``GET /api/models``, ``/api/datasets``).

Stdlib only: a :class:`http.server.ThreadingHTTPServer` on 127.0.0.1 in a daemon thread.
Point ``HF_ENDPOINT`` at ``srv.url`` and the real ``huggingface_hub`` client talks to it.

Like the Hub it answers a JSON list of repos (``id``, ``modelId``, ``pipeline_tag``, ``tags``,
``downloads``, ``likes``, ...), honours ``search`` (every word must occur in the id,
case-insensitive), ``pipeline_tag``, ``filter`` (tags), ``sort=downloads`` and ``limit`` (the
page size, capped at ``page_size``), and paginates with
``Link: <.../api/models?...&cursor=N>; rel="next"`` while results remain.

Faults, one per request in FIFO order (``push_fault``): ``"429"`` / ``"500"`` / any status,
with ``retry_after=`` seconds; ``"slow"`` sleeps ``delay`` seconds (aborted by ``stop()``) and
then answers normally. Every request is recorded (path, query, headers) in ``srv.requests``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

__all__ = ["HubServer", "dataset", "hub_server", "model", "serving"]


def model(repo_id: str, *, pipeline_tag: str | None = None, tags: list[str] | None = None,
          downloads: int = 0, likes: int = 0, library_name: str | None = None) -> dict[str, Any]:
    """A model entry shaped like the Hub's ``/api/models`` items."""
    return {"_id": f"id-{repo_id}", "id": repo_id, "modelId": repo_id, "pipeline_tag": pipeline_tag,
            "tags": list(tags or []), "downloads": downloads, "likes": likes,
            "library_name": library_name, "private": False,
            "createdAt": "2024-01-01T00:00:00.000Z"}


def dataset(repo_id: str, *, description: str = "", tags: list[str] | None = None,
            downloads: int = 0, likes: int = 0) -> dict[str, Any]:
    """A dataset entry shaped like the Hub's ``/api/datasets`` items."""
    return {"_id": f"id-{repo_id}", "id": repo_id, "author": repo_id.split("/")[0],
            "tags": list(tags or []), "downloads": downloads, "likes": likes,
            "description": description, "private": False, "gated": False, "disabled": False,
            "createdAt": "2024-01-01T00:00:00.000Z"}


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class HubServer:
    models: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 50
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    # -- control -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def push_fault(self, kind: str, *, retry_after: float | None = None, delay: float = 30.0) -> None:
        with self._lock:
            self._faults.append({"kind": kind, "retry_after": retry_after, "delay": delay})

    def start(self) -> HubServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append(Request(parts.path, query, {k.lower(): v for k, v in h.headers.items()}))
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault["kind"] == "slow":
            end = time.monotonic() + fault["delay"]
            while time.monotonic() < end and not self._stopping.is_set():
                time.sleep(0.05)
            fault = None
        if fault is not None:
            headers = {}
            if fault["retry_after"] is not None:
                headers["Retry-After"] = f"{fault['retry_after']:g}"
            self._send(h, int(fault["kind"]), {"error": f"injected {fault['kind']}"}, headers)
            return
        repos = {"/api/models": self.models, "/api/datasets": self.datasets}.get(parts.path)
        if repos is None:
            self._send(h, 404, {"error": "Not Found"})
            return
        items = self._select(repos, query)
        limit = int(query.get("limit", [self.page_size])[0])
        size = max(1, min(limit, self.page_size))
        start = int(query.get("cursor", ["0"])[0])
        page = items[start:start + size]
        headers = {}
        if start + size < len(items):
            following = {k: v for k, v in query.items() if k != "cursor"}
            following["cursor"] = [str(start + size)]
            link = f"{self.url}{parts.path}?{urlencode(following, doseq=True)}"
            headers["Link"] = f'<{link}>; rel="next"'
        self._send(h, 200, page, headers)

    @staticmethod
    def _select(repos: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
        words = " ".join(query.get("search", [])).lower().split()
        tag = query.get("pipeline_tag", [None])[0]
        filters = query.get("filter", [])
        out = [r for r in repos
               if all(w in r["id"].lower() for w in words)
               and (tag is None or r.get("pipeline_tag") == tag)
               and all(f in r.get("tags", []) for f in filters)]
        if query.get("sort", [None])[0] == "downloads":
            out.sort(key=lambda r: -r.get("downloads", 0))
        return out

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A started fake Hub with ``HF_ENDPOINT`` pointing at it and no offline mode or token."""
    with HubServer() as srv:
        monkeypatch.setenv("HF_ENDPOINT", srv.url)
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield srv


@pytest.fixture
def hub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """Fixture form of :func:`serving`."""
    with serving(monkeypatch) as srv:
        yield srv


# -- shared by tests/unit/test_retrieval.py and tests/integration/test_retrieval.py ---------------
TOKEN = "hf_mlrtestTOKEN_do_not_leak_91c2"  # a Hub token that must never be shown

SIMILARITY_MODELS = [
    model("org/sentence-similarity-base", pipeline_tag="sentence-similarity",
          tags=["sentence-transformers", "sentence-similarity"], downloads=1_000,
          library_name="sentence-transformers"),
    model("org/sentence-similarity-popular", pipeline_tag="sentence-similarity",
          tags=["sentence-transformers", "sentence-similarity"], downloads=5_000_000,
          library_name="sentence-transformers"),
    model("org/similarity-tagger", pipeline_tag="token-classification", tags=["ner"],
          downloads=9_000_000, library_name="transformers"),
]


def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def no_hub_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep huggingface_hub's user-agent registry lookup from reaching for the real Hub
    (autouse in the modules that import it)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The fake Hub, with HF_ENDPOINT pointing at it."""
    with serving(monkeypatch) as srv:
        yield srv
