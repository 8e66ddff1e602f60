"""Recipes sized to the data and the cell timeout (issue #24 item 5): the decisions.

Given the rows, the features, the timeout and what a fit costs, :func:`size_to_budget` keeps the
recipe or picks a cheaper variant and says so in one ``sizing:`` line. The fit times are given
by a cost table instead of a stopwatch so the decisions are exact and the tests take no time;
the real timings run in ``test_recipe_cost_run.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from mlr_copilot_jupyter.experiment.recipes import RECIPES, recipes_for
from mlr_copilot_jupyter.experiment.recipes.sizing import (
    SIZING_MIN_ROWS,
    cell_code,
    size_to_budget,
    sizing_coefficients,
    sizing_estimate,
    sizing_exponent,
    sizing_parts,
    sizing_rows,
    train_rows,
)
from mlr_copilot_jupyter.experiment.task import MetricSpec, Task, load_task


def cost_table(per_row: float = 1e-4, kernel: float = 0.0, loo: float = 0.0):
    """A pilot that 'times' a fit from the model's parts: per_row·m for everything, kernel·m²
    for each kernel SVM, loo·m³ for each leave-one-out RidgeCV; a search or stack multiplies
    by its folds (and draws)."""

    def pilot(model, X, y, rows, seed=0):
        seconds = per_row * rows
        factor = 1.0
        for path, part in sizing_parts(model):
            name = type(part).__name__
            if name in ("SVC", "SVR") and part.kernel != "linear":
                seconds += kernel * rows**2
            if name == "RidgeCV" and part.cv is None and "final_estimator" not in path:
                seconds += loo * rows**3
            if name == "RandomizedSearchCV":
                factor *= part.n_iter * part.cv
            if name.startswith("Stacking"):
                factor *= (part.cv or 5) + 1
        return seconds * factor

    return pilot


def table(rows: int, features: int = 20) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((rows, features)), np.arange(rows) % 2


def decide(model, X, y, timeout: float, pilot, clock=lambda: 0.0):
    """size_to_budget with a clock that stands still unless ``clock`` says otherwise (the pilots
    of ``cost_table`` take no real time; this code's own milliseconds would cost rows)."""
    lines: list[str] = []
    sized, X_fit, y_fit = size_to_budget(model, X, y, timeout, pilot=pilot, log=lines.append,
                                         clock=clock)
    assert len(lines) <= 1
    return sized, X_fit, (lines[0] if lines else "")


def test_small_data_runs_as_written_and_says_nothing() -> None:
    model = make_pipeline(StandardScaler(), SVC(C=10.0))
    X, y = table(SIZING_MIN_ROWS)
    sized, X_fit, line = decide(model, X, y, 1.0, cost_table(kernel=1.0))
    assert sized is model and X_fit is X and line == ""


def test_cheap_fit_runs_as_written_and_says_how_long() -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression())
    X, y = table(10_000, 45)
    sized, X_fit, line = decide(model, X, y, 300.0, cost_table(per_row=1e-3))
    assert sized is model and X_fit is X
    assert line == "sizing: 10,000 rows x 45 features: ~10 s of a 300 s cell; fitting as written"


def test_kernel_svm_keeps_its_kernel_on_a_subsample_when_thousands_of_rows_fit() -> None:
    model = make_pipeline(StandardScaler(), SVC(C=10.0))
    X, y = table(9_000)
    # 4e-6·m² s: 324 s for all rows, more than half of 300 s; 6,123 rows take 150 s
    sized, X_fit, line = decide(model, X, y, 300.0, cost_table(per_row=0, kernel=4e-6))
    assert isinstance(sized.steps[-1][1], SVC)
    assert X_fit.shape[0] == 6_123
    assert line.startswith("sizing: 9,000 rows x 20 features: SVC would take ~324 s of a 300 s "
                           "cell; using the kernel kept, fitted on 6,123 random rows of 9,000")


