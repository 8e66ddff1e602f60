"""Recipes sized to the data and the cell timeout (issue #24 item 5).

A recipe written for a few thousand rows can blow a 300 s cell on a larger table: ``RidgeCV``'s
leave-one-out mode does n x n work on sparse TF-IDF features, an RBF-kernel SVM grows ~n², a
search or a stack multiplies every fit. When the training data has more than
:data:`SIZING_MIN_ROWS` rows the generated cell times the recipe on two small subsamples, projects
that to all rows (linear in n, ~n² for kernel SVMs and neighbours, ~n³ for leave-one-out ridge on
wide features) and, when the fit would take more than :data:`SIZING_SHARE` of what is left of the
cell timeout after its timing fits, shrinks it step by step until it fits:

1. cheaper validation, same models: ``RidgeCV`` 3-fold over its alphas instead of leave-one-out
   (``gcv_mode="svd"`` on dense data), 3 folds for stacks and calibration, 2 for searches;
2. a kernel SVM on a subsample of the rows when at least :data:`SIZING_KERNEL_ROWS` of them fit;
3. lighter models: ``LinearSVC``/``LinearSVR`` for kernel SVMs, half the trees, half the boosting
   iterations (twice the learning rate), half the search draws;
4. a random subsample of the training rows, as many as fit.

The cell prints one ``sizing:`` line saying what it measured and what it did. Small data (the
bundled tasks) gets no sizing code at all, so those cells run exactly as written.

The code between the ``cell code`` markers below is copied verbatim into the generated cells (a
record notebook must run without this package); the unit tests import the same functions.
"""

from __future__ import annotations

import inspect as _inspect
import sys as _sys
from pathlib import Path

# --- cell code: start ---
SIZING_MIN_ROWS = 2000  # up to this many training rows a recipe runs as written
SIZING_SHARE = 0.5  # the model's fit may take this share of the cell time the pilots left
SIZING_PILOT_ROWS = (500, 1000)  # the two subsample sizes the cost is measured on ...
SIZING_LARGE_PILOT_ROWS = (1000, 2000)  # ... from this many training rows on
SIZING_LARGE_ROWS = 8000
SIZING_WARMUP_ROWS = 200  # a first, untimed fit pays the one-time costs (imports, thread pools)
SIZING_KERNEL_ROWS = 3000  # a kernel SVM keeps its kernel on a subsample at least this large
SIZING_MIN_FIT_ROWS = 1000  # never fit on fewer rows than this
_SIZING_KERNELS = ("SVC", "SVR", "NuSVC", "NuSVR")
_SIZING_SEARCHES = ("RandomizedSearchCV", "GridSearchCV", "HalvingRandomSearchCV")


def sizing_parts(model):
    """The model and every estimator nested in it, as (parameter path, estimator) pairs."""
    parts = [("", model)]
    if hasattr(model, "get_params"):
        for path, value in model.get_params(deep=True).items():
            if hasattr(value, "fit") and hasattr(value, "get_params") and not isinstance(value, type):
                parts.append((path, value))
    return parts


def _sizing_kernel(part):
    return type(part).__name__ in _SIZING_KERNELS and getattr(part, "kernel", "rbf") != "linear"


def _sizing_loo_ridge(path, part):
    """A RidgeCV in leave-one-out mode that sees the model's input (not a stack's meta-model)."""
    return (type(part).__name__ == "RidgeCV" and part.cv is None and part.gcv_mode != "svd"
            and not path.startswith("final_estimator") and "__final_estimator" not in path)


def sizing_exponent(model, wide):
    """How the fit's cost grows with the rows: 1 (linear), 2 (kernel SVMs, neighbours) or 3
    (leave-one-out ridge on ``wide`` input: sparse, text, or more features than rows)."""
    exponent = 1.0
    for path, part in sizing_parts(model):
        name = type(part).__name__
        if _sizing_kernel(part) or name.startswith("KNeighbors"):
            exponent = max(exponent, 2.0)
        elif wide and _sizing_loo_ridge(path, part):
            exponent = max(exponent, 3.0)
    return exponent


