"""Baseline: a linear regression of the heating load on floor area and heating degree days."""

import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

FEATURES = ["floor_area", "degree_days"]

data = pd.read_csv("train.csv")
train, valid = train_test_split(data, test_size=0.2, random_state=0)
model = LinearRegression().fit(train[FEATURES], train["heat_load"])
print(f"Validation MAE: {mean_absolute_error(valid['heat_load'], model.predict(valid[FEATURES])):.3f}")

model.fit(data[FEATURES], data["heat_load"])
test = pd.read_csv("test.csv")
submission = pd.DataFrame({"id": test["id"], "heat_load": model.predict(test[FEATURES])})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv: {len(submission)} rows")
