"""Task folders that look like the world's (issue #24 item 7), written by the project, seeded.

- :func:`pair_task_with_answers_in_env`: the MLR-Copilot SemEval layout. ``eval.py`` reads the
  test labels from ``<folder>/data/<lang>/<lang>_test.csv`` (an f-string path) inside ``env/``;
  a labelled ``<lang>_dev.csv`` sits beside it; the baseline (``train.py``) prints only train
  and test figures (no validation) and writes ``submission.csv`` (sentence1, sentence2, label).
  Relatedness is word overlap, halved by a "not" that word overlap cannot see: headroom.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

_WORDS = ("river bank money loan water boat fish bridge city road car train station ticket "
          "music song piano guitar drum dance party night morning coffee tea bread cheese "
          "garden flower tree leaf forest mountain snow winter summer beach sand wave ocean "
          "school teacher student book paper pencil lesson exam doctor nurse hospital medicine "
          "market shop price seller buyer phone screen email letter office meeting report").split()

PAIR_EVAL = '''import os

import pandas as pd


def get_score(submission_folder="../env"):
    """Spearman correlation of the predicted relatedness with the gold labels."""
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    preds = [float(p) for p in submission["label"].tolist()]
    lang = "eng"
    test_data_path = os.path.join(submission_folder, "data", lang, f"{lang}_test.csv")
    gold = [float(s) for s in pd.read_csv(test_data_path)["label"].tolist()]
    return float(pd.Series(gold).corr(pd.Series(preds), method="spearman"))


if __name__ == "__main__":
    print(get_score())
'''

PAIR_BASELINE = '''import os

import numpy as np
import pandas as pd


def load(split, lang="eng"):
    return pd.read_csv(os.path.join("data", lang, f"{lang}_{split}.csv"))


def overlap(a, b):
    a, b = set(str(a).split()), set(str(b).split())
    return len(a & b) / max(1, len(a | b))


train, test = load("train"), load("test")
train_pred = [overlap(a, b) for a, b in zip(train["sentence1"], train["sentence2"])]
test_pred = [overlap(a, b) for a, b in zip(test["sentence1"], test["sentence2"])]
train_corr = pd.Series(train["label"]).corr(pd.Series(train_pred), method="spearman")
test_corr = pd.Series(test["label"].astype(float)).corr(pd.Series(test_pred), method="spearman")
print(f"Train Spearman correlation: {train_corr:.3f}, Test Spearman correlation: {test_corr:.3f}")
pd.DataFrame({"sentence1": test["sentence1"], "sentence2": test["sentence2"],
              "label": test_pred}).to_csv("submission.csv", index=False)
print("Results saved to submission.csv")
'''


def _pairs(rng: random.Random, n: int, start: int) -> pd.DataFrame:
    rows = []
    for k in range(n):
        first = [rng.choice(_WORDS) for _ in range(9)]
        changed = rng.randint(0, 9)
        second = list(first)
        for pos in rng.sample(range(9), changed):
            second[pos] = rng.choice(_WORDS)
        rng.shuffle(second)
        related = 1 - changed / 9
        if rng.random() < 0.35:  # a negation the word overlap cannot see halves relatedness
            second.insert(rng.randint(0, len(second)), "not")
            related *= 0.5
        label = round(min(1.0, max(0.0, related + rng.gauss(0, 0.08))), 3)
        rows.append({"PairID": f"eng-{start + k}", "sentence1": " ".join(first),
                     "sentence2": " ".join(second), "label": label})
    return pd.DataFrame(rows)


def pair_task_with_answers_in_env(root: Path, *, seed: int = 7, train_rows: int = 900,
                                  dev_rows: int = 250, test_rows: int = 300) -> Path:
    """Write the SemEval-style task folder under ``root``; its path."""
    rng = random.Random(seed)
    data = root / "env" / "data" / "eng"
    data.mkdir(parents=True)
    _pairs(rng, train_rows, 0).to_csv(data / "eng_train.csv", index=False)
    _pairs(rng, dev_rows, train_rows).to_csv(data / "eng_dev.csv", index=False)
    test = _pairs(rng, test_rows, train_rows + dev_rows)
    test.to_csv(data / "eng_test.csv", index=False)
    # a stale submission ships in env/, as in the real task: the baseline overwrites it
    test[["sentence1", "sentence2"]].assign(label=0.5).to_csv(root / "env" / "submission.csv",
                                                               index=False)
    (root / "env" / "train.py").write_text(PAIR_BASELINE)
    scripts = root / "scripts"
    scripts.mkdir()
    (scripts / "eval.py").write_text(PAIR_EVAL)
    (scripts / "research_problem.txt").write_text(
        "Semantic textual relatedness: predict how related two English sentences are (column "
        "label, 0 to 1) from data/eng/eng_train.csv. The baseline train.py scores word overlap. "
        "Improve it: the score is the Spearman correlation of submission.csv with the gold "
        "labels of the test split; higher is better.\n")
    (scripts / "read_only_files.txt").write_text("data/*\n")
    return root


TABLE_EVAL = '''import os

import pandas as pd


def get_score(submission_folder="../env"):
    """Mean absolute error of the predicted prices in submission.csv (id, price)."""
    answers = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answers.csv"))
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    merged = answers.merge(submission, on="id", how="left", suffixes=("", "_pred"))
    if merged["price_pred"].isna().any():
        raise ValueError("submission.csv needs a price for every test id")
    return float((merged["price"] - merged["price_pred"]).abs().mean())
'''

TABLE_BASELINE = '''import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

data = pd.read_csv("train.csv")
features = ["rooms", "area"]
train, valid = train_test_split(data, test_size=0.2, random_state=0)
model = LinearRegression().fit(train[features], train["price"])
error = valid["price"] - model.predict(valid[features])
mae, rmse = np.abs(error).mean(), np.sqrt((error ** 2).mean())
r2 = 1 - (error ** 2).sum() / ((valid["price"] - valid["price"].mean()) ** 2).sum()
print(f"Training rows: {len(train):,} | validation rows: {len(valid):,}")
print(f"Validation RMSE: {rmse:,.0f} | Validation MAE: {mae:,.0f} | R2: {r2:.3f}")
model.fit(data[features], data["price"])
test = pd.read_csv("test.csv")
pd.DataFrame({"id": test["id"], "price": model.predict(test[features])}).to_csv(
    "submission.csv", index=False)
'''

_FIRST = "Ada Alan Grace Linus Ken Barbara Edsger Donald Margaret Tim Vint Radia Frances John".split()
_LAST = "Lovelace Turing Hopper Torvalds Thompson Liskov Dijkstra Knuth Hamilton Lee Cerf".split()


def table_task_10k(root: Path, *, seed: int = 3, rows: int = 10_000, test_rows: int = 2_000) -> Path:
    """A 10,000-row house-price table (MLAgentBench layout) with an ID column, a free-text
    name column, a structured code column (``B/123/P``) and missing values; prices in the
    hundreds of thousands, so the baseline prints its MAE with thousands separators, beside
    an RMSE and an R2 on one line. eval.py keeps the answers beside itself."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = rows + test_rows
    deck = rng.choice(list("ABCDEFG"), n)
    side = rng.choice(["P", "S"], n)
    frame = pd.DataFrame({
        "id": [f"{k:05d}_{rng.integers(1, 4):02d}" for k in range(n)],
        "owner": [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}-{k}" for k in range(n)],
        "plot": [f"{d}/{rng.integers(1, 1800)}/{s}" for d, s in zip(deck, side, strict=True)],
        "district": rng.choice(["north", "south", "east", "west", "centre"], n),
        "rooms": rng.integers(1, 8, n),
        "area": rng.normal(95, 30, n).clip(20, 300).round(1),
        "age": rng.integers(0, 90, n).astype(float),
    })
    frame.loc[rng.random(n) < 0.05, "age"] = np.nan
    premium = {"A": 90_000, "B": 60_000, "C": 30_000, "D": 0, "E": -10_000, "F": -20_000,
               "G": -30_000}
    price = (1_800 * frame["area"] + 12_000 * frame["rooms"] + frame["plot"].str[0].map(premium)
             + np.where(frame["district"] == "centre", 80_000, 0)
             - 900 * frame["age"].fillna(40) + np.where(side == "S", 25_000, 0)
             + rng.normal(0, 15_000, n))
    frame["price"] = price.round(0)
    env, scripts = root / "env", root / "scripts"
    env.mkdir(parents=True)
    scripts.mkdir()
    frame.iloc[:rows].to_csv(env / "train.csv", index=False)
    frame.iloc[rows:].drop(columns="price").to_csv(env / "test.csv", index=False)
    frame.iloc[rows:][["id", "price"]].to_csv(scripts / "answers.csv", index=False)
    (env / "train.py").write_text(TABLE_BASELINE)
    (scripts / "eval.py").write_text(TABLE_EVAL)
    (scripts / "research_problem.txt").write_text(
        "Predict the sale price of each house in test.csv (column price) from train.csv. "
        "The baseline train.py fits a linear regression on rooms and area. Improve it: the "
        "score is the mean absolute error (MAE) of submission.csv (id, price); lower is better.\n")
    (scripts / "read_only_files.txt").write_text("train.csv\ntest.csv\n")
    return root
