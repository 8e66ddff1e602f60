"""A scriptable local server speaking the OpenAI chat-completions protocol, for tests.

Stdlib only: a :class:`http.server.ThreadingHTTPServer` running in a daemon thread.

Usage::

    with ChatServer() as srv:
        srv.push_text("hello", usage=(10, 5))
        client = openai.OpenAI(base_url=srv.url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="test-model", messages=[...])

Each ``POST /v1/chat/completions`` pops the next scripted item (FIFO, thread-safe).
When the queue is empty, ``srv.responder(request_json)`` is called if set, otherwise
the reply is the text ``"ok"``.

Order of checks per request: record it, sleep ``latency``, check ``api_key`` (401),
check ``model_names`` (404) -- neither of those consumes a queue item -- then pop.

Faults (``push_fault(kind, ...)``):

* ``"429"`` / ``"500"`` / ``"503"`` / ``"401"`` / ``"404"`` (any 3-digit status works):
  that status with an OpenAI-style ``{"error": {...}}`` body. ``retry_after=`` (seconds,
  may be fractional) adds ``Retry-After`` and ``retry-after-ms`` headers (any status).
* ``"slow"``: sleeps ``delay`` seconds (in small steps, aborting on ``stop()``), then
  answers with its OWN payload ``then=`` -- a str (text reply), a dict like a responder's
  return value, or ``None`` (default: the responder / ``"ok"``). It consumes exactly one
  queue item and never pops the next one, so a client retry after a timeout gets the
  following queued item.
* ``"malformed_json"``: 200 reply whose content is ``"{not valid json"``.
* ``"empty_choices"``: 200 with ``"choices": []``.
* ``"cut_stream"``: stream -- a few SSE chunks, then the connection closes mid chunked
  body without ``[DONE]``; non-stream -- a ``Content-Length`` larger than the body, then close.
* ``"reset"``: the socket is closed without any response.
* ``"slow_stream"``: the reply (``then=``, else the responder / ``"ok"``) streamed a few
  characters per chunk (about one token) with ``delay`` seconds between chunks; without
  ``stream`` it waits as long, then answers whole. ``srv.slow_streams`` records each one
  (chunks sent, whether the client closed the connection first); see the block at the end.

A 400 with the server's own words: ``push_fault("400", message="...")``. A reply cut at the
output cap: ``push_text(text, finish_reason="length")``.

One server per test session: the ``chat_server`` fixture hands each test the session's server
(one per pytest-xdist worker) made fresh by :meth:`ChatServer.fresh`: nothing scripted or recorded,
every setting back to its default, the connections of earlier tests closed, and a new ``url`` (a
``/t<n>`` path prefix before ``/v1``). A client still holding an earlier test's URL -- a straggling
thread, kernel or subprocess -- finds the server gone for it (its connection is dropped unanswered)
and never takes the current test's scripted replies. ``private_chat_server`` is a server of the
test's own, started and stopped with it, for a test that stops its server or must not share it.

Model metadata (context-window discovery): ``GET /v1/models`` lists ``max_model_len`` when set
(vLLM), ``GET /props`` answers when ``n_ctx`` is set (llama.cpp), ``POST /api/show`` when
``ollama_context_length`` is set (Ollama; ``ollama_num_ctx`` adds ``num_ctx`` to its
parameters). These look-ups go to ``probes``, not ``requests``, and skip ``latency``.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["ChatServer", "chat_server", "private_chat_server", "shared_chat_server"]

DEFAULT_MODEL = "test-model"
_EPOCH_PREFIX = re.compile(r"^/t(\d+)(?=/|$)")
MALFORMED_JSON = "{not valid json"
CUT_STREAM_TEXT = "This reply will be cut off before it ends."

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]

_ERROR_BODIES: dict[int, tuple[str, str, str | None]] = {
    400: ("Bad request", "invalid_request_error", None),
    401: ("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource", "invalid_request_error", None),
    404: ("The model `{model}` does not exist", "invalid_request_error", "model_not_found"),
    409: ("Conflict", "invalid_request_error", None),
    422: ("Unprocessable entity", "invalid_request_error", None),
    429: ("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}
_FAULT_KINDS = {"slow", "malformed_json", "empty_choices", "cut_stream", "reset"}


@dataclass
class _Reply:
    """A scripted assistant message."""

    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None


@dataclass
class _Fault:
    """A scripted fault."""

    kind: str
    retry_after: float | None = None
    delay: float = 0.0
    then: str | dict[str, Any] | None = None
    message: str | None = None


def _tool_call(name: str, arguments: Any, call_id: str | None = None) -> dict[str, Any]:
    """An OpenAI-style tool call; non-str arguments are JSON-encoded."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "id": call_id or f"call_{next(_ids)}",
        "type": "function",
        "function": {"name": name, "arguments": args},
    }


