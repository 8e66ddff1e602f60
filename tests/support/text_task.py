"""An MLAgentBench-layout task for the brief tests: a sentence-pair relatedness task scored by
Pearson r through its eval.py, with a ~150-line baseline whose middle and last lines are
recognisable, and the check that a prompt holds its brief (must-show 6)."""

from __future__ import annotations

import re
from pathlib import Path

WORDS = ("a man is playing a guitar on the stage while the crowd sings along loudly "
         "two dogs run across the wet green field chasing a red ball in the rain").split()

EVAL_PY = '''import os

import numpy as np
import pandas as pd

ANSWERS = os.path.join(os.path.dirname(__file__), "answers.csv")


def get_score(submission_folder="../env"):
    """Pearson correlation between submission.csv scores and the held-out answers."""
    answers = pd.read_csv(ANSWERS)
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    return float(np.corrcoef(submission["score"].values, answers["score"].values)[0, 1])
'''


def baseline_script() -> str:
    """A ~150-line train.py whose middle and last lines are recognisable."""
    lines = [
        "import numpy as np",
        "import pandas as pd",
        "from sklearn.linear_model import Ridge",
        "",
        'train = pd.read_csv("train.csv")',
        'test = pd.read_csv("test.csv")',
        "",
    ]
    for i in range(len(lines), 140):
        if i == 75:
            lines.append("# MIDDLE-MARKER: the feature the task description names is built here")
        else:
            lines.append(f"feature_{i} = {i} * 0.5  # padding line {i}")
    lines += [
        "def overlap(a, b):",
        "    return len(set(a.split()) & set(b.split())) / (1 + len(set(a.split())))",
        "",
        'x_train = np.array([[overlap(a, b)] for a, b in zip(train.sentence1, train.sentence2)])',
        'x_test = np.array([[overlap(a, b)] for a, b in zip(test.sentence1, test.sentence2)])',
        'model = Ridge().fit(x_train, train["score"])',
        'pd.DataFrame({"score": model.predict(x_test)}).to_csv("submission.csv", index=False)',
        'open("train_log.txt", "w").write("fitted")',
        'print("LAST-LINE-MARKER: wrote submission.csv")',
    ]
    return "\n".join(lines) + "\n"


def make_text_pair_task(root: Path, rows: int = 120) -> Path:
    """An MLAgentBench-layout sentence-pair relatedness task (labels of test in scripts/)."""
    import random

    rng = random.Random(0)
    env, scripts = root / "env", root / "scripts"
    env.mkdir(parents=True)
    scripts.mkdir()

    def pairs(n: int) -> list[tuple[str, str, float]]:
        out = []
        for _ in range(n):
            a = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
            b = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
            out.append((a, b, round(rng.uniform(0, 5), 2)))
        return out

    train, test = pairs(rows), pairs(rows // 3)
    with (env / "train.csv").open("w") as handle:
        handle.write("sentence1,sentence2,score\n")
        handle.writelines(f"{a},{b},{s}\n" for a, b, s in train)
    with (env / "test.csv").open("w") as handle:
        handle.write("sentence1,sentence2\n")
        handle.writelines(f"{a},{b}\n" for a, b, _ in test)
    with (scripts / "answers.csv").open("w") as handle:
        handle.write("score\n")
        handle.writelines(f"{s}\n" for _, _, s in test)
    (env / "train.py").write_text(baseline_script())
    (scripts / "eval.py").write_text(EVAL_PY)
    (scripts / "research_problem.txt").write_text(
        "Predict how related two sentences are (score 0-5) from train.csv. Improve train.py's "
        "predictions for test.csv, written to submission.csv and scored by Pearson correlation.")
    (scripts / "read_only_files.txt").write_text("train.csv\ntest.csv\n")
    return root


def assert_brief_in(prompt: str) -> None:
    """The four parts must-show 6 asks for, checked on text a model would really receive."""
    assert "# Workspace files" in prompt or "## Workspace files" in prompt
    assert "train.csv (" in prompt and "test.csv (" in prompt and "train.py (" in prompt
    assert 'answers["score"].values)[0, 1])' in prompt  # eval.py's source
    assert " 76 | # MIDDLE-MARKER" in prompt  # the baseline with line numbers, middle...
    assert "| print(\"LAST-LINE-MARKER: wrote submission.csv\")" in prompt  # ...and end
    assert re.search(r"- `sentence1` \((object|str|string)\): text", prompt)
    assert re.search(r"- `sentence2` \((object|str|string)\): text", prompt)
    assert "- `score` (float64)" in prompt  # the data overview with the real column names
    # the label: named when the task knows it, else candidates instead of a made-up `target`
    assert "Candidate label columns: `score`" in prompt or "## Target column\n\n`score`" in prompt
    assert "SELF-CONTAINED" in prompt
    assert re.search(r"report the VALIDATION \w+ with `report_metric\(", prompt)
    assert "Never read or use test labels" in prompt
