"""``mlr-copilot demo``: the main job, end to end, with whatever backend is configured."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the bundled demo (offline by default)",
        description="Show the configuration and exercise the configured backend. The full "
        "pipeline (paper -> ideas -> experiment) joins the demo as those stages land.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from . import settings_overrides

    copilot = Copilot(**settings_overrides(args))
    print(repr(copilot.status()))
    print()
    reply = copilot.query(
        "Summarise: MLR-Copilot generates research ideas from papers. It turns accepted ideas "
        "into experiments. It runs those experiments in a Jupyter kernel and reports verified "
        "results. The notebook is the record of every step.",
        label="demo",
    )
    print(f"{copilot.backend.describe()} answered in {reply.latency:.2f} s:")
    print(reply.text)
    return 0
