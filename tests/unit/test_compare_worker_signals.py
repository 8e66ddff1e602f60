"""A comparison's worker process: SIGTERM (how the local pool stops it) unwinds the idea's run
while it runs, and only then; between jobs the pool's own handler (a quiet exit) is back."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from mlr_copilot_jupyter.compare.runner import _raise_interrupt, run_idea


def job(facade: Any) -> dict[str, Any]:
    return {"facade": facade, "settings": {}, "task": "wine", "idea": {}, "out": "unused",
            "options": {}}


def test_the_unwinding_handler_is_set_only_while_the_job_runs() -> None:
    seen = []

    def facade(**settings: Any) -> Any:
        seen.append(signal.getsignal(signal.SIGTERM))
        raise ValueError("no facade here")

    before = signal.getsignal(signal.SIGTERM)
    outcome = run_idea(job(facade))
    assert outcome["status"] == "failed" and outcome["error"] == "ValueError: no facade here"
    assert seen == [_raise_interrupt]
    # an idle worker (waiting for its next job) that got a KeyboardInterrupt would print
    # "SpawnProcess-1: Traceback" on the user's terminal
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_during_the_job_is_a_stopped_outcome_not_an_exception() -> None:
    def facade(**settings: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises in here
        raise AssertionError("SIGTERM did not stop the job")

    before = signal.getsignal(signal.SIGTERM)
    outcome = run_idea(job(facade))
    assert outcome["status"] == "stopped" and outcome["error"] == "interrupted"
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_error_the_stop_itself_caused_is_a_stopped_resumable_run(tmp_path: Any) -> None:
    """SIGTERM landing in a C extension's import surfaces as ``ImportError: initialization
    failed``; the run records it as its failure. The stop caused it: the outcome is "stopped"
    and the journal says "interrupted", so the run can resume."""
    from mlr_copilot_jupyter.experiment.journal import JOURNAL_FILE, Journal

    out = tmp_path / "run"
    out.mkdir()
    Journal(run_id="r1", task="wine", metric_name="accuracy", direction="maximize", status="failed",
            message="ImportError: initialization failed").save(out / JOURNAL_FILE)

    def facade(**settings: Any) -> Any:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None
        raise AssertionError("SIGTERM did not stop the job")

    outcome = run_idea(dict(job(facade), out=str(out)))
    assert outcome["status"] == "stopped"
    assert outcome["error"] == "interrupted (during: ImportError: initialization failed)"
    assert Journal.load(out / JOURNAL_FILE).status == "interrupted"
    # without a stop, the same error is the run's failure
    outcome = run_idea(dict(job(lambda **s: (_ for _ in ()).throw(ImportError("x"))), out=str(out)))
    assert outcome["status"] == "failed"


def test_each_pool_worker_gets_its_share_of_the_cores() -> None:
    from mlr_copilot_jupyter.batch.executors import THREAD_VARIABLES, thread_share

    assert thread_share(3, cpus=2) == dict.fromkeys(THREAD_VARIABLES, "1")  # never 0
    assert thread_share(2, cpus=8) == dict.fromkeys(THREAD_VARIABLES, "4")
    assert thread_share(1, cpus=8)["OMP_NUM_THREADS"] == "8"
    assert thread_share(3, cpus=8)["OPENBLAS_NUM_THREADS"] == "2"
    assert thread_share(0, cpus=4)["MKL_NUM_THREADS"] == "4"
