"""The exit status of a command that runs many things (batch executions, compared ideas)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import MLRCopilotError


def report_failures(failed: int, total: int, names: str, *, noun: str,
                    where: str | Path) -> int:
    """0 when something succeeded (with one warning line naming the failures, if any); a one-line
    error when every one of the ``total`` runs failed."""
    if failed and failed == total:
        which = f"all {total} {noun}s" if total > 1 else f"the {noun}"
        raise MLRCopilotError(f"{which} failed: {names}", hint=f"see {where}")
    if failed:
        print(f"mlr-copilot: warning: {failed} of {total} {noun}s failed: {names} (see {where})",
              file=sys.stderr)
    return 0
