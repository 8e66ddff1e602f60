"""The copilot as an MCP server (official ``mcp`` SDK): stdio, or streamable HTTP with a token."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import ValidationError

from .._version import __version__
from ..errors import InputError, MLRCopilotError
from .guard import Folders, Redactor, one_line
from .resources import register_resources
from .service import ResearchService
from .tools import register_tools

LOOPBACK = ("127.0.0.1", "localhost", "::1")
log = logging.getLogger("mlr_copilot_jupyter.mcp")
INSTRUCTIONS = """\
MLR-Copilot: a research copilot. Typical flow: read_paper -> extract_problem -> generate_ideas ->
review_ideas -> decide_idea (accept) -> run_experiment (returns a run id at once) -> poll
run_status until report_ready is true -> get_report. Records are resources mlr://runs/<run_id>/experiment.ipynb,
journal.json and report.md; the research state is mlr://state."""


def _validation_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "arguments") or "arguments"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid arguments: " + "; ".join(parts)


class CopilotMCPServer(MCPServer[Any]):
    """An :class:`MCPServer` whose tool and resource errors are one redacted line."""

    def __init__(self, service: ResearchService, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service

    def _line(self, exc: BaseException, name: str) -> str:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, ValidationError):
            text = _validation_line(cause)
        elif isinstance(cause, (MLRCopilotError, ValueError, KeyError, OSError)):
            text = one_line(cause)
        elif cause is exc:
            text = " ".join(str(exc).split())
        else:  # a bug: one line for the client, the traceback on the server's stderr
            log.error("internal error in %s", name, exc_info=cause)
            text = f"internal error: {one_line(cause)} (the server's log has the traceback)"
        return self.service.redactor.text(f"{name}: {text}")

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            raise ToolError(self._line(exc, name)) from None

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        try:
            return await super().read_resource(uri, context)
        except ResourceError as exc:
            if isinstance(exc.__cause__, MLRCopilotError):
                raise ResourceError(self._line(exc, str(uri))) from None
            raise


def build_server(copilot: Any, *, roots: Iterable[Path] = (), human_approval: bool = False,
                 extra_secrets: Iterable[str] = ()) -> CopilotMCPServer:
    """An MCP server over ``copilot``: the tools, the resources and their guarantees."""
    folders = Folders(copilot.settings.run_path(), list(roots) or [Path.cwd()])
    service = ResearchService(copilot, folders, human_approval=human_approval,
                              redactor=Redactor(extra=tuple(extra_secrets)))
    server = CopilotMCPServer(service, name="mlr-copilot", version=__version__,
                              instructions=INSTRUCTIONS, log_level="WARNING")
    register_tools(server, service)
    register_resources(server, service)
    return server


class TokenGate:
    """ASGI middleware: every request must carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self._token = app, token.encode()

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"")
            scheme, _, value = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(value.strip(), self._token):
                body = json.dumps({"error": "missing or wrong bearer token"}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT``; IPv6 as ``[::1]:PORT``) -> (host, port)."""
    host, sep, port = value.strip().rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value.strip()
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise InputError(f"--http {value!r}: the port is not a number",
                         hint="use HOST:PORT, e.g. 127.0.0.1:8765") from None
    if not 0 <= number <= 65535:
        raise InputError(f"--http {value!r}: the port must be 0-65535")
    return host, number


def check_http(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without a token, and short tokens."""
    if host not in LOOPBACK and not token:
        raise InputError(f"binding to {host} needs a token",
                         hint="pass --token TOKEN or set MLR_COPILOT_MCP_TOKEN; clients send "
                              "'Authorization: Bearer TOKEN'")
    if token is not None and len(token) < 16:
        raise InputError("the token is too short (use at least 16 characters)",
                         hint="python -c 'import secrets; print(secrets.token_urlsafe(24))'")


def http_app(server: CopilotMCPServer, host: str, token: str | None) -> Any:
    """The streamable-HTTP ASGI app at ``/mcp``; a token is required off loopback."""
    check_http(host, token)
    app = server.streamable_http_app(host=host)
    return TokenGate(app, token) if token else app


def serve_http(server: CopilotMCPServer, host: str, port: int, token: str | None) -> None:
    """Serve streamable HTTP with uvicorn until interrupted."""
    import uvicorn

    app = http_app(server, host, token)
    logging.getLogger("mcp").setLevel(logging.WARNING)
    uvicorn.run(app, host=host, port=port, log_level="warning")