_ids = itertools.count(1)


def _schema_text(body: dict[str, Any]) -> str:
    return json.dumps([body.get("response_format"), body.get("tools")])


def asks_for_review(body: dict[str, Any]) -> bool:
    return '"is_bug"' in _schema_text(body)


def asks_to_confirm_metric(body: dict[str, Any]) -> bool:
    schema = _schema_text(body)
    return '"quote"' in schema and '"direction"' in schema


def is_auxiliary(body: dict[str, Any]) -> bool:
    """An execution review or a metric confirmation (not a step, idea or problem request)."""
    return asks_for_review(body) or asks_to_confirm_metric(body)


def neutral_auxiliary(body: dict[str, Any]) -> str:
    """A review that finds no bug and reads no metric (the cell's MLR_METRIC counts), or a metric
    confirmation that agrees with the reading stated in the prompt."""
    if asks_for_review(body):
        return json.dumps({"is_bug": False, "summary": "The cell ran and printed its results.",
                           "metric": None, "metric_name": None, "metric_split": "none"})
    prompt = str(body.get("messages", [{}])[-1].get("content", ""))
    match = re.search(r"# Current reading\n(\S+) \((maximize|minimize)\)", prompt)
    name, direction = match.groups() if match else ("score", "maximize")
    return json.dumps({"name": name, "direction": direction, "quote": "as stated"})


def _to_reply(value: str | dict[str, Any]) -> _Reply:
    """Turn a responder's (or ``then=``) return value into a reply."""
    if isinstance(value, str):
        return _Reply(value)
    if not isinstance(value, dict):
        raise TypeError(f"responder must return str or dict, got {type(value).__name__}")
    calls = []
    for tc in value.get("tool_calls") or []:
        if "function" in tc:
            fn = tc["function"]
            calls.append(_tool_call(fn["name"], fn.get("arguments", "{}"), tc.get("id")))
        else:
            calls.append(_tool_call(tc["name"], tc.get("arguments", {}), tc.get("id")))
    usage = value.get("usage")
    return _Reply(
        value.get("content"),
        calls,
        tuple(usage) if usage is not None else None,  # type: ignore[arg-type]
        value.get("finish_reason"),
    )


