"""Where the package keeps files between runs for the user (caches that are safe to delete)."""

from __future__ import annotations

import os
from pathlib import Path

#: Moves every per-user cache of the package (Semantic Scholar answers, kept catalogs).
CACHE_ENV = "MLR_COPILOT_CACHE_DIR"


def user_cache_dir() -> Path:
    """``$MLR_COPILOT_CACHE_DIR``, else ``~/.cache/mlr-copilot-jupyter``. Raises RuntimeError
    (from :meth:`Path.home`) when neither is set and there is no home folder."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "mlr-copilot-jupyter")
