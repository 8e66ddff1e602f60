"""``%mlr_batch``: run notebooks over a parameter grid from a notebook (as ``mlr-copilot batch``).

Wired into :class:`mlr_copilot_jupyter.jupyter_ui.magics.MLRCopilotMagics` as
``mlr_batch = line_magic(user_errors(magics_batch.mlr_batch))``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..options_spec import (
    BATCH_NOTEBOOKS,
    BATCH_OUT,
    BATCH_SHARED,
    BatchOptions,
    magic_argument_decorators,
)

F = TypeVar("F", bound=Callable[..., Any])


_ARGUMENTS = (
    *magic_argument_decorators((BATCH_NOTEBOOKS, *BATCH_SHARED)),  # as mlr-copilot batch's
    argument("--json", action="store_true", help="Print paths, rows and summary as JSON."),
    *magic_argument_decorators((BATCH_OUT,)),
)


def _with_arguments(func: F) -> F:
    for add in reversed(_ARGUMENTS):
        func = add(func)
    return magic_arguments()(func)  # type: ignore[no-any-return]


@_with_arguments
def mlr_batch(self: Any, line: str) -> Any:
    """Run notebooks over a parameter grid with papermill; show the summary and its plot.

    Each execution writes OUT/<notebook>/<notebook>__<name=value>.ipynb; results.csv has one row
    per execution, summary.csv the mean ± standard error per configuration (all parameters but
    seed). Returns the results table (``df = %mlr_batch ...``). Failed executions are rows with
    their error; interrupting the kernel stops the batch and keeps what finished.
    """
    from IPython.display import Image, display

    from ..api import Copilot
    from ..types import BatchInterrupted

    args = parse_argstring(mlr_batch, line)
    if not args.sandbox and getattr(self, "copilot", None) is not None:
        args.sandbox = self.copilot.settings.sandbox  # %config MLRCopilot.sandbox
        args.allow_network = args.allow_network or self.copilot.settings.sandbox_network
    options = BatchOptions.from_args(args)  # typed, every range checked once
    try:
        result = Copilot.batch_from_options(options, lambda warning: print(f"warning: {warning}", file=sys.stderr))
    except BatchInterrupted as stop:
        raise UsageError(stop.report()) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        display(result.summary)
        if result.plot is not None:
            display(Image(filename=str(result.plot)))
    failed = result.failed
    if len(failed):
        message = (f"{len(failed)} of {len(result.table)} executions failed: "
                   f"{result.failed_names()} "
                   f"(see {result.results_csv})")
        if len(failed) == len(result.table):
            raise UsageError(message)
        print(f"warning: {message}", file=sys.stderr)
    return None if args.json else result.table
