"""``mlr-copilot batch``: run notebooks over a parameter grid with papermill (local pool or Dask)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from types import FrameType
from typing import Any

from .outcome import report_failures

EPILOG = """\
examples:
  mlr-copilot batch runs/r1/experiment.ipynb -p seed 0 1 2 3 4 --out batch1
  mlr-copilot batch a.ipynb b.ipynb -p lr 0.1 0.01 -p seed 0 1 --workers 4 --out sweep
  mlr-copilot batch rec.ipynb --grid grid.yaml --scheduler local --out sweep

A grid file is YAML or JSON: a mapping name -> list of values (cartesian product), or a list of
parameter mappings. Values are YAML scalars: 0 (int), 0.1 / 1e-3 (float), true (bool), text.
OUT gets one executed notebook per run (OUT/<notebook>/<notebook>__<name=value>.ipynb),
results.csv (one row per run), summary.csv (mean and standard error per configuration: every
parameter except seed) and summary.png. Exit status 0 even if some runs failed (a warning names
them), 1 if all failed, 130 on Ctrl-C (finished runs are saved)."""


def add_options(p: argparse.ArgumentParser) -> None:
    """The options ``%mlr_batch`` shares (one spec: ``options_spec.BATCH_SHARED``)."""
    from ..options_spec import BATCH_SHARED, add_to_parser

    add_to_parser(p, BATCH_SHARED)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    # Not built on ``common``: its --timeout/--retries are the LLM's, these are the notebooks'.
    p = sub.add_parser(
        "batch",
        help="run notebooks over a parameter grid (papermill; local processes or Dask)",
        description="Execute notebooks (e.g. experiment records) with papermill for every "
        "combination of parameters, in parallel, and summarise their MLR_METRIC results.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ..options_spec import BATCH_NOTEBOOKS, BATCH_OUT, add_to_parser

    add_to_parser(p, (BATCH_NOTEBOOKS,))
    add_options(p)
    p.add_argument("--json", action="store_true",
                   help="print paths, rows and summary as JSON")
    add_to_parser(p, (BATCH_OUT,))
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.set_defaults(func=run)


def print_result(result: Any, as_json: bool) -> None:
    from ..types import format_batch_summary as format_summary

    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    print(format_summary(result.summary))
    print(f"\nran on:  {result.executor}")
    print(f"results: {result.results_csv}\nsummary: {result.summary_csv}")
    if result.plot:
        print(f"plot:    {result.plot}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..api import Copilot
    from ..options_spec import BatchOptions
    from ..types import BatchInterrupted

    options = BatchOptions.from_args(args)  # typed, every range checked once
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly, as on Ctrl-C
    try:
        result = Copilot.batch_from_options(
            options, lambda warning: print(f"mlr-copilot: warning: {warning}", file=sys.stderr))
    except BatchInterrupted as stop:
        print(f"mlr-copilot: {stop.report()}", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_result(result, args.json)
    return report_failures(len(result.failed), len(result.table), result.failed_names(),
                           noun="execution", where=result.results_csv)