def test_kernel_svm_becomes_linear_when_too_few_rows_would_fit() -> None:
    model = make_pipeline(StandardScaler(), SVC(C=10.0))
    X, y = table(9_000, 1_200)
    sized, X_fit, line = decide(model, X, y, 300.0, cost_table(per_row=1e-4, kernel=2e-5))
    assert isinstance(sized.steps[-1][1], LinearSVC) and X_fit is X
    assert line.startswith("sizing: 9,000 rows x 1,200 features: SVC would take ~1,621 s of a "
                           "300 s cell; using LinearSVC instead of SVC")
    assert isinstance(model.steps[-1][1], SVC)  # the recipe's own model is left alone


def test_leave_one_out_ridge_on_text_switches_to_three_folds() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    model = Pipeline([("tfidf", TfidfVectorizer()), ("ridge", RidgeCV(np.logspace(-1, 3, 9)))])
    X = pd.Series([f"sentence number {i}" for i in range(5_500)]).to_frame("text")
    y = np.linspace(0, 5, 5_500)
    assert sizing_exponent(model, wide=True) == 3.0
    sized, X_fit, line = decide(model, X, y, 300.0, cost_table(per_row=1e-4, loo=1e-9))
    assert sized.named_steps["ridge"].cv == 3 and X_fit is X
    assert model.named_steps["ridge"].cv is None  # the recipe's own model is left alone
    assert line == ("sizing: 5,500 rows x 1 text column: using RidgeCV 3-fold over its alphas "
                    "instead of leave-one-out (n x n work on wide features); ~1 s of a 300 s "
                    "cell; fitting as written")


def test_dense_narrow_ridge_is_linear_in_rows() -> None:
    model = make_pipeline(StandardScaler(), RidgeCV())
    assert sizing_exponent(model, wide=False) == 1.0
    sized, _, line = decide(model, *table(20_000), 300.0, cost_table(per_row=1e-4))
    assert sized is model and line.endswith("fitting as written")


def test_stack_and_search_get_fewer_folds_then_fewer_draws() -> None:
    stack = StackingRegressor([("ridge", make_pipeline(StandardScaler(), RidgeCV()))],
                              final_estimator=RidgeCV(), cv=5)
    X, y = table(10_000)
    sized, _, line = decide(stack, X, y, 60.0, cost_table(per_row=1e-3))  # 60 s, 6 fits
    assert sized.cv == 3 and "StackingRegressor 3 folds" in line

    search = RandomizedSearchCV(RandomForestClassifier(n_estimators=300),
                                {"max_depth": [3, 5, None]}, n_iter=10, cv=3)
    sized, _, line = decide(search, X, y, 300.0, cost_table(per_row=1e-4))  # 30 fits: 30 s
    assert sized is search
    sized, _, line = decide(search, X, y, 50.0, cost_table(per_row=1e-4))
    assert sized.cv == 2 and sized.n_iter == 10  # 20 fits: 20 s of the 25 s share
    sized, _, line = decide(search, X, y, 30.0, cost_table(per_row=1e-4))
    assert sized.cv == 2 and sized.n_iter == 5 and "5 search draws" in line
    assert sized.estimator.n_estimators == 300  # searched estimators keep their settings


def test_boosting_and_forests_halve_then_rows_are_subsampled() -> None:
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1)
    X, y = table(50_000)
    sized, X_fit, line = decide(model, X, y, 300.0, cost_table(per_row=1e-2))  # 500 s
    assert sized.max_iter == 100 and sized.learning_rate == pytest.approx(0.2)
    # the cost table does not see the halving: rows are cut to the 150 s share
    assert X_fit.shape[0] == 15_000
    assert "fitted on 15,000 random rows of 50,000" in line


