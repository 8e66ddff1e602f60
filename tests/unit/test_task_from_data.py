"""A task from the notebook's own data, in this process: ``task_from_data``'s choice of metric,
``mlr-copilot task init`` (``cli.main``) and ``%mlr_experiment --data`` on every bad input, one
line each. tests/integration/test_task_from_data.py runs DataFrames in a real kernel and an
experiment on a ``task init`` folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter.experiment.from_data import task_from_data
from tests.support.cli import main_output as cli
from tests.support.frames import frame


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")


def test_task_init_help_has_examples(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter.cli import main

    monkeypatch.setenv("COLUMNS", "80")  # the width the command has on a pipe
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["task", "init", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--test-size" in out and "mlr-copilot experiment --task" in out


def test_metric_follows_the_target(tmp_path: Path) -> None:
    df = frame(200)
    balanced = task_from_data(df.drop(columns=["price"]), "kind", tmp_path / "a", source="df")
    assert (balanced.metric, balanced.direction) == ("accuracy", "maximize")
    skewed = df.drop(columns=["price"]).assign(kind=np.where(df["weight"] > 1.0, "rare", "usual"))
    chosen = task_from_data(skewed, "kind", tmp_path / "b", source="df")
    assert chosen.metric == "balanced_accuracy" and "imbalanced" in chosen.reason
    graded = df.drop(columns=["kind", "price"]).assign(grade=np.arange(200) % 4)
    assert task_from_data(graded, "grade", tmp_path / "c").task_type == "classification"
    numeric = task_from_data(df.drop(columns=["kind"]), "price", tmp_path / "d",
                             direction="max")
    assert (numeric.task_type, numeric.metric, numeric.direction) == ("regression", "r2",
                                                                      "maximize")
    with_gaps = df.drop(columns=["price"]).astype({"kind": object})
    with_gaps.loc[:4, "kind"] = None
    gapped = task_from_data(with_gaps, "kind", tmp_path / "e")
    assert "dropped 5 rows with a missing 'kind'" in gapped.choice_line()
    assert sum(gapped.rows.values()) == 195


def _write(tmp_path: Path, name: str, content: bytes | pd.DataFrame) -> Path:
    path = tmp_path / name
    if isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    else:
        path.write_bytes(content)
    return path


BAD_INPUTS = {
    # name: (file name, content, extra args, expected words in the one line)
    "missing file": ("nope.csv", None, [], "does not exist"),
    "wrong extension": ("data.txt", b"a,b\n1,2\n", [], "has extension '.txt'"),
    "not UTF-8": ("latin.csv", b"a,kind\n\xff\xfe,\x81\n" * 30, [], "cannot be read as csv"),
    "corrupt parquet": ("data.parquet", b"PAR1 not really", [], "data.parquet"),
    "empty file": ("empty.csv", b"", [], "is empty"),
    "no target column": ("d.csv", frame(), ["--target", "label"],
                         "no column 'label' in", ),
    "constant target": ("d.csv", frame().assign(kind="same"), [], "has a single value"),
    "too few rows": ("d.csv", frame(12), [], "at least 20"),
    "rare class": ("d.csv", frame().assign(kind=["x"] * 148 + ["y"] * 2), [],
                   "fewer than 3 rows"),
    "all-NaN target": ("d.csv", frame().assign(kind=np.nan), [], "missing (NaN) in every row"),
    "test size too big": ("d.csv", frame(), ["--test-size", "0.7"], "outside (0, 0.5]"),
    "test size not a number": ("d.csv", frame(), ["--test-size", "abc"], "is not a number"),
    "unknown metric": ("d.csv", frame(), ["--metric", "bleu"], "not a metric the held-out"),
    "regression metric on classes": ("d.csv", frame(), ["--metric", "rmse"],
                                     "is a regression metric"),
    "direction against metric": ("d.csv", frame(), ["--metric", "accuracy", "--direction", "min"],
                                 "contradicts --metric accuracy"),
    "output folder not empty": ("d.csv", frame(), ["--out", "FULL"], "exists and is not empty"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line(case: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    name, content, extra, expected = BAD_INPUTS[case]
    data = tmp_path / name if content is None else _write(tmp_path, name, content)
    if "FULL" in extra:
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "keep.txt").write_text("mine")
        extra = [str(tmp_path / "full") if a == "FULL" else a for a in extra]
    args = ["task", "init", "--data", str(data), "--target", "kind",
            "--out", str(tmp_path / "task"), *extra]
    code, out, err = cli(capsys, *args)
    assert code == 1 and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlr-copilot: error: "), err
    assert expected in lines[0], lines[0]
    if case == "no target column":
        assert "size, colour, weight" in lines[0]  # it lists columns
    if case != "output folder not empty":
        assert not (tmp_path / "task").exists()  # nothing half-written


@pytest.fixture(scope="module")
def big_frame() -> pd.DataFrame:
    n = 1_100_000  # one 10 kB string referenced n times: 10 GiB by memory_usage(deep=True)
    return pd.DataFrame({"x": np.zeros(n), "kind": pd.Series(["a" * 10_000] * n, dtype=object)})


@pytest.fixture
def shell_with_data(ip: InteractiveShell, big_frame: pd.DataFrame) -> InteractiveShell:
    ip.user_ns["df"] = frame()
    ip.user_ns["rows"] = [1, 2, 3]
    ip.user_ns["big"] = big_frame
    return ip


MAGIC_BAD = {
    "no such variable": ("--data dfx --target kind", "no such variable in the notebook"),
    "not a DataFrame": ("--data rows --target kind", "`rows` is a list, not a pandas DataFrame"),
    "10 GiB frame": ("--data big --target kind", "10.3 GiB of memory, over the 1.0 GiB limit"),
    "with --task": ("--data df --target kind --task wine", "--data and --task are exclusive"),
    "no --target": ("--data df", "--data needs --target"),
    "target missing": ("--data df --target label", "no column 'label' in `df`"),
    "file missing": ("--data ./missing.parquet --target kind", "does not exist"),
    "target without data": ("--task wine --target kind", "go with --data"),
}


@pytest.mark.parametrize("case", list(MAGIC_BAD))
def test_magic_bad_data_is_one_line(case: str, shell_with_data: InteractiveShell,
                                    tmp_path: Path) -> None:
    line, expected = MAGIC_BAD[case]
    with pytest.raises(UsageError) as info:
        shell_with_data.run_line_magic("mlr_experiment", f"{line} --max-steps 0 --wait")
    message = str(info.value)
    assert "\n" not in message and expected in message, message
    assert not list(tmp_path.glob("runs/*/journal.json"))  # no run was started
