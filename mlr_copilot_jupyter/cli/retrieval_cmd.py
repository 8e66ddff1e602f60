"""``mlr-copilot models`` and ``mlr-copilot datasets``: find candidates for an experiment."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

KINDS = {"models": "model", "datasets": "dataset"}

_DESCRIPTION = """\
Find {kind}s that fit QUERY on the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN) and on this
machine, ranked by BM25 relevance and, for Hub results, downloads. Local {kind}s:
{what}. When the Hub cannot be reached the local candidates still come
back, with a warning (exit status 0)."""
_LOCAL = {"model": "scikit-learn estimators, installed sentence-embedding packages,\nthe local "
                   "Hugging Face cache",
          "dataset": "scikit-learn's bundled datasets, the local Hugging Face cache"}


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    for command, kind in KINDS.items():
        p = sub.add_parser(
            command, parents=[common],
            help=f"find {kind}s for an experiment on the Hugging Face Hub and locally",
            description=_DESCRIPTION.format(kind=kind, what=_LOCAL[kind]),
            formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("query", nargs="+", metavar="QUERY",
                       help="what you need, e.g. 'sentence similarity' (words are joined)")
        p.add_argument("--task-type", metavar="T",
                       help="task to filter and boost: classification, regression, or a Hub "
                            "pipeline tag such as sentence-similarity")
        p.add_argument("--source", choices=["all", "hub", "local"], default="all",
                       help="where to look (default: all)")
        p.add_argument("--limit", type=int, default=10, metavar="N",
                       help="at most N candidates (default 10)")
        p.add_argument("--hyde", action="store_true",
                       help="re-rank with a hypothetical description written by the LLM "
                            "(no effect with the offline engine)")
        p.add_argument("--hub-timeout", type=float, metavar="SECONDS",
                       help="give up on the Hub after this long (default 15, "
                            "$MLR_COPILOT_HUB_TIMEOUT)")
        p.add_argument("--json", action="store_true",
                       help="print candidates and warnings as JSON")
        p.set_defaults(func=run, kind=kind)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..retrieval import HubSource, retrieve

    if args.hub_timeout is not None and args.hub_timeout <= 0:
        raise InputError(f"--hub-timeout must be > 0, got {args.hub_timeout}")
    backend = None
    if args.hyde:
        from ..api import Copilot
        from . import settings_overrides

        backend = Copilot(**settings_overrides(args)).backend
    hub = HubSource(args.kind, timeout=args.hub_timeout) if args.source != "local" else None
    result = retrieve(" ".join(args.query).strip(), args.kind, task_type=args.task_type,
                      source=args.source, limit=args.limit, backend=backend, hub=hub)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table())
    for warning in result.warnings:
        print(f"mlr-copilot: warning: {warning}", file=sys.stderr)
    return 1 if not result.candidates and result.warnings else 0
