"""Compare ideas: each one as its own experiment, run concurrently, then one comparison.

``OUT/runs/<idea-id>/`` holds each idea's run (record notebook, journal, report);
``OUT/seeds/`` the seed re-runs of the two best; ``OUT/comparison.csv``, ``comparison.png`` and
``compare.ipynb`` (links to every record, the plot, the verdict) the comparison. The facade is
:meth:`mlr_copilot_jupyter.Copilot.compare` / ``start_compare``.
"""

from __future__ import annotations

from .background import ComparisonRun
from .session import (
    ComparisonInterrupted,
    ComparisonResult,
    check_ideas,
    load_ideas_file,
    new_comparison_id,
)

__all__ = ["ComparisonInterrupted", "ComparisonResult", "ComparisonRun", "check_ideas",
           "load_ideas_file", "new_comparison_id"]