def sizing_coefficients(t1, t2, m1, m2, exponent):
    """(a, b1, b2) of the cost model through the two pilot times: t(m) = a + b1·m (linear
    recipes, ``a`` the fixed overhead) or t(m) = b1·m + b2·m^exponent (super-linear ones)."""
    if exponent <= 1.0 or t2 <= t1 * m2 / m1:
        b1 = max(t2 - t1, 0.0) / (m2 - m1)
        return max(t2 - b1 * m2, 0.0), b1, 0.0
    b2 = (t2 * m1 - t1 * m2) / (m1 * m2**exponent - m2 * m1**exponent)
    b2 = max(b2, 0.0)
    return 0.0, max(t2 - b2 * m2**exponent, 0.0) / m2, b2


def sizing_estimate(coefficients, exponent, rows):
    """Seconds the fit takes on ``rows`` rows under the cost model."""
    a, b1, b2 = coefficients
    return a + b1 * rows + b2 * rows**exponent


def sizing_rows(coefficients, exponent, budget, rows):
    """The most rows (at most ``rows``) whose projected fit stays within ``budget`` seconds."""
    if sizing_estimate(coefficients, exponent, rows) <= budget:
        return int(rows)
    low, high = 0, int(rows)
    while high - low > 1:
        middle = (low + high) // 2
        if sizing_estimate(coefficients, exponent, middle) <= budget:
            low = middle
        else:
            high = middle
    return low


