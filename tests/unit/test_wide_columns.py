"""Feature preparation sized to the data (issue #24 item 5): on a 10,000-row table with an ID
column, a free-text name column, a structured cabin code and a high-cardinality category, the
offline recipes' data-loading cell drops the ID and name (and says so), splits the code into its
parts and caps the category, so the one-hot features stay narrow. The generated cell is run
in-process on the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlr_copilot_jupyter.experiment.recipes.cells import layout, load_code
from mlr_copilot_jupyter.experiment.task import MetricSpec, Task


def _passenger_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = np.array(["Maria", "John", "Aiko", "Omar", "Lena", "Ravi", "Chen", "Sara", "Ivan"])
    last = np.array([f"Surname{i}" for i in range(3000)])
    deck = rng.choice(list("ABCDEFGT"), rows)
    side = rng.choice(["P", "S"], rows)
    age = rng.integers(1, 80, rows)
    return pd.DataFrame({
        "PassengerId": [f"{i:04d}_{rng.integers(1, 4):02d}" for i in range(rows)],
        "Name": [f"{f} {s}" for f, s in zip(rng.choice(first, rows), rng.choice(last, rows),
                                             strict=True)],
        "Cabin": [f"{d}/{rng.integers(0, 1800)}/{s}" for d, s in zip(deck, side, strict=True)],
        "HomeTown": rng.choice([f"Town{i}" for i in range(400)], rows),
        "HomePlanet": rng.choice(["Earth", "Europa", "Mars"], rows),
        "Age": age,
        "Transported": ((deck < "D") ^ (side == "S") ^ (age > 40)).astype(int),
    })


def test_wide_string_columns_are_prepared_as_a_practitioner_would(tmp_path: Path) -> None:
    _passenger_table(10_000).to_csv(tmp_path / "train.csv", index=False)
    _passenger_table(2_000, seed=1).to_csv(tmp_path / "valid.csv", index=False)
    task = Task(name="ship", description="Predict Transported.", data_files=["train.csv",
                "valid.csv"], baseline="baseline.py", target="Transported",
                metric=MetricSpec(name="accuracy", direction="maximize"), root=tmp_path)
    data = layout(task)
    assert "Name" in data.dropped and ("PassengerId" in data.dropped or "PassengerId" in data.ids)
    assert data.codes == (("Cabin", "/", 3),)
    assert data.capped == ("HomeTown",)
    code = load_code(task)
    assert "near-unique text columns (IDs, names) are dropped" in code
    namespace: dict[str, object] = {"SEED": 0}
    cwd = Path.cwd()
    try:
        import os

        os.chdir(tmp_path)
        exec(compile("import pandas as pd\n" + code, "<load cell>", "exec"), namespace)
    finally:
        os.chdir(cwd)
    x_train, x_valid = namespace["X_train"], namespace["X_valid"]
    assert isinstance(x_train, pd.DataFrame) and isinstance(x_valid, pd.DataFrame)
    assert x_train.shape == (10_000, x_valid.shape[1])
    assert x_train.shape[1] < 60  # not ~19,000 one-hot columns
    assert "Cabin_1" in x_train.columns and pd.api.types.is_numeric_dtype(x_train["Cabin_1"])
    assert any(c.startswith("Cabin_0_") for c in x_train.columns)  # the deck, one-hot
    assert not any(c.startswith(("Name_", "PassengerId_")) for c in x_train.columns)
