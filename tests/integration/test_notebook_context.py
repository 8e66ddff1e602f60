"""``%mlr_experiment --context notebook``: the data's schema and the recent cells, redacted, go
into the step prompt and, verbatim, into the record and the journal; by default nothing does.

The prompt, the choice of cells and the redaction are tested in-process in
tests/unit/test_notebook_context.py."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter.experiment.journal import Journal

LEAKY_KEY = "sk-proj-AbCdEf0123456789leaky"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")


def cell(ip: InteractiveShell, source: str) -> None:
    result = ip.run_cell(source, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec


def make_frame(ip: InteractiveShell) -> None:
    cell(ip, "import numpy as np, pandas as pd\n"
             "rng = np.random.default_rng(0)\n"
             "measurements = pd.DataFrame({'length': rng.normal(size=120),"
             " 'site': rng.choice(['north', 'south'], 120)})\n"
             "measurements['species'] = np.where(measurements['length'] > 0, 'A', 'B')")
    cell(ip, f'OPENAI_API_KEY = "{LEAKY_KEY}"\nhub_token = "my-private-hub-token"')
    cell(ip, "lengths_by_site = measurements.groupby('site')['length'].mean()  # explored")


def test_context_notebook_is_recorded_and_redacted(ip: InteractiveShell, tmp_path: Path) -> None:
    make_frame(ip)
    out = tmp_path / "ctx"
    cell(ip, f"%mlr_experiment --data measurements --target species --max-steps 0 --wait "
             f"--out {out} --context notebook")
    sent = Journal.load(out / "journal.json").settings["context"]
    assert "Data `measurements`: 120 rows x 3 columns; target `species`" in sent  # the schema
    assert "| length | float64 | 0 | min " in sent and "'north'" in sent  # dtypes, ranges, tops
    assert "lengths_by_site = measurements.groupby('site')" in sent  # a recent cell
    assert "%mlr_experiment" not in sent and "run_line_magic" not in sent
    assert LEAKY_KEY not in sent and "my-private-hub-token" not in sent
    assert 'hub_token = "***"' in sent
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    shown = [c for c in record.cells if c.get("id") == "mlr-context"]
    assert len(shown) == 1 and sent in shown[0].source
    assert "Notebook context sent to the LLM" in shown[0].source
    assert "offline engine in use does not read it" in shown[0].source  # honest
    assert LEAKY_KEY not in (out / "experiment.ipynb").read_text()


def test_default_sends_and_records_no_context(ip: InteractiveShell, tmp_path: Path) -> None:
    make_frame(ip)
    out = tmp_path / "plain"
    cell(ip, f"%mlr_experiment --data measurements --target species --max-steps 0 --wait "
             f"--out {out}")
    assert Journal.load(out / "journal.json").settings["context"] is None
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    assert not [c for c in record.cells if c.get("id") == "mlr-context"]
    assert "lengths_by_site" not in (out / "experiment.ipynb").read_text()


def test_context_with_a_task_folder_sends_only_cells(ip: InteractiveShell, tmp_path: Path) -> None:
    ip.user_ns["unused"] = pd.DataFrame({"a": np.arange(3)})
    cell(ip, "notes = 'compare against last week'")
    out = tmp_path / "task-ctx"
    cell(ip, f"%mlr_experiment --task wine --max-steps 0 --wait --out {out} --context notebook")
    sent = Journal.load(out / "journal.json").settings["context"]
    assert "notes = 'compare against last week'" in sent and "Data schema" not in sent