def sizing_variant(model, level, wide, seed=0):
    """A cheaper copy of ``model``: level 1 validates more cheaply, level 2 also swaps in lighter
    models. Returns (model, what changed); an empty list when nothing applied."""
    from sklearn.base import clone

    model = clone(model)
    changes = []
    in_search = [p for p, part in sizing_parts(model) if type(part).__name__ in _SIZING_SEARCHES]

    def searched(path):
        return any(path == s or path.startswith(s + "__" if s else "") for s in in_search)

    for path, part in sizing_parts(model):
        name = type(part).__name__
        new = {}
        if level >= 1:
            if _sizing_loo_ridge(path, part) and wide:
                new["cv"] = 3
                changes.append("RidgeCV 3-fold over its alphas instead of leave-one-out")
            elif _sizing_loo_ridge(path, part) and part.gcv_mode is None:
                new["gcv_mode"] = "svd"
                changes.append('RidgeCV(gcv_mode="svd")')
            if name.startswith("Stacking") and (part.cv is None or part.cv in (4, 5)):
                new["cv"] = 3
                changes.append(f"{name} 3 folds")
            if name == "CalibratedClassifierCV" and part.cv is None:
                new["cv"] = 3
                changes.append("calibration 3 folds")
            if name in _SIZING_SEARCHES and part.cv in (None, 3, 4, 5):
                new["cv"] = 2
                changes.append(f"{name} 2 folds")
        if level >= 2:
            if name in _SIZING_SEARCHES and getattr(part, "n_iter", 0) > 4:
                new["n_iter"] = max(4, part.n_iter // 2)
                changes.append(f"{new['n_iter']} search draws")
            if (name.startswith(("RandomForest", "ExtraTrees"))
                    and part.n_estimators > 100 and not searched(path)):
                new["n_estimators"] = max(100, part.n_estimators // 2)
                changes.append(f"{name} {new['n_estimators']} trees")
            if name.startswith("HistGradientBoosting") and part.max_iter > 100 and not searched(path):
                new["max_iter"] = max(100, part.max_iter // 2)
                new["learning_rate"] = min(0.3, part.learning_rate * part.max_iter / new["max_iter"])
                changes.append(f"{name} {new['max_iter']} iterations")
        if new:
            part.set_params(**new)
        if level >= 2 and path and _sizing_kernel(part) and not searched(path):
            if name in ("SVC", "NuSVC"):
                from sklearn.svm import LinearSVC

                lighter = LinearSVC(C=1.0, max_iter=5000, random_state=seed)
            else:
                from sklearn.svm import LinearSVR

                lighter = LinearSVR(C=1.0, epsilon=float(getattr(part, "epsilon", 0.0)),
                                    max_iter=5000, random_state=seed)
            model.set_params(**{path: lighter})
            changes.append(f"{type(lighter).__name__} instead of {name}")
    return model, changes


def _sizing_take(data, index):
    if hasattr(data, "iloc"):
        return data.iloc[index]
    return data[index]


def sizing_subsample(X, y, rows, seed=0):
    """``rows`` random training rows (stratified by label for classifiers when possible)."""
    import numpy as np

    total = X.shape[0]
    if rows >= total:
        return X, y
    index = np.random.default_rng(seed).permutation(total)[:rows]
    try:
        from sklearn.model_selection import train_test_split

        labels = np.asarray(y)
        if labels.dtype.kind in "OUSbi" and len(np.unique(labels)) <= 50:
            index, _ = train_test_split(np.arange(total), train_size=rows, random_state=seed,
                                        stratify=labels)
    except ValueError:  # a class too small to stratify: the plain random rows
        pass
    index = np.sort(index)
    return _sizing_take(X, index), _sizing_take(y, index)


def sizing_pilot(model, X, y, rows, seed=0):
    """Seconds to fit a copy of ``model`` on ``rows`` random rows and predict them; None when
    the fit fails on so few rows."""
    import time
    import warnings

    from sklearn.base import clone

    Xs, ys = sizing_subsample(X, y, rows, seed)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clone(model).fit(Xs, ys).predict(Xs)
    except Exception:  # a pilot failing on few rows says nothing about the full fit
        return None
    return time.perf_counter() - start


def _sizing_text(dtype):
    return str(dtype) in ("object", "string", "str")


def _sizing_wide(X):
    try:
        import scipy.sparse

        if scipy.sparse.issparse(X):
            return True
    except ImportError:
        pass
    if hasattr(X, "dtypes"):
        return any(_sizing_text(dtype) for dtype in X.dtypes) or X.shape[1] >= X.shape[0]
    return X.shape[1] >= X.shape[0]


def _sizing_shape(X):
    rows, columns = X.shape[0], X.shape[1] if len(X.shape) > 1 else 1
    text = hasattr(X, "dtypes") and all(_sizing_text(dtype) for dtype in X.dtypes)
    unit = "text column" if text else "feature"
    return f"{rows:,} rows x {columns:,} {unit}{'s' if columns != 1 else ''}"


def _sizing_name(model):
    """What the line calls the model: its kernel SVM, else the outer estimator (a pipeline's
    last step)."""
    kernels = [type(part).__name__ for _, part in sizing_parts(model) if _sizing_kernel(part)]
    if kernels:
        return kernels[0]
    if hasattr(model, "steps"):
        return type(model.steps[-1][1]).__name__
    return type(model).__name__


def size_to_budget(model, X, y, timeout, seed=0, pilot=sizing_pilot, log=print, clock=None):
    """(model, X, y) to fit within :data:`SIZING_SHARE` of what is left of ``timeout`` seconds
    after the timing fits (a search's pilots are searches too: on a 20 s cell they took ~8 s).
    The same margin whatever they took: the fit may take twice its estimate and the cell still
    ends in time. Says what it did in one ``sizing:`` line. ``pilot(model, X, y, rows, seed)`` times a
    fit on ``rows`` rows; ``clock()`` reads the seconds spent (``time.perf_counter``)."""
    import time

    rows = X.shape[0]
    if rows <= SIZING_MIN_ROWS:
        return model, X, y
    clock = clock or time.perf_counter
    started = clock()

    def left():
        return max(0.0, SIZING_SHARE * (timeout - (clock() - started)))
    wide = _sizing_wide(X)
    shape = _sizing_shape(X)
    m1, m2 = SIZING_LARGE_PILOT_ROWS if rows >= SIZING_LARGE_ROWS else SIZING_PILOT_ROWS

    def cost(candidate):
        exponent = sizing_exponent(candidate, wide)
        pilot(candidate, X, y, SIZING_WARMUP_ROWS, seed)
        t1 = pilot(candidate, X, y, m1, seed)
        t2 = None if t1 is None else pilot(candidate, X, y, m2, seed)
        if t1 is None or t2 is None:
            return None
        coefficients = sizing_coefficients(t1, t2, m1, m2, exponent)
        if left() < sizing_estimate(coefficients, exponent, rows) <= 2 * left():
            # timings on a busy machine jump: measure again before shrinking, keep the faster
            # (not when even half the estimate would not fit: the pilots cost the fit's time)
            t1 = min(t1, pilot(candidate, X, y, m1, seed) or t1)
            t2 = min(t2, pilot(candidate, X, y, m2, seed) or t2)
            coefficients = sizing_coefficients(t1, t2, m1, m2, exponent)
        return coefficients, exponent, sizing_estimate(coefficients, exponent, rows)

    forced = []
    if wide and any(_sizing_loo_ridge(path, part) for path, part in sizing_parts(model)):
        # leave-one-out on sparse/wide features is n x n work the small pilots hardly see
        from sklearn.base import clone

        model = clone(model)
        for path, part in sizing_parts(model):
            if _sizing_loo_ridge(path, part):
                part.set_params(cv=3)
        forced = ["RidgeCV 3-fold over its alphas instead of leave-one-out (n x n work on wide "
                  "features)"]
    first = cost(model)
    if first is None:
        log(f"sizing: {shape}: the timing fit on {m2:,} rows failed; fitting "
            + ("with " + forced[0] if forced else "as written"))
        return model, X, y
    full = first[2]
    if full <= left():
        log(f"sizing: {shape}: " + (f"using {forced[0]}; " if forced else "")
            + f"~{full:,.0f} s of a {timeout:,.0f} s cell; fitting as written")
        return model, X, y
    head = (f"sizing: {shape}: {_sizing_name(model)} would take ~{full:,.0f} s of a "
            f"{timeout:,.0f} s cell; ")
    current, changes, estimate = model, list(forced), first
    kernel = any(_sizing_kernel(part) for _, part in sizing_parts(model))
    for level in (1, 2):
        if level == 2 and kernel:
            fit_rows = sizing_rows(estimate[0], estimate[1], left(), rows)
            if fit_rows >= SIZING_KERNEL_ROWS:
                Xs, ys = sizing_subsample(X, y, fit_rows, seed)
                changes.append(f"the kernel kept, fitted on {fit_rows:,} random rows of {rows:,}")
                projected = sizing_estimate(estimate[0], estimate[1], fit_rows)
                log(head + "using " + "; ".join(changes) + f" (~{projected:,.0f} s)")
                return current, Xs, ys
        candidate, done = sizing_variant(model, level, wide, seed)
        if not done:
            continue
        measured = cost(candidate)
        if measured is None:
            continue
        current, changes, estimate = candidate, forced + done, measured
        if estimate[2] <= left():
            log(head + "using " + "; ".join(changes) + f" (~{estimate[2]:,.0f} s)")
            return current, X, y
    fit_rows = max(min(sizing_rows(estimate[0], estimate[1], left(), rows), rows),
                   min(SIZING_MIN_FIT_ROWS, rows))
    Xs, ys = sizing_subsample(X, y, fit_rows, seed)
    changes.append(f"fitted on {fit_rows:,} random rows of {rows:,}")
    projected = sizing_estimate(estimate[0], estimate[1], fit_rows)
    log(head + "using " + "; ".join(changes) + f" (~{projected:,.0f} s)")
    return current, Xs, ys
# --- cell code: end ---


def cell_code() -> str:
    """The sizing helpers as they are copied into a generated cell."""
    source = _inspect.getsource(_sys.modules[__name__])
    start = source.index("# --- cell code: start ---")
    end = source.index("# --- cell code: end ---")
    return source[start:end].rstrip() + "\n"


def train_rows(path: Path) -> int | None:
    """Data rows of a training file (lines, less a CSV/TSV header); None when unreadable."""
    try:
        with path.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
            handle.seek(0, 2)
            size = handle.tell()
            if size:
                handle.seek(size - 1)
                lines += handle.read(1) != b"\n"
    except OSError:
        return None
    if path.suffix.lower() == ".json":  # one document: lines say nothing about rows
        return None
    if path.suffix.lower() in (".csv", ".tsv"):
        lines -= 1
    return max(lines, 0)
