"""Baseline for diabetes: a linear regression on body mass index alone.

Fit on train.csv, report the validation metric (valid.csv), then predict the features-only
test.csv and write submission.csv (the copilot scores it on the held-out labels).
"""

import json

import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error

if "report_metric" not in globals():  # predefined in the experiment kernel; plain-script fallback

    def report_metric(name, value):
        print("MLR_METRIC " + json.dumps({"name": name, "value": float(value)}), flush=True)
        return value


train = pd.read_csv("train.csv")
valid = pd.read_csv("valid.csv")
test = pd.read_csv("test.csv")  # features only: the test labels are held out
X_train, y_train = train.drop(columns=["target"]), train["target"]
X_valid, y_valid = valid.drop(columns=["target"]), valid["target"]

FEATURES = list(["bmi"])

model = LinearRegression()
model.fit(X_train[FEATURES], y_train)
mae = mean_absolute_error(y_valid, model.predict(X_valid[FEATURES]))
print(f"validation MAE: {mae:.3f}")
report_metric("mae", mae)

pd.DataFrame({"target": model.predict(test[FEATURES])}).to_csv("submission.csv", index=False)
