"""``mlr-copilot bench``: runs per task x seed, the aggregates, the files; the benchmark scripts."""

from __future__ import annotations

import csv
import json
import math
import py_compile
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from mlr_copilot_jupyter.bench import BenchRun, markdown_table, mean_se, overall_line, score_tasks
from tests.support.cli import cli_command, subprocess_env

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=timeout, env=subprocess_env())


def test_bench_wine_two_seeds_offline(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = run_cli("bench", "wine", "--seeds", "2", "--max-steps", "2", "--out", str(out),
                     "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout)

    with (out / "bench.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["task"], r["seed"]) for r in rows] == [("wine", "0"), ("wine", "1")]
    for row, run in zip(rows, data["runs"], strict=True):
        assert run["status"] == "done" and run["verified"] is True
        gain = float(row["relative_improvement"])
        assert math.isclose(gain, run["relative_improvement"])
        assert run["success"] is (gain >= 0.10)
        assert row["success"] == str(run["success"])
        # the improvement is on the held-out test split, of the node selected on validation
        assert run["selection"] == "validation"
        assert math.isclose(gain, (run["best_test"] - run["baseline_test"])
                            / abs(run["baseline_test"]))
        for key in ("baseline_metric", "best_metric", "baseline_test", "best_test"):
            assert row[key] not in ("", None)
    # the seed reached each run's parameters cell, and the runs live in OUT/<task>/seed<k>/
    for seed in (0, 1):
        nb = nbformat.read(out / "wine" / f"seed{seed}" / "experiment.ipynb", as_version=4)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert f"seed = {seed}" in params.source

    (task,) = data["tasks"]
    gains = [r["relative_improvement"] for r in data["runs"]]
    assert task["task"] == "wine" and task["runs"] == 2
    assert math.isclose(task["improvement_mean"], sum(gains) / 2)
    assert task["success_rate"] == sum(r["success"] for r in data["runs"]) / 2
    assert data["overall"]["runs"] == 2
    assert data["overall"]["success_rate"] == task["success_rate"]

    md = (out / "bench.md").read_text()
    assert "| task | runs | selected on | validation: baseline → best (mean) | " \
        "test: baseline → best (mean) |" in md and "\n| wine | 2 | validation |" in md
    assert "**Overall:** success rate" in md
    assert f"mlr-copilot bench wine --seeds 2 --max-steps 2 --out {out}" in md
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = run_cli("bench", "wine", "--seeds", "1", "--out", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert again.stderr.count("\n") == 1, again.stderr


def test_mean_and_standard_error_with_known_numbers() -> None:
    mean, se = mean_se([0.1, 0.2, 0.3])
    assert math.isclose(mean, 0.2)
    assert math.isclose(se, 0.1 / math.sqrt(3))  # sample SD 0.1
    assert mean_se([0.4]) == (0.4, None)
    with pytest.raises(ValueError):
        mean_se([])


def test_aggregation_per_task_and_overall() -> None:
    def ok(task: str, seed: int, base: float, best: float) -> BenchRun:
        # validation numbers 0.1 above the test numbers; the gain counted is the test one
        gain = (best - base) / abs(base)
        return BenchRun(task=task, seed=seed, status="done", selection="validation",
                        baseline_metric=base + 0.1, best_metric=best + 0.1, baseline_test=base,
                        best_test=best, verified=True, relative_improvement=gain,
                        success=gain >= 0.10)

    runs = [ok("a", 0, 0.5, 0.525), ok("a", 1, 0.5, 0.6), ok("a", 2, 0.5, 0.675),
            ok("b", 0, 1.0, 1.05),
            # nothing verified: a failure that counts as 0% (the baseline is kept)
            BenchRun(task="b", seed=1, status="done", selection="validation", baseline_metric=1.1,
                     best_metric=None, baseline_test=1.0, best_test=None, verified=False,
                     relative_improvement=None, success=False)]
    scores, overall = score_tasks(runs)
    a, b = scores
    assert (a.task, a.runs, b.task, b.runs) == ("a", 3, "b", 2)
    assert math.isclose(a.improvement_mean, 0.2) and math.isclose(a.improvement_se,
                                                                  0.15 / math.sqrt(3))
    assert math.isclose(a.success_rate, 2 / 3)
    assert math.isclose(a.baseline_mean, 0.6) and math.isclose(a.best_mean, 0.7)
    assert math.isclose(a.baseline_test_mean, 0.5) and math.isclose(a.best_test_mean, 0.6)
    assert math.isclose(b.improvement_mean, 0.025) and b.success_rate == 0.0
    assert math.isclose(b.best_test_mean, 1.05)  # the mean of verified results only
    assert overall["runs"] == 5 and overall["successes"] == 2
    gains = [0.05, 0.2, 0.35, 0.05, 0.0]
    assert math.isclose(overall["improvement_mean"], sum(gains) / 5)
    assert math.isclose(overall["improvement_se"], mean_se(gains)[1])
    table = markdown_table(scores)
    assert "| a | 3 | validation | 0.6 → 0.7 | 0.5 → 0.6 | +20.0% ± 8.7% | 67% |" in table
    assert "success rate 40% (2/5 runs)" in overall_line(overall)


@pytest.mark.parametrize("name", ["step_overhead", "idea_concurrency", "prompt_growth"])
def test_benchmark_script_exists(name: str) -> None:
    assert (REPO / "benchmarks" / f"{name}.py").is_file()


@pytest.mark.parametrize("script", sorted(p for p in (REPO / "benchmarks").glob("*.py") if not p.name.startswith("_")),
                         ids=lambda p: p.name)
def test_benchmark_scripts_compile_and_print_a_ratio(script: Path, tmp_path: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert re.search(r"print\(\s*f?[\"']ratio: ", text), f"{script.name} prints no 'ratio: ' line"
    py_compile.compile(str(script), cfile=str(tmp_path / "x.pyc"), doraise=True)


@pytest.mark.slow
@pytest.mark.timeout(1500)  # six tasks x 3 steps: about 1.5 minutes on 2 busy cores
@pytest.mark.slow_ok(
    reason="`mlr-copilot bench`: 3 offline steps in a real kernel on each of the six bundled tasks")
def test_bench_every_bundled_task_offline_beats_its_baseline_on_the_heldout_test(
    tmp_path: Path,
) -> None:
    """Must-show: each bundled task >= 10% relative on the held-out test metric of the node
    selected on validation (or on eval.py's score where the task has no validation metric),
    within 3 steps. (Three steps, not the default 10: the offline engine's first recipes already
    clear 10% on every task, 13-57% measured, and this also covers what the 3-step runs of the
    text tasks heat_mlab and sts_pairs in test_text_recipes.py asserted; issue 26.)"""
    from mlr_copilot_jupyter.experiment.task import bundled_tasks
    from tests.support.experiments import check_record

    tasks = bundled_tasks()
    assert {"sts_pairs", "heat_mlab", "digits", "wine", "diabetes", "breast_cancer"} <= set(tasks)
    out = tmp_path / "bench"
    result = run_cli("bench", "--seeds", "1", "--max-steps", "3", "--out", str(out), "--json",
                     timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout)
    with (out / "bench.csv").open(newline="") as handle:
        rows = {r["task"]: r for r in csv.DictReader(handle)}
    assert set(rows) == set(tasks)
    for run in data["runs"]:
        name, row = run["task"], rows[run["task"]]
        assert run["status"] == "done" and run["verified"], run
        assert run["best_test"] is not None and run["baseline_test"] is not None, run
        assert run["relative_improvement"] >= 0.10, run
        assert run["success"] is True and row["success"] == "True"
        assert float(row["best_test"]) == pytest.approx(run["best_test"])
        run_dir = Path(run["run_dir"])
        nb, journal = check_record(run_dir)
        best = next(n for n in journal["nodes"] if n["id"] == journal["best_node"])
        assert best["verified"] is True and best["metric_source"], name
        report = (run_dir / "report.md").read_text()
        assert "Held-out test" in report and "Selection:" in report, name
        if name == "heat_mlab":  # eval.py's MAE: minimised, the baseline's validation line read
            assert journal["direction"] == "minimize" and "eval.py" in journal["metric_evidence"]
        else:
            assert journal["selection"] == "validation", name
        notes = [c for c in nb.cells
                 if c.metadata.get("mlr_copilot", {}).get("stage") == "retrieval"]
        assert len(notes) == 1
    md = (out / "bench.md").read_text()
    assert "selected on" in md and "test: baseline → best" in md
