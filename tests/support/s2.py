"""Helpers shared by the tests (moved from ``tests/test_related.py``)."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


class S2Server:
    """Answers ``GET /graph/v1/paper/search`` with scripted (status, body, headers), FIFO."""

    def __init__(self) -> None:
        self.script: deque[tuple[int, Any, dict[str, str]]] = deque()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append(
                    {"path": parts.path, "params": parse_qs(parts.query), "headers": dict(self.headers)}
                )
                status, body, headers = server.script.popleft() if server.script else (200, {"total": 0, "offset": 0}, {})
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def push(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.script.append((status, body, headers or {}))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def paper(pid: str, title: str | None, abstract: str | None, year: int | None = 2021, **extra: Any) -> dict:
    return {"paperId": pid, "title": title, "abstract": abstract, "year": year,
            "url": f"https://www.semanticscholar.org/paper/{pid}", **extra}


ANSWER = {
    "total": 3,
    "offset": 0,
    "data": [
        paper("a1", "Contrastive Pretraining for Clinical NER",
              "We pretrain encoders contrastively on clinical notes for low-resource named entity recognition."),
        paper("b2", "Entity Recognition without Abstracts", None, year=None),
        paper("c3", None, "a record without a title is useless"),
        {"paperId": "d4", "title": "A DOI only paper", "abstract": "", "year": 2019, "url": None,
         "externalIds": {"DOI": "10.1000/xyz"}},
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



DEMO_PAPER = Path(__file__).resolve().parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


@pytest.fixture(name="s2")
def s2_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[S2Server]:
    """A fake Semantic Scholar, with no API key in the environment (tests/unit/test_related.py,
    tests/integration/test_related.py): a module takes it as ``s2 = s2_server``."""
    monkeypatch.delenv("S2_API_KEY", raising=False)
    monkeypatch.delenv("SEMANTIC_SCHOLAR_API_KEY", raising=False)
    srv = S2Server()
    yield srv
    srv.close()


@pytest.fixture(name="s2")
def s2_by_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[S2Server]:
    """A fake Semantic Scholar that the package asks by default (``MLR_COPILOT_SEMANTIC_SCHOLAR``
    ``auto`` and ``MLR_COPILOT_S2_URL`` at it; tests/unit/test_related_default.py,
    tests/integration/test_related_default.py): a module takes it as ``s2 = s2_by_default``."""
    monkeypatch.delenv("S2_API_KEY", raising=False)
    srv = S2Server()
    monkeypatch.setenv("MLR_COPILOT_SEMANTIC_SCHOLAR", "auto")
    monkeypatch.setenv("MLR_COPILOT_S2_URL", srv.url)
    yield srv
    srv.close()
