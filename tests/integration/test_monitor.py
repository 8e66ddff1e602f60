"""The experiment monitor on real offline runs in a background thread, driven through its buttons."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlr_copilot_jupyter import Copilot
from mlr_copilot_jupyter.experiment.background import BackgroundRun
from mlr_copilot_jupyter.experiment.journal import Journal
from mlr_copilot_jupyter.jupyter_ui.widgets import ExperimentMonitor

RUN_TIMEOUT = 60


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")


def start(tmp_path: Path, **options: object) -> tuple[Copilot, BackgroundRun, ExperimentMonitor]:
    copilot = Copilot(backend="offline")
    agent = copilot.prepare_experiment("wine", out=tmp_path / "run", **options)
    run = BackgroundRun(agent, copilot, start=False)
    monitor = ExperimentMonitor(run)
    run.start()
    return copilot, run, monitor


def poll(condition: Callable[[], bool], what: str, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def approval_visible(monitor: ExperimentMonitor) -> bool:
    return monitor.approval_box.layout.display != "none"


def finish(run: BackgroundRun) -> Journal:
    assert run.wait(RUN_TIMEOUT), "the run did not finish in time"
    assert run.error is None, run.error
    return Journal.load(run.run_dir / "journal.json")


def test_monitor_follows_a_run_to_its_summary(tmp_path: Path) -> None:
    copilot, run, monitor = start(tmp_path, max_steps=2)
    assert not run.done  # the call returned while the run goes on
    finish(run)
    rows = monitor.rows()
    assert [r["id"] for r in rows] == ["n0", "n1", "n2"]
    assert all(r["metric"] is not None for r in rows)
    for row in rows:
        assert f"<code>{row['id']}</code>" in monitor.table_html.value
        assert f"{row['metric']:.6g}" in monitor.table_html.value
    assert monitor.plot.value[:8] == b"\x89PNG\r\n\x1a\n" and len(monitor.plot.value) > 1000
    summary = run.summary
    assert summary is not None and summary["status"] == "done" and summary["verified"]
    gain = f"{summary['relative_improvement']:+.1%}"
    assert gain in monitor.summary_html.value and gain in monitor.markdown()
    assert str(run.run_dir / "experiment.ipynb") in monitor.summary_html.value
    assert "step 2 / 2" in monitor.status_html.value
    assert monitor.stop_button.disabled and monitor.send_button.disabled
    assert copilot.state.runs[-1].status == "done"  # recorded in the research state
    # which sandbox ran the kernels: the journal's, on the monitor and in the panel's state
    sandbox = run.journal.sandbox
    assert sandbox["description"]
    assert f"Sandbox: {sandbox['description']}" in monitor.sandbox_html.value
    assert monitor.sandbox_html.value.startswith(
        "<div data-sandbox='active'" if sandbox["active"] else "<div data-sandbox='inactive'")
    ref = copilot.state.summary()["runs"][-1]
    assert (ref["sandbox"], ref["sandbox_active"]) == (sandbox["description"], sandbox["active"])


def test_monitor_flags_an_unconfined_run(tmp_path: Path) -> None:
    copilot, run, monitor = start(tmp_path, max_steps=0, verify=False, sandbox="off")
    assert "Sandbox: none: --sandbox off" in monitor.sandbox_html.value
    assert "data-sandbox='inactive'" in monitor.sandbox_html.value
    assert "⚠" in monitor.sandbox_html.value and "#b71c1c" in monitor.sandbox_html.value
    finish(run)
    assert "Sandbox: none: --sandbox off" in monitor.sandbox_html.value  # still there when done
    ref = copilot.state.runs[-1]
    assert (ref.sandbox, ref.sandbox_active) == ("none: --sandbox off", False)


# a human's edit of the cell: it writes its own submission (the held-out protocol) and reports 0.5
EDITED = ('import pandas as pd\n'
          'pd.DataFrame({"target": [1] * len(pd.read_csv("test.csv"))})'
          '.to_csv("submission.csv", index=False)\n'
          'report_metric("accuracy", 0.5)')


def test_approve_edit_and_reject_through_the_panel(tmp_path: Path) -> None:
    _, run, monitor = start(tmp_path, max_steps=3, mode="approve")
    poll(lambda: approval_visible(monitor), "the first proposal")
    assert "n1" in monitor.approval_html.value and "report_metric" in monitor.code_input.value
    monitor.approve_button.click()

    poll(lambda: approval_visible(monitor), "the second proposal")
    assert "n2" in monitor.approval_html.value
    monitor.code_input.value = EDITED
    monitor.approve_edited_button.click()

    poll(lambda: approval_visible(monitor), "the third proposal")
    assert "n3" in monitor.approval_html.value
    monitor.comment_input.value = "no more SVMs, please"
    monitor.reject_button.click()

    journal = finish(run)
    approvals = {n.id: n.approval for n in journal.nodes}
    assert approvals == {"n0": "auto", "n1": "approved", "n2": "edited", "n3": "rejected"}
    assert journal.node("n2").code == EDITED
    assert journal.node("n2").metric == 0.5
    assert journal.node("n3").status == "rejected"
    assert "no more SVMs, please" in journal.feedback
    assert not approval_visible(monitor)
    assert "edited" in monitor.table_html.value and "rejected" in monitor.table_html.value


def test_stop_button_ends_early_and_feedback_reaches_the_journal(tmp_path: Path) -> None:
    _, run, monitor = start(tmp_path, max_steps=10)
    monitor.feedback_input.value = "prefer simple models"
    monitor.send_button.click()
    assert monitor.feedback_input.value == "" and "feedback sent" in monitor.note_html.value
    poll(lambda: len(run.journal.nodes) >= 2, "the first search step")
    monitor.stop_button.click()
    journal = finish(run)
    assert journal.status == "done"
    assert journal.message.startswith("stopped by the user")
    assert 1 <= sum(n.kind != "baseline" for n in journal.nodes) < 10
    assert "prefer simple models" in journal.feedback
    assert "stopped by the user" in monitor.summary_html.value


def test_empty_feedback_is_shown_on_the_monitor_not_raised(tmp_path: Path) -> None:
    _, run, monitor = start(tmp_path, max_steps=0, verify=False)
    monitor.feedback_input.value = "   "
    monitor.send_button.click()
    assert "feedback is empty" in monitor.error_html.value
    finish(run)
    with pytest.raises(Exception, match="no proposal is waiting"):
        run.approve()


def test_stop_while_a_proposal_waits_rejects_it_and_ends(tmp_path: Path) -> None:
    _, run, monitor = start(tmp_path, max_steps=5, mode="approve", verify=False)
    poll(lambda: approval_visible(monitor), "the first proposal")
    monitor.stop_button.click()
    journal = finish(run)
    assert [(n.id, n.status) for n in journal.nodes] == [("n0", "ok"), ("n1", "rejected")]
    assert journal.message.startswith("stopped by the user")
    assert not approval_visible(monitor)
