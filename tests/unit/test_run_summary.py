"""A run's summary: a plain dict for code and JSON, a small table in a notebook."""

from __future__ import annotations

import json

from mlr_copilot_jupyter.experiment.report import RunSummary


def test_run_summary_is_a_dict_with_a_notebook_table() -> None:
    summary = RunSummary(run_id="r1", task="wine", status="done", metric="accuracy",
                         direction="maximize", baseline_metric=0.6667, best_metric=0.98765,
                         verified=True, best_test_metric=None, message="verified <ok>",
                         record="/runs/r1/experiment.ipynb")
    assert summary["best_metric"] == 0.98765 and summary.to_dict() == dict(summary)
    assert json.loads(json.dumps(summary))["task"] == "wine"
    page = summary._repr_html_()
    assert "Run r1 on wine" in page and "verified &lt;ok&gt;" in page  # escaped
    assert "<td style='text-align:left'>0.9877</td>" in page  # 4 significant digits
    assert "best (held-out test)</th><td style='text-align:left'>—</td>" in page
