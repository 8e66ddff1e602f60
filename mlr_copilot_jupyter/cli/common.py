"""What the subcommands share: the settings given on the command line and Ctrl-C handling.

A module of its own so that the ``*_cmd`` modules import it, not the package ``cli`` that
imports them (no circle).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from typing import Any


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the line to print once the progress display is closed."""

    def __init__(self, line: str = "mlr-copilot: interrupted") -> None:
        super().__init__(line)
        self.line = line


def ignore_ctrl_c() -> None:
    """Ignore further SIGINTs (the process is stopping after one already)."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def settings_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (None values are left to the environment)."""
    from ..options_spec import sandbox_choice

    names = ("backend", "model", "base_url", "temperature", "request_timeout", "max_retries",
             "run_dir")
    out = {n: getattr(args, n, None) for n in names if getattr(args, n, None) is not None}
    return {**out, **sandbox_choice(args)}
