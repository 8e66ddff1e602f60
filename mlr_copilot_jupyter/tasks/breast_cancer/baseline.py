"""Baseline for breast_cancer: a depth-2 decision tree on two hand-picked features.

Fit on train.csv, report the validation metric (valid.csv), then predict the features-only
test.csv and write submission.csv (the copilot scores it on the held-out labels).
"""

import json

import pandas as pd
from sklearn.metrics import f1_score
from sklearn.tree import DecisionTreeClassifier

if "report_metric" not in globals():  # predefined in the experiment kernel; plain-script fallback

    def report_metric(name, value):
        print("MLR_METRIC " + json.dumps({"name": name, "value": float(value)}), flush=True)
        return value


train = pd.read_csv("train.csv")
valid = pd.read_csv("valid.csv")
test = pd.read_csv("test.csv")  # features only: the test labels are held out
X_train, y_train = train.drop(columns=["target"]), train["target"]
X_valid, y_valid = valid.drop(columns=["target"]), valid["target"]

FEATURES = list(["mean texture", "mean smoothness"])

model = DecisionTreeClassifier(max_depth=2, random_state=0)
model.fit(X_train[FEATURES], y_train)
f1 = f1_score(y_valid, model.predict(X_valid[FEATURES]))
print(f"validation F1: {f1:.4f}")
report_metric("f1", f1)

pd.DataFrame({"target": model.predict(test[FEATURES])}).to_csv("submission.csv", index=False)
