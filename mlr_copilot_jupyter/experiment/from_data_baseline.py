"""The baseline script of a task made from the researcher's own data (:mod:`.from_data`).

A linear model (logistic regression / ridge) on the numeric columns and the one-hot encoded
low-cardinality categorical columns, missing values imputed. It reports the validation metric
with ``report_metric`` and writes ``submission.csv`` for the held-out scorer, in the format that
scorer reads (labels; positive-class scores for roc_auc; ``proba_<class>`` columns for log_loss).
"""

from __future__ import annotations

#: categorical columns with more distinct values than this are left out of the baseline
MAX_CATEGORIES = 50

_TEMPLATE = '''"""Baseline for {name}: {model_words}.

Numeric columns are median-imputed and standardised; categorical columns with at most
{max_categories} distinct values are one-hot encoded (most frequent value imputed); other text
columns are left out. Fit on train.csv, report the validation {metric} (valid.csv), then predict
the features-only test.csv and write submission.csv (the copilot scores it on the held-out labels).
"""

import json

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

if "report_metric" not in globals():  # predefined in the experiment kernel; plain-script fallback

    def report_metric(name, value):
        print("MLR_METRIC " + json.dumps({{"name": name, "value": float(value)}}), flush=True)
        return value


TARGET = {target!r}
METRIC = {metric!r}
TASK_TYPE = {task_type!r}

train = pd.read_csv("train.csv")
valid = pd.read_csv("valid.csv")
test = pd.read_csv("test.csv")  # features only: the test labels are held out
X_train, y_train = train.drop(columns=[TARGET]), train[TARGET]
X_valid, y_valid = valid.drop(columns=[TARGET]), valid[TARGET]

numeric = [c for c in X_train.columns if pd.api.types.is_numeric_dtype(X_train[c])
           and not pd.api.types.is_bool_dtype(X_train[c])]
categorical = [c for c in X_train.columns if c not in numeric
               and X_train[c].nunique(dropna=True) <= {max_categories}]
parts = []
if numeric:
    parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                  numeric))
if categorical:
    parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                       OneHotEncoder(handle_unknown="ignore")), categorical))
if not parts:  # no usable column: a constant feature, so the model predicts the prior / mean
    X_train, X_valid, test = (f.assign(_const=0.0) for f in (X_train, X_valid, test))
    parts.append(("const", "passthrough", ["_const"]))
features = ColumnTransformer(parts, remainder="drop")
for frame in (X_train, X_valid, test):  # one text type per categorical column for the encoder
    for column in categorical:
        frame[column] = frame[column].astype(object).map(lambda v: v if pd.isna(v) else str(v))

if TASK_TYPE == "classification":
    model = make_pipeline(features, LogisticRegression(max_iter=2000))
else:
    model = make_pipeline(features, Ridge(alpha=1.0))
model.fit(X_train, y_train)


def positive_scores(fitted, X):
    """Scores of the larger label (the held-out scorer's positive class)."""
    return fitted.predict_proba(X)[:, list(fitted.classes_).index(max(fitted.classes_))]


def score(y_true, X):
    pred = model.predict(X)
    if METRIC == "accuracy":
        return metrics.accuracy_score(y_true, pred)
    if METRIC == "balanced_accuracy":
        return metrics.balanced_accuracy_score(y_true, pred)
    if METRIC in ("f1", "precision", "recall", "f1_macro"):
        fn = {{"f1": metrics.f1_score, "f1_macro": metrics.f1_score,
              "precision": metrics.precision_score, "recall": metrics.recall_score}}[METRIC]
        labels = sorted(set(y_true) | set(pred))
        if METRIC != "f1_macro" and len(labels) <= 2:
            return fn(y_true, pred, pos_label=max(labels), average="binary", zero_division=0)
        return fn(y_true, pred, average="macro", zero_division=0)
    if METRIC == "roc_auc":
        return metrics.roc_auc_score(y_true == max(model.classes_), positive_scores(model, X))
    if METRIC == "log_loss":
        return metrics.log_loss(y_true, model.predict_proba(X), labels=model.classes_)
    if METRIC == "mae":
        return metrics.mean_absolute_error(y_true, pred)
    if METRIC == "mse":
        return metrics.mean_squared_error(y_true, pred)
    if METRIC == "rmse":
        return float(np.sqrt(metrics.mean_squared_error(y_true, pred)))
    if METRIC == "r2":
        return metrics.r2_score(y_true, pred)
    if METRIC == "pearson":
        return float(np.corrcoef(y_true, pred)[0, 1])
    if METRIC == "spearman":
        return float(pd.Series(y_true).rank().corr(pd.Series(pred).rank()))
    raise ValueError(f"unknown metric {{METRIC}}")


value = score(y_valid, X_valid)
print(f"validation {{METRIC}}: {{value:.4f}}")
report_metric(METRIC, value)

submission = pd.DataFrame({{TARGET: model.predict(test)}})
if METRIC == "roc_auc":
    submission[TARGET] = positive_scores(model, test)
if METRIC == "log_loss":
    for k, label in enumerate(model.classes_):
        submission[f"proba_{{label}}"] = model.predict_proba(test)[:, k]
submission.to_csv("submission.csv", index=False)
'''


def baseline_words(task_type: str) -> str:
    """One phrase naming the baseline model."""
    model = "logistic regression" if task_type == "classification" else "ridge regression"
    return f"{model} on numeric and one-hot categorical columns (missing values imputed)"


def baseline_script(*, name: str, target: str, metric: str, task_type: str) -> str:
    """The source of ``baseline.py`` for one task."""
    return _TEMPLATE.format(name=name, target=target, metric=metric, task_type=task_type,
                            model_words=baseline_words(task_type), max_categories=MAX_CATEGORIES)