def _text_of(content: Any) -> str:
    """Concatenated text of a message ``content`` (str or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return ""


def _estimate_usage(body: dict[str, Any], reply: _Reply) -> tuple[int, int]:
    """Rough token counts: ~4 characters per token, at least 1."""
    prompt = "".join(
        _text_of(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)
    )
    completion = reply.content or ""
    completion += "".join(
        tc["function"]["name"] + tc["function"]["arguments"] for tc in reply.tool_calls
    )
    return max(1, len(prompt) // 4), max(1, len(completion) // 4)


def _split(text: str, pieces: int = 4) -> list[str]:
    """Split ``text`` into up to ``pieces`` consecutive non-empty parts."""
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    chat: ChatServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30  # idle keep-alive connections end eventually
    # Headers and body go out in separate writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers (~40 ms on Linux), on every reply and probe.
    disable_nagle_algorithm = True

    # -- plumbing -------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""

    def setup(self) -> None:
        super().setup()
        self.server.chat._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.chat._track(self.connection, add=False)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{next(_ids)}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(
        self,
        status: int,
        message: str | None = None,
        *,
        model: str = "",
        retry_after: float | None = None,
    ) -> None:
        default_msg, etype, code = _ERROR_BODIES.get(
            status, (f"HTTP {status}", "server_error", None)
        )
        msg = (message or default_msg).replace("{model}", model)
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
            headers["retry-after-ms"] = f"{retry_after * 1000:g}"
        body = {"error": {"message": msg, "type": etype, "param": None, "code": code}}
        self._send_json(status, body, headers)

    def _abort(self) -> None:
        """Close the connection at once, sending a RST and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _current(self) -> bool:
        """Strip the ``/t<n>`` prefix of ``url``; False (the connection dropped unanswered) for a
        request under an earlier test's prefix: for that client this server is gone."""
        chat = self.server.chat
        match = _EPOCH_PREFIX.match(self.path)
        epoch = int(match.group(1)) if match else chat._epoch
        if match:
            self.path = self.path[match.end():] or "/"
        if epoch != chat._epoch:
            self._abort()
            return False
        chat._local.epoch = epoch
        return True

    # -- routes ---------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._current():
            return
        if self._serve_probe(None):
            return
        chat = self.server.chat
        chat._record(self, None)
        if not chat._sleep(chat.latency):
            return self._abort()
        if not self._authorized():
            return
        self._send_error(404, f"Unknown path {self.path}")

    def do_POST(self) -> None:
        chat = self.server.chat
        raw = self._read_body()
        if not self._current():
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if self._serve_probe(body):
            return
        chat._record(self, body)
        if not chat._sleep(chat.latency):
            return self._abort()
        if body is None or not isinstance(body, dict):
            return self._send_error(400, "We could not parse the JSON body of your request.")
        if not self._authorized():
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        if path != "/v1/chat/completions":
            return self._send_error(404, f"Unknown path {self.path}")
        model = str(body.get("model", ""))
        if chat.model_names is not None and model not in chat.model_names:
            return self._send_error(404, model=model)
        try:
            self._serve(body, model)
        except OSError:
            self.close_connection = True
        except Exception as exc:
            chat.errors.append(exc)
            self._send_error(500, f"chat_server: {type(exc).__name__}: {exc}")

    # -- model metadata probes (context-window discovery) --------------------------------------
    # GET /v1/models (OpenAI; vLLM adds max_model_len), GET /props (llama.cpp), POST /api/show
    # (Ollama). Recorded in ``chat.probes``, not ``chat.requests``, and answered without
    # ``latency``: they are metadata look-ups, not generations, and tests count generations.
    def _serve_probe(self, body: Any) -> bool:
        chat = self.server.chat
        path = self.path.split("?", 1)[0].rstrip("/")
        if (self.command, path) not in {("GET", "/v1/models"), ("GET", "/props"), ("POST", "/api/show")}:
            return False
        with chat._lock:
            chat.probes.append({"path": self.path, "method": self.command, "json": body})
        if not self._authorized():
            return True
        if path == "/v1/models":
            data = []
            for m in sorted(chat.model_names or {DEFAULT_MODEL}):
                entry: dict[str, Any] = {"id": m, "object": "model", "created": 0, "owned_by": "chat-server"}
                if chat.max_model_len is not None:
                    entry["max_model_len"] = chat.max_model_len
                data.append(entry)
            self._send_json(200, {"object": "list", "data": data})
        elif path == "/props" and chat.n_ctx is not None:
            self._send_json(200, {"default_generation_settings": {"n_ctx": chat.n_ctx},
                                  "total_slots": 1, "model_path": "model.gguf"})
        elif path == "/api/show" and chat.ollama_context_length is not None:
            parameters = "stop \"<|im_end|>\""
            if chat.ollama_num_ctx is not None:
                parameters += f"\nnum_ctx {chat.ollama_num_ctx}"
            self._send_json(200, {
                "parameters": parameters,
                "model_info": {"general.architecture": "qwen2",
                               "qwen2.context_length": chat.ollama_context_length},
            })
        else:
            self._send_error(404, f"Unknown path {self.path}")
        return True

    def _authorized(self) -> bool:
        key = self.server.chat.api_key
        if key is None:
            return True
        auth = self.headers.get("Authorization") or ""
        if auth.removeprefix("Bearer ").strip() == key:
            return True
        self._send_error(401)
        return False

    def _serve(self, body: dict[str, Any], model: str) -> None:
        chat = self.server.chat
        if chat.reviewer is not None and is_auxiliary(body):
            # Reviews and metric confirmations never consume scripted items: step scripts stay
            # in step order.
            return self._reply(body, model, _to_reply(chat.reviewer(body)), bool(body.get("stream")))
        item = chat._pop()
        stream = bool(body.get("stream"))
        if item is None:
            return self._reply(body, model, chat._default_reply(body), stream)
        if isinstance(item, _Reply):
            return self._reply(body, model, item, stream)
        kind = item.kind
        if kind.isdigit():
            return self._send_error(
                int(kind), item.message, model=model, retry_after=item.retry_after
            )
        if kind == "slow":
            if not chat._sleep(item.delay):
                return self._abort()
            reply = _to_reply(item.then) if item.then is not None else chat._default_reply(body)
            return self._reply(body, model, reply, stream)
        if kind == "reset":
            return self._abort()
        if kind == "malformed_json":
            return self._reply(body, model, _Reply(MALFORMED_JSON), stream)
        if kind == "empty_choices":
            return self._reply(body, model, _Reply(""), stream, empty=True)
        if kind == "cut_stream":
            if stream:
                return self._reply(body, model, _Reply(CUT_STREAM_TEXT), True, cut=True)
            data = json.dumps(chat._completion(body, model, _Reply(CUT_STREAM_TEXT))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 1000))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return self._abort()
        if kind == "slow_stream":
            return _serve_slow_stream(self, body, model, item)
        raise AssertionError(f"unknown fault {kind!r}")  # pragma: no cover

    def _reply(
        self,
        body: dict[str, Any],
        model: str,
        reply: _Reply,
        stream: bool,
        *,
        empty: bool = False,
        cut: bool = False,
    ) -> None:
        chat = self.server.chat
        if not stream:
            obj = chat._completion(body, model, reply)
            if empty:
                obj["choices"] = []
            return self._send_json(200, obj)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", f"req_{next(_ids)}")
        self.end_headers()
        chunks = list(chat._chunks(body, model, reply, empty=empty))
        if cut:
            chunks = chunks[:3]
        for i, chunk in enumerate(chunks):
            if i and chat.stream_delay and not chat._sleep(chat.stream_delay):
                return self._abort()
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        if cut:
            return self._abort()
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class ChatServer:
    """Scriptable OpenAI-compatible chat-completions server on 127.0.0.1 (free port).

    Attributes: ``url`` (base_url incl. ``/v1``), ``latency`` (s, before every reply),
    ``model_names`` (served models; ``None`` accepts any), ``api_key`` (``None`` = no auth
    check), ``responder`` (fallback when the queue is empty), ``stream_delay`` (s between
    SSE chunks), ``requests`` (recorded ``{"path", "method", "headers", "json", "time"}``;
    metadata look-ups go to ``probes``),
    ``errors`` (exceptions raised by ``responder``; each was answered with a 500),
    ``reviewer`` (answers the experiment agent's auxiliary requests -- execution reviews, known
    by the ``is_bug`` field of their schema, and metric confirmations, known by ``quote`` and
    ``direction`` -- before the queue and the responder; default :func:`neutral_auxiliary`: a
    review that finds no bug and reads no metric, a confirmation that agrees with the current
    reading; ``None`` sends them down the usual path).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._defaults()
        self._queue: deque[_Reply | _Fault] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._epoch = 0  # fresh() counts up; requests under an earlier /t<n> prefix are refused
        self._local = threading.local()  # the epoch of the request a handler thread serves
        self._httpd = _Server((host, port), _Handler)
        self._httpd.chat = self
        self._thread: threading.Thread | None = None
        addr = self._httpd.server_address
        self.host: str = str(addr[0])
        self.port: int = int(addr[1])
        self._own = {*vars(self), "_own"}  # fresh() drops whatever a test added beyond these

    def _defaults(self) -> None:
        """Every setting and record a test can change or read, as a new server has them."""
        self.latency: float = 0.0
        self.stream_delay: float = 0.0
        self.model_names: set[str] | None = {DEFAULT_MODEL}
        self.api_key: str | None = None
        self.responder: Responder | None = None
        self.reviewer: Responder | None = neutral_auxiliary
        self.requests: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        # model metadata for context-window discovery (see _Handler._serve_probe); None: not served
        self.n_ctx: int | None = None  # llama.cpp GET /props
        self.max_model_len: int | None = None  # vLLM field in GET /v1/models
        self.ollama_context_length: int | None = None  # Ollama POST /api/show model_info
        self.ollama_num_ctx: int | None = None  # Ollama num_ctx in /api/show parameters
        self.probes: list[dict[str, Any]] = []  # {"path", "method", "json"} of each probe
        self.connections_opened = 0  # TCP connections accepted so far (keep-alive reuse shows)

    @property
    def url(self) -> str:
        """Base URL to pass as ``base_url`` (with the ``/t<n>`` prefix once :meth:`fresh` ran)."""
        prefix = f"/t{self._epoch}" if self._epoch else ""
        return f"http://{self.host}:{self.port}{prefix}/v1"

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> ChatServer:
        """Serve in a daemon thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.01},  # stop() waits up to this long
                name=f"ChatServer:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and close the socket (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()

    def fresh(self) -> ChatServer:
        """As good as a new server, on the same port: the queue, the records (``requests``,
        ``probes``, ``errors``, ``slow_streams``, ``connections_opened``) and every setting
        (``latency``, ``responder``, ``api_key``, ...) back to a new server's, the open
        connections closed, and a new ``url``: requests under the old one are dropped unanswered
        and a handler still sleeping for an earlier test (a "slow" fault, ``latency``) gives up."""
        with self._lock:
            self._epoch += 1
            self._queue.clear()
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for name in set(vars(self)) - self._own:  # e.g. slow_streams, attributes a test set
            delattr(self, name)
        self._defaults()
        return self

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------
    def push_text(
        self, text: str, usage: tuple[int, int] | None = None, finish_reason: str | None = None
    ) -> None:
        """Queue a plain assistant message (``finish_reason="length"``: cut at the output cap)."""
        self._push(_Reply(text, usage=usage, finish_reason=finish_reason))

    def push_json(
        self, obj: Any, usage: tuple[int, int] | None = None, finish_reason: str | None = None
    ) -> None:
        """Queue an assistant message whose content is ``json.dumps(obj)``."""
        self._push(_Reply(json.dumps(obj), usage=usage, finish_reason=finish_reason))

    def push_tool_call(
        self,
        name: str,
        arguments: dict[str, Any] | str,
        usage: tuple[int, int] | None = None,
        call_id: str | None = None,
        content: str | None = None,
    ) -> None:
        """Queue an assistant tool call (``arguments`` as a raw str is sent verbatim)."""
        self._push(_Reply(content, [_tool_call(name, arguments, call_id)], usage))

    def push_tool_calls(
        self, calls: list[tuple[str, dict[str, Any] | str]], usage: tuple[int, int] | None = None
    ) -> None:
        """Queue one assistant message with several ``(name, arguments)`` tool calls."""
        self._push(_Reply(None, [_tool_call(n, a) for n, a in calls], usage))

    def push_fault(
        self,
        kind: str,
        *,
        retry_after: float | None = None,
        delay: float = 5.0,
        then: str | dict[str, Any] | None = None,
        message: str | None = None,
    ) -> None:
        """Queue a fault; see the module docstring. ``delay``/``then`` only apply to "slow"."""
        kind = str(kind)
        if not (kind in _FAULT_KINDS or (kind.isdigit() and len(kind) == 3)):
            raise ValueError(f"unknown fault kind {kind!r}")
        self._push(_Fault(kind, retry_after, delay, then, message))

    def reset(self) -> None:
        """Clear the queue, the recorded requests and ``errors``."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.errors.clear()

    @property
    def open_connections(self) -> int:
        """TCP connections open right now."""
        with self._lock:
            return len(self._conns)

    @property
    def pending(self) -> int:
        """Number of scripted items not yet consumed."""
        with self._lock:
            return len(self._queue)

    # -- internals --------------------------------------------------------------
    def _push(self, item: _Reply | _Fault) -> None:
        with self._lock:
            self._queue.append(item)

    def _pop(self) -> _Reply | _Fault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)
            self.connections_opened += add

    def _stale(self) -> bool:
        """Whether this handler thread serves a request of an earlier test (see :meth:`fresh`)."""
        return getattr(self._local, "epoch", self._epoch) != self._epoch

    def _record(self, handler: _Handler, body: Any) -> None:
        entry = {
            "path": handler.path,
            "method": handler.command,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "json": body,
            "time": time.monotonic(),
        }
        with self._lock:
            if not self._stale():
                self.requests.append(entry)

    def _sleep(self, seconds: float) -> bool:
        """Sleep in small steps; False if the server is stopping."""
        end = time.monotonic() + max(0.0, seconds)
        while (left := end - time.monotonic()) > 0:
            if self._stop.wait(min(left, 0.05)) or self._stale():
                return False
        return not self._stop.is_set() and not self._stale()

    def _default_reply(self, body: dict[str, Any]) -> _Reply:
        if self.responder is None:
            return _Reply("ok")
        return _to_reply(self.responder(body))

    def _completion(self, body: dict[str, Any], model: str, reply: _Reply) -> dict[str, Any]:
        prompt, completion = reply.usage or _estimate_usage(body, reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        return {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_chat_server",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason
                    or ("tool_calls" if reply.tool_calls else "stop"),
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _chunks(
        self, body: dict[str, Any], model: str, reply: _Reply, *, empty: bool = False
    ) -> Iterator[dict[str, Any]]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_chat_server",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            c = dict(
                base,
                choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            )
            if include_usage:
                c["usage"] = None
            return c

        if not empty:
            yield chunk({"role": "assistant", "content": "" if reply.content is not None else None})
            for piece in _split(reply.content or ""):
                yield chunk({"content": piece})
            for i, tc in enumerate(reply.tool_calls):
                fn = tc["function"]
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": tc["id"],
                                "type": "function",
                                "function": {"name": fn["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                for piece in _split(fn["arguments"], 3):
                    yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
            yield chunk({}, reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"))
        else:
            yield dict(base, choices=[])
        if include_usage:
            prompt, completion = reply.usage or _estimate_usage(body, reply)
            yield dict(
                base,
                choices=[],
                usage={
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            )


@pytest.fixture(scope="session")
def shared_chat_server() -> Iterator[ChatServer]:
    """The session's :class:`ChatServer` (one per pytest-xdist worker); tests take ``chat_server``."""
    with ChatServer() as srv:
        yield srv


