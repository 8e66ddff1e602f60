"""``mlr-copilot mcp``: serve the copilot to other agents over MCP (stdio or streamable HTTP)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..options_spec import ALLOW_NETWORK, SANDBOX, add_to_parser

TOKEN_ENV = "MLR_COPILOT_MCP_TOKEN"



def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "mcp",
        parents=[common],
        help="serve the copilot as an MCP server (for Jupyter AI, Claude Code, ...)",
        description="Serve the copilot over the Model Context Protocol so another agent can read "
        "papers, generate and review ideas, and run verified experiments. Tools: read_paper, "
        "extract_problem, generate_ideas, review_ideas, decide_idea, run_experiment, run_status, "
        "send_feedback, decide_cell, stop_run, compare_ideas, get_report, batch. Resources: "
        "mlr://state, mlr://runs, mlr://runs/<id>/{experiment.ipynb,journal.json,report.md}. "
        "stdio by default (the client starts this command); --http serves streamable HTTP at "
        "http://HOST:PORT/mcp. Paths outside --run-dir and the --root folders are refused.",
    )
    p.add_argument("--http", metavar="HOST:PORT",
                   help="serve streamable HTTP instead of stdio (e.g. 127.0.0.1:8765); any host "
                        "other than 127.0.0.1/localhost/::1 needs a token")
    p.add_argument("--token", help=f"bearer token HTTP clients must send  [${TOKEN_ENV}]")
    p.add_argument("--root", action="append", metavar="DIR",
                   help="a folder clients may name papers, tasks and notebooks in (repeatable; "
                        "default: the current folder)")
    add_to_parser(p, (SANDBOX.but(default="require", help="confine the kernels of runs that "
                                  "MCP clients start: require (default for the MCP server) "
                                  "refuses to run without bubblewrap (exit 2); auto falls back "
                                  "to unconfined kernels with one warning; off runs unconfined"),
                      ALLOW_NETWORK))
    p.add_argument("--human-approval", action="store_true",
                   help="agents may not approve, edit or reject cells of approve-mode runs "
                        "(decide_cell is refused)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..errors import InputError
    from .common import settings_overrides

    try:
        from ..mcp_server.server import build_server, check_http, parse_address, serve_http
    except ImportError as exc:  # pragma: no cover - mcp is a dependency
        raise InputError(f"the mcp package is missing ({exc})",
                         hint="pip install 'mcp>=2'") from None
    roots = [Path(r) for r in (args.root or [])]
    for root in roots:
        if not root.expanduser().is_dir():
            raise InputError(f"--root {root}: no such folder")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    copilot = Copilot(**settings_overrides(args))
    server = build_server(copilot, roots=roots, human_approval=args.human_approval,
                          extra_secrets=[token] if token else [])
    if args.http is None:
        server.run("stdio")
        return 0
    host, port = parse_address(args.http)
    check_http(host, token)  # refuse a bad host/token before binding anything
    print(f"mlr-copilot mcp: serving http://{host}:{port}/mcp"
          + (" (bearer token required)" if token else ""), file=sys.stderr, flush=True)
    serve_http(server, host, port, token)
    return 0
