"""Helpers shared by the tests (moved from ``tests/test_related.py``)."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


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