@pytest.fixture
def chat_server(shared_chat_server: ChatServer) -> Iterator[ChatServer]:
    """The session's server made fresh for this test (:meth:`ChatServer.fresh`), and again after
    it, so nothing the test scripted or left running reaches the next one."""
    yield shared_chat_server.fresh()
    shared_chat_server.fresh()


@pytest.fixture
def private_chat_server() -> Iterator[ChatServer]:
    """A server of the test's own, started for it and stopped after it: for a test that stops
    its server or must not share it."""
    with ChatServer() as srv:
        yield srv


# -- "slow_stream": a reply that trickles in, token by token (progress and Ctrl-C tests) ----------
_FAULT_KINDS.add("slow_stream")
SLOW_STREAM_PIECE = 4  # characters per chunk: about one token


@dataclass
class SlowStream:
    """What happened to one ``slow_stream`` reply (``ChatServer.slow_streams``)."""

    stream: bool
    pieces: int  # content chunks the reply has
    sent: int = 0  # content chunks written so far
    first_sent: float | None = None  # time.monotonic() of the first content chunk
    closed_by_client: bool = False  # the client hung up before the reply was complete
    ended: float | None = None


def slow_streams(chat: ChatServer) -> list[SlowStream]:
    """The ``slow_stream`` replies served so far (also ``chat.slow_streams``)."""
    return chat.__dict__.setdefault("slow_streams", [])


