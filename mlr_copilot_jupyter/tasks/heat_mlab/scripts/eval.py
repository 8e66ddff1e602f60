"""Score env/submission.csv: the mean absolute error (MAE) of the predicted heating loads."""

import os

import pandas as pd


def get_score(submission_folder="../env"):
    """Mean absolute error of submission.csv (columns id, heat_load) against the answers; lower is better."""
    answers = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answers.csv"))
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    merged = answers.merge(submission, on="id", how="left", suffixes=("", "_pred"))
    if merged["heat_load_pred"].isna().any():
        raise ValueError("submission.csv must hold a heat_load prediction for every test id")
    return float((merged["heat_load"] - merged["heat_load_pred"]).abs().mean())


if __name__ == "__main__":
    print(get_score())
