"""Regenerate the bundled tasks' CSVs from scikit-learn's bundled datasets (provenance script).

Run once from the repository root::

    python -m mlr_copilot_jupyter.tasks._make_data

Every task gets ``train.csv``, ``valid.csv`` and ``heldout/test.csv``: a fixed 60/20/20 split
(seed 0, stratified for classification), the loader's feature names as columns and the label in
a ``target`` column. ``heldout/test.csv`` keeps its labels and is never copied into the agent's
workspace: the workspace gets a features-only ``test.csv`` and the copilot scores the
submission against the held-out labels. Only ``load_*`` loaders are used: their data ships
inside scikit-learn, nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
SEED = 0
TEST_SIZE = 0.20
VALID_SIZE = 0.20  # of the whole data set


def _digits() -> pd.DataFrame:
    bunch = datasets.load_digits(as_frame=True)
    return bunch.frame.astype("int64")


def _breast_cancer() -> pd.DataFrame:
    return datasets.load_breast_cancer(as_frame=True).frame


def _wine() -> pd.DataFrame:
    return datasets.load_wine(as_frame=True).frame


def _diabetes() -> pd.DataFrame:
    # Unscaled: real units (age in years, sex as 1/2, bmi, blood pressure, serum measurements).
    return datasets.load_diabetes(as_frame=True, scaled=False).frame


#: task folder -> (loader, stratify by target?)
SOURCES: dict[str, tuple[Callable[[], pd.DataFrame], bool]] = {
    "digits": (_digits, True),
    "breast_cancer": (_breast_cancer, True),
    "wine": (_wine, True),
    "diabetes": (_diabetes, False),
}


def write_task_data(name: str) -> None:
    loader, stratify = SOURCES[name]
    frame = loader()
    rest, test = train_test_split(
        frame,
        test_size=TEST_SIZE,
        random_state=SEED,
        stratify=frame["target"] if stratify else None,
    )
    train, valid = train_test_split(
        rest,
        test_size=VALID_SIZE / (1 - TEST_SIZE),
        random_state=SEED,
        stratify=rest["target"] if stratify else None,
    )
    folder = HERE / name
    (folder / "heldout").mkdir(parents=True, exist_ok=True)
    stale = folder / "test.csv"  # the old layout kept labelled test data in the workspace
    if stale.exists():
        stale.unlink()
    for rel, part in (("train.csv", train), ("valid.csv", valid), ("heldout/test.csv", test)):
        part.to_csv(folder / rel, index=False, float_format="%.6g")
        print(f"{folder / rel}: {len(part)} rows x {part.shape[1]} columns")

if __name__ == "__main__":
    for task_name in SOURCES:
        write_task_data(task_name)