def _client_gone(conn: socket.socket) -> bool:
    """Whether the peer has closed the connection (a readable socket with nothing to read)."""
    import select

    try:
        readable, _, _ = select.select([conn], [], [], 0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _serve_slow_stream(handler: _Handler, body: dict[str, Any], model: str, item: _Fault) -> None:
    chat = handler.server.chat
    reply = _to_reply(item.then) if item.then is not None else chat._default_reply(body)
    text = reply.content or ""
    pieces = [text[i : i + SLOW_STREAM_PIECE] for i in range(0, len(text), SLOW_STREAM_PIECE)]
    record = SlowStream(stream=bool(body.get("stream")), pieces=len(pieces))
    with chat._lock:
        slow_streams(chat).append(record)

    def pause() -> bool:  # False: stop (the client left, or the server stops)
        end = time.monotonic() + item.delay
        while time.monotonic() < end:
            if _client_gone(handler.connection):
                record.closed_by_client = True
                return False
            if not chat._sleep(min(0.02, max(0.0, end - time.monotonic()))):
                return False
        return True

    try:
        if not record.stream:
            for _ in pieces:
                if not pause():
                    return handler._abort()
                record.sent += 1
            return handler._reply(body, model, reply, False)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunks = list(chat._chunks(body, model, _Reply(
            "", reply.tool_calls, reply.usage or _estimate_usage(body, reply), reply.finish_reason)))
        head, tail = chunks[:1], chunks[1:]  # the role chunk; the rest (tool calls, finish, usage)
        content = [dict(head[0], choices=[dict(head[0]["choices"][0], delta={"content": piece})])
                   for piece in pieces]
        for chunk in head:
            handler._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        for chunk in content:
            if not pause():
                return handler._abort()
            handler._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            record.sent += 1
            if record.first_sent is None:
                record.first_sent = time.monotonic()
        for chunk in tail:
            handler._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        handler._write_chunk(b"data: [DONE]\n\n")
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except OSError:
        record.closed_by_client = True
        handler.close_connection = True
    finally:
        record.ended = time.monotonic()
