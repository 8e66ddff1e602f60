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


def test_the_cli_summary_says_where_validation_came_from_and_which_answers_were_held_out(
        capsys) -> None:  # type: ignore[no-untyped-def]
    from mlr_copilot_jupyter.cli.experiment_cmd import print_summary

    summary = RunSummary(
        run_id="r1", task="semrel", status="done", metric="spearman", direction="maximize",
        baseline_metric=0.87, best_metric=0.94, verified=True, best_node="n3",
        relative_improvement=0.077, selection="validation", selection_note="selected on validation",
        validation="the baseline rerun on 500 rows of the labelled dev file data/eng/eng_dev.csv",
        answers_held_out=["data/eng/eng_test.csv (label column label)"], test_source="eval.py",
        baseline_test_metric=0.85, best_test_metric=0.93, test_improvement=0.095,
        record="/runs/r1/experiment.ipynb", report="/runs/r1/report.md")
    print_summary(dict(summary), as_json=False)
    out = capsys.readouterr().out
    assert "validation of the baseline: the baseline rerun on 500 rows" in out
    assert "answers kept out of the workspace: data/eng/eng_test.csv (label column label)" in out
