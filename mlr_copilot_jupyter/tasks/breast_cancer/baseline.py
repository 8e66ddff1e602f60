"""Baseline for breast_cancer: a depth-2 decision tree on two hand-picked features."""

import json

import pandas as pd
from sklearn.metrics import f1_score
from sklearn.tree import DecisionTreeClassifier

if "report_metric" not in globals():  # predefined in the experiment kernel; plain-script fallback

    def report_metric(name, value):
        print("MLR_METRIC " + json.dumps({"name": name, "value": float(value)}), flush=True)
        return value


train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
X_train, y_train = train.drop(columns=["target"]), train["target"]
X_test, y_test = test.drop(columns=["target"]), test["target"]

FEATURES = ["mean texture", "mean smoothness"]

model = DecisionTreeClassifier(max_depth=2, random_state=0)
model.fit(X_train[FEATURES], y_train)
f1 = f1_score(y_test, model.predict(X_test[FEATURES]))
print(f"test F1: {f1:.4f}")
report_metric("f1", f1)