def test_the_fit_gets_half_of_what_the_pilots_left() -> None:
    """A search's pilots are searches too: what they took is not left for the fit, which gets
    half of the rest of the cell (the same margin however long they took), and a pilot is not
    measured again when even half its estimate would not fit."""
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1)
    X, y = table(50_000)
    costs = cost_table(per_row=1e-2)
    now, pilots = [0.0], []

    def pilot(model, X, y, rows, seed=0):  # a stopwatch that runs as long as the fit 'takes'
        pilots.append(rows)
        now[0] += costs(model, X, y, rows, seed)
        return costs(model, X, y, rows, seed)

    _, X_fit, line = decide(model, X, y, 300.0, pilot, clock=lambda: now[0])
    # warm-up, 1,000 and 2,000 rows for the model, again for its halved iterations: 64 s
    assert pilots == [200, 1000, 2000] * 2 and now[0] == pytest.approx(64.0)
    assert X_fit.shape[0] == 11_800  # half of the 236 s left, at 0.01 s a row
    assert "fitted on 11,800 random rows of 50,000" in line
    _, X_fit, _ = decide(model, X, y, 300.0, costs)
    assert X_fit.shape[0] == 15_000  # a clock that stands still: half the cell


def test_pilots_that_took_most_of_the_cell_still_leave_the_fit_its_share() -> None:
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1)
    X, y = table(50_000)
    spent = iter([0.0] + [250.0] * 100)  # the pilots took 250 s of a 300 s cell
    _, X_fit, line = decide(model, X, y, 300.0, cost_table(per_row=1e-3),
                            clock=lambda: next(spent))
    assert X_fit.shape[0] == 25_000  # 25 s, half of the 50 s left, at 1 ms a row
    assert "fitted on 25,000 random rows of 50,000" in line


def test_cost_model_through_two_pilots() -> None:
    # linear: a fixed overhead and a per-row cost
    coefficients = sizing_coefficients(1.5, 2.0, 500, 1000, 1.0)
    assert coefficients == pytest.approx((1.0, 0.001, 0.0))
    assert sizing_estimate(coefficients, 1.0, 10_000) == pytest.approx(11.0)
    # quadratic: t = 1e-4·m + 1e-6·m²
    t1, t2 = 1e-4 * 500 + 1e-6 * 500**2, 1e-4 * 1000 + 1e-6 * 1000**2
    coefficients = sizing_coefficients(t1, t2, 500, 1000, 2.0)
    assert coefficients == pytest.approx((0.0, 1e-4, 1e-6))
    assert sizing_rows(coefficients, 2.0, 100.0, 50_000) == 9_950
    # timings that do not grow faster than linear are extrapolated linearly
    assert sizing_coefficients(1.0, 1.2, 500, 1000, 2.0)[2] == 0.0


def _write_table(root: Path, rows: int) -> Task:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows),
                          "label": rng.integers(0, 2, rows)})
    frame.to_csv(root / "train.csv", index=False)
    return Task(name="t", description="Predict label.", data_files=["train.csv"],
                baseline="baseline.py", target="label",
                metric=MetricSpec(name="accuracy", direction="maximize"), root=root)


def test_cells_carry_the_timeout_and_sizing_code_only_for_large_data(tmp_path: Path) -> None:
    task = _write_table(tmp_path, 3_000)
    assert train_rows(tmp_path / "train.csv") == 3_000
    code = RECIPES.get("svm_rbf").code(task, cell_timeout=123)
    assert "CELL_TIMEOUT = float(globals().get('cell_timeout', 123))" in code
    assert "model, X_fit, y_fit = size_to_budget(model, X_train, y_train, CELL_TIMEOUT" in code
    assert cell_code() in code
    compile(code, "<cell>", "exec")
    default = RECIPES.get("svm_rbf").code(task)
    assert f"globals().get('cell_timeout', {task.budget.cell_timeout_s:g})" in default

    wine = load_task("wine")  # a bundled task: its cells run exactly as written
    for recipe in recipes_for(wine):
        code = recipe.code(wine)
        assert "size_to_budget" not in code and "CELL_TIMEOUT" not in code
        assert "model.fit(X_train, y_train)" in code
