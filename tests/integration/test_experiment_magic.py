"""``%mlr_experiment`` runs through a real IPython shell, and in a fresh kernel through nbclient.

Its usage errors and help, which start no run, are tested in tests/unit/test_experiment_magic.py."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from nbclient import NotebookClient

from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.jupyter_ui.magics import get_magics

PLAN = "Standardise the features and fit an RBF support vector machine."


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")




def test_wait_runs_to_the_end_and_writes_the_record(
    ip: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run1"
    ip.run_line_magic("mlr_experiment", f"--task wine --max-steps 2 --wait --out {out}")
    run = ip.user_ns["_mlr_run"]
    assert run is get_magics(ip).current_run and run.done and run.error is None
    journal = Journal.load(out / "journal.json")
    assert journal.status == "done" and len(journal.nodes) == 3
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    assert record.metadata["mlr_copilot"]["run_id"] == "run1"
    assert (out / "report.md").exists()
    shown = capsys.readouterr().out
    assert f"{run.summary['relative_improvement']:+.1%}" in shown  # the Markdown summary


def test_sandbox_option_and_config_choose_the_runs_sandbox(
    ip: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--sandbox`` / ``--allow-network`` on the magic, ``%config MLRCopilot.sandbox`` for every
    run; ``require`` without bubblewrap is one UsageError line and starts nothing."""
    ip.run_line_magic("mlr_experiment", f"--task wine --max-steps 1 --wait --allow-network "
                                        f"--out {tmp_path / 'net'}")
    sandbox = Journal.load(tmp_path / "net" / "journal.json").sandbox
    assert sandbox["active"] and sandbox["description"] == (
        "bubblewrap: network allowed, workspace-only writes")
    ip.run_line_magic("config", 'MLRCopilot.sandbox = "off"')
    ip.run_line_magic("mlr_experiment", f"--task wine --max-steps 1 --wait --out {tmp_path / 'off'}")
    assert Journal.load(tmp_path / "off" / "journal.json").sandbox["description"] == (
        "none: --sandbox off")
    with pytest.raises(UsageError, match="invalid choice: 'bogus'"):
        ip.run_line_magic("mlr_experiment", "--task wine --wait --sandbox bogus")
    monkeypatch.setenv("MLR_COPILOT_BWRAP", str(tmp_path / "no-bwrap-here"))
    with pytest.raises(UsageError, match="--sandbox require: no working bubblewrap"):
        ip.run_line_magic("mlr_experiment", f"--task wine --wait --sandbox require "
                                            f"--out {tmp_path / 'req'}")
    assert not (tmp_path / "req").exists()


def test_cell_body_is_the_plan(ip: InteractiveShell, tmp_path: Path) -> None:
    out = tmp_path / "run2"
    ip.run_cell_magic("mlr_experiment", f"--task wine --max-steps 1 --wait --out {out}", PLAN + "\n")
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    assert record.metadata["mlr_copilot"]["plan_text"] == PLAN
    assert Journal.load(out / "journal.json").settings["plan_text"] == PLAN


def test_background_run_takes_feedback_and_stop_from_the_magic(
    ip: InteractiveShell, tmp_path: Path
) -> None:
    ip.run_line_magic("mlr_experiment", f"--task wine --max-steps 10 --out {tmp_path / 'bg'}")
    run = ip.user_ns["_mlr_run"]
    assert not run.done  # returned at once
    with pytest.raises(UsageError, match="still running"):
        ip.run_line_magic("mlr_experiment", "--task wine")
    ip.run_line_magic("mlr_experiment", '--feedback "try fewer features"')
    ip.run_line_magic("mlr_experiment", "--stop")
    assert run.wait(60) and run.error is None
    journal = Journal.load(run.run_dir / "journal.json")
    assert journal.message.startswith("stopped by the user")
    assert "try fewer features" in journal.feedback
    assert sum(n.kind != "baseline" for n in journal.nodes) < 10


def test_insert_hands_successful_nodes_to_the_lab_hook(ip: InteractiveShell, tmp_path: Path) -> None:
    inserted: list[str] = []
    get_magics(ip).insert_node_cells = lambda node: inserted.append(node.id)
    ip.run_line_magic("mlr_experiment",
                      f"--task wine --max-steps 1 --wait --insert --out {tmp_path / 'ins'}")
    assert inserted == ["n0", "n1"]


def test_fresh_kernel_runs_an_experiment_with_wait(tmp_path: Path) -> None:
    out = tmp_path / "nbrun"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlr_copilot_jupyter"),
        nbformat.v4.new_code_cell(f"%mlr_experiment --task wine --max-steps 2 --wait --out {out}"),
        nbformat.v4.new_code_cell("import json; print(json.dumps(_mlr_run.summary))"),
    ]
    NotebookClient(nb, timeout=90, resources={"metadata": {"path": str(tmp_path)}}).execute()
    summary = json.loads(nb.cells[2].outputs[0]["text"])
    assert summary["status"] == "done" and summary["steps"] == 2 and summary["verified"]
    shown = [o["data"] for o in nb.cells[1].outputs if o.get("output_type") == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in d for d in shown)  # the monitor
    assert any("Relative improvement" in d.get("text/markdown", "") for d in shown)
    assert Journal.load(out / "journal.json").status == "done"
