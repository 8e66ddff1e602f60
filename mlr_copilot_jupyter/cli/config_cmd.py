"""``mlr-copilot config``: show the configuration; ``--check`` pings the endpoint."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "config",
        parents=[common],
        help="show backend, model, base URL and whether an API key is set",
        description="Show the effective configuration (environment + flags). The API key is "
        "never printed, only whether it is set.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--check", action="store_true",
                   help="send one tiny request to the endpoint and report latency and tokens")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from .common import settings_overrides

    copilot = Copilot(**settings_overrides(args))
    status = copilot.settings.status()
    if args.check:
        reply = copilot.query("Reply with the single word: ready", label="check")
        status["check"] = {
            "answered_by": copilot.backend.describe(),
            "latency_s": round(reply.latency, 3),
            "total_tokens": reply.usage.total_tokens,
        }
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(repr(copilot.status()))
    if args.check:
        c = status["check"]
        print(f"check     {c['answered_by']}: {c['latency_s']} s, {c['total_tokens']} tokens")
    return 0
