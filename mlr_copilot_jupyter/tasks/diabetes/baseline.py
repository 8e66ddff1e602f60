"""Baseline for diabetes: a linear regression on body mass index alone."""

import json

import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error

if "report_metric" not in globals():  # predefined in the experiment kernel; plain-script fallback

    def report_metric(name, value):
        print("MLR_METRIC " + json.dumps({"name": name, "value": float(value)}), flush=True)
        return value


train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
X_train, y_train = train.drop(columns=["target"]), train["target"]
X_test, y_test = test.drop(columns=["target"]), test["target"]

FEATURES = ["bmi"]

model = LinearRegression()
model.fit(X_train[FEATURES], y_train)
mae = mean_absolute_error(y_test, model.predict(X_test[FEATURES]))
print(f"test MAE: {mae:.3f}")
report_metric("mae", mae)
