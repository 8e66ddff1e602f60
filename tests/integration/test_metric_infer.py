"""Metric name and direction reach a run: ``--direction``/``--metric`` on the installed CLI and on
``%mlr_experiment``, into the journal. Inference, warnings, overrides and the LLM confirmation are
tested in-process in tests/unit/test_metric_infer.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.experiments import run_cli

# --- --direction reaches the run ----------------------------------------------------------------


def test_cli_direction_override_reaches_the_journal(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli("experiment", "--backend", "offline", "--task", "diabetes", "--max-steps",
                     "0", "--no-verify", "--direction", "max", "--out", str(out), "--json",
                     timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    journal = json.loads((out / "journal.json").read_text())
    assert (journal["metric_name"], journal["direction"]) == ("mae", "maximize")
    bad = run_cli("experiment", "--task", "diabetes", "--metric", "no good", "--out",
                  str(tmp_path / "bad"))
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "mlr-copilot: error: --metric 'no good' is not a metric name; use a word such as "
        "accuracy, rmse or val_loss"]
    assert not (tmp_path / "bad").exists()


def test_magic_metric_and_direction(ip, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.jupyter_ui.magics_experiment import EXPERIMENT_DOC, _parser_holder

    usage = _parser_holder.__doc__ or ""
    assert "--metric NAME" in usage and "--direction {min,max,minimize,maximize}" in usage
    assert "--metric NAME --direction min|max" in EXPERIMENT_DOC
    with pytest.raises(UsageError, match="invalid choice: 'up'"):
        ip.run_line_magic("mlr_experiment", "--task wine --direction up --wait")
    with pytest.raises(UsageError, match=r"--metric '9lives' is not a metric name"):
        ip.run_line_magic("mlr_experiment", "--task wine --metric 9lives --wait")
    with pytest.raises(UsageError, match="a resumed run keeps the metric"):
        ip.run_line_magic("mlr_experiment", f"--resume {tmp_path} --direction min --wait")
    assert not any(tmp_path.iterdir())
    out = tmp_path / "run"
    ip.run_line_magic("mlr_experiment",
                      f"--task wine --max-steps 0 --metric f1_macro --wait --out {out}")
    journal = json.loads((out / "journal.json").read_text())
    assert (journal["metric_name"], journal["direction"]) == ("f1_macro", "maximize")
