"""Offline recipes: catalog shape, metric code, and each metric variant run in this process
(tests/integration/test_recipes.py: real headroom over each bundled baseline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlr_copilot_jupyter.errors import TaskError
from mlr_copilot_jupyter.experiment.recipes import (
    FAMILIES,
    RECIPES,
    baseline_code,
    metric_code,
    recipes_for,
    supported_metrics,
    unsupported_reason,
)
from mlr_copilot_jupyter.experiment.task import TASKS_DIR, Task, load_task
from tests.support.recipes import run_cell

BUNDLED = ("breast_cancer", "diabetes", "digits", "wine")


def _task_copy(tmp_path: Path, name: str, metric: str, direction: str) -> Task:
    folder = tmp_path / name
    shutil.copytree(TASKS_DIR / name, folder)
    spec = folder / "task.toml"
    text = spec.read_text().split("[metric]")[0]
    spec.write_text(text + f'[metric]\nname = "{metric}"\ndirection = "{direction}"\n')
    return load_task(folder)


# --- catalog ---------------------------------------------------------------------------------


def test_catalog_covers_every_family_with_enough_recipes() -> None:
    assert len(RECIPES) >= 8
    assert {r.family for r in RECIPES} == set(FAMILIES)
    for recipe in RECIPES:
        assert recipe.title and recipe.rationale and recipe.keywords
        assert set(recipe.task_types) <= {
            f"{shape}{kind}" for shape in ("", "text_", "pair_")
            for kind in ("classification", "regression")
        }
    assert "poly_ridge" not in [r.key for r in recipes_for(load_task("digits"))]
    assert recipes_for(load_task("diabetes"))[0].key == "scaled_linear"


def test_every_recipe_cell_is_valid_python_reporting_the_task_metric() -> None:
    for name in BUNDLED:
        task = load_task(name)
        for recipe in recipes_for(task):
            code = recipe.code(task, seed=7)
            compile(code, recipe.key, "exec")
            # the record's parameters cell wins (papermill -p seed), else the given seed
            assert "SEED = int(globals().get('seed', 7))" in code
            assert f"report_metric({task.metric.name!r}, score)" in code
            assert "read_csv('train.csv')" in code and "read_csv('test.csv')" in code


def test_recipe_for_the_wrong_task_type_raises() -> None:
    with pytest.raises(TaskError, match="recipe 'poly_ridge' does not apply to task 'wine'"):
        RECIPES.get("poly_ridge").code(load_task("wine"), seed=0)
    with pytest.raises(TaskError, match="unknown recipe 'nope'"):
        RECIPES.get("nope")


def test_unknown_metric_lists_supported_ones(tmp_path: Path) -> None:
    task = _task_copy(tmp_path, "wine", "kappa", "maximize")
    with pytest.raises(TaskError, match="metric 'kappa' .*supported metrics: accuracy, "):
        metric_code(task)
    assert "kappa" not in supported_metrics()
    assert recipes_for(task) == []
    assert "kappa" in (unsupported_reason(task) or "")


def test_non_tabular_task_gets_no_recipes(tmp_path: Path) -> None:
    folder = tmp_path / "lm"
    (folder / "env").mkdir(parents=True)
    (folder / "scripts").mkdir()
    (folder / "env" / "train.py").write_text("print(1)\n")
    (folder / "scripts" / "research_problem.txt").write_text("Lower the perplexity of the LM.")
    task = load_task(folder)
    assert recipes_for(task) == []
    assert unsupported_reason(task) == "no train/test data files it recognises (found: none)"


def test_match_score_ranks_recipes_for_an_idea() -> None:
    idea = "Replace the single tree by a stacking ensemble with a meta-learner over diverse models"
    best = max(RECIPES, key=lambda r: r.match_score(idea))
    assert best.key == "stacking_ensemble"


def test_baseline_code_from_script_and_notebook(tmp_path: Path) -> None:
    task = load_task("digits")
    assert baseline_code(task) == (task.root / "baseline.py").read_text()
    folder = tmp_path / "nb"
    shutil.copytree(TASKS_DIR / "wine", folder)
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Baseline"]},
            {"cell_type": "code", "source": ["import pandas as pd\n", "x = 1"]},
            {"cell_type": "code", "source": "report_metric('accuracy', 0.5)"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "baseline.ipynb").write_text(json.dumps(notebook))
    spec = folder / "task.toml"
    spec.write_text(spec.read_text().replace('"baseline.py"', '"baseline.ipynb"'))
    code = baseline_code(load_task(folder))
    assert code == "import pandas as pd\nx = 1\n\nreport_metric('accuracy', 0.5)\n"
    (folder / "baseline.ipynb").write_text("{not json")
    with pytest.raises(TaskError, match="baseline.ipynb: not a valid notebook"):
        baseline_code(load_task(folder))


@pytest.mark.parametrize(
    ("name", "metric", "direction", "low", "high"),
    [
        ("breast_cancer", "roc_auc", "maximize", 0.95, 1.0),
        ("breast_cancer", "log_loss", "minimize", 0.0, 0.3),
        ("digits", "roc_auc", "maximize", 0.95, 1.0),
        ("wine", "f1", "maximize", 0.9, 1.0),
        ("diabetes", "rmse", "minimize", 40.0, 70.0),
        ("diabetes", "r2", "maximize", 0.3, 0.7),
    ],
)
def test_metric_variants_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name, metric, direction, low, high
) -> None:
    task = _task_copy(tmp_path, name, metric, direction)
    workspace = task.prepare_workspace(tmp_path / "run")
    recipe = "svm_rbf" if task.task_type == "classification" else "scaled_linear"
    reported, _ = run_cell(RECIPES.get(recipe).code(task, seed=0), workspace, monkeypatch)
    assert low <= reported[metric] <= high
