"""``mlr-copilot models`` and ``mlr-copilot datasets``: find candidates for an experiment."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..options_spec import HUB_TIMEOUT, RETRIEVAL_LIMIT, RETRIEVAL_SHARED, add_to_parser

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
        query, *shared = RETRIEVAL_SHARED  # as %mlr_models / %mlr_datasets
        add_to_parser(p, (query, *shared[:-1], HUB_TIMEOUT, shared[-1]))
        p.set_defaults(func=run, kind=kind)


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from .common import settings_overrides

    HUB_TIMEOUT.check(args.hub_timeout)
    RETRIEVAL_LIMIT.check(args.limit)
    copilot = Copilot(**settings_overrides(args))  # its backend only with --hyde
    result = copilot.retrieve(" ".join(args.query).strip(), args.kind, task_type=args.task_type,
                              source=args.source, limit=args.limit, hyde=args.hyde,
                              hub_timeout=args.hub_timeout)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table())
    for warning in result.warnings:
        print(f"mlr-copilot: warning: {warning}", file=sys.stderr)
    return 1 if not result.candidates and result.warnings else 0
