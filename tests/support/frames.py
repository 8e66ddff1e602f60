"""Small pandas DataFrames for the task-from-data tests (tests/unit/test_task_from_data.py and
tests/integration/test_task_from_data.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def frame(n: int = 150, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical features (with gaps), a text class target and a float target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"size": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n),
                       "weight": rng.normal(size=n)})
    df.loc[::9, "size"] = np.nan
    df["kind"] = np.where(df["weight"] + (df["colour"] == "red") > 0.4, "big", "small")
    df["price"] = 3 * df["weight"] + rng.normal(scale=0.3, size=n)
    return df
