"""Fault injection on ``mlr-copilot experiment``: the kernel, the cells, the LLM server, the disk
and the user's signals. Every run must end or recover as designed, leave a valid record notebook
and journal (resumable where it stopped), and show the user one line, never a traceback.

The LLM is played by :class:`StepScript`, a responder of the local chat server. Faults are pushed
into the server's queue by the responder itself, right after it answers a given call, so they hit
exactly the requests that follow (the queue takes precedence over the responder).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from mlr_copilot_jupyter.experiment.journal import Journal
from tests.support.chat_server import MALFORMED_JSON, ChatServer, is_auxiliary
from tests.support.cli import SECRET_KEY
from tests.support.faults import (
    StepScript,
    assert_valid_run,
    experiment_args,
    metric_cell,
    one_line_error,
    push,
    resume,
    run_cli,
    statuses,
)
from tests.support.load import time_bound
from tests.support.procs import gone, kernel_of, start_cli, wait_for

pytestmark = pytest.mark.slow



# -- the scripted LLM -------------------------------------------------------------------------




# -- running the CLI --------------------------------------------------------------------------


















def kill_kernel_of(pid: int) -> psutil.Process:
    kernel = wait_for(lambda: kernel_of(pid), 30, "the kernel process")
    kernel.send_signal(signal.SIGKILL)
    wait_for(lambda: gone(kernel), 10, "the kernel to die")
    return kernel


# -- what every faulted run must leave behind ---------------------------------------------------






# -- the experiment kernel ------------------------------------------------------------------
@pytest.fixture(scope="module")
def idle_kill_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run whose kernel is SIGKILLed while idle, between node n1 and node n2."""
    root = tmp_path_factory.mktemp("idle_kill")
    out = root / "run"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MLR_COPILOT_"))}
    holder: dict[str, Any] = {}
    fresh_kernel_check = (
        'import os\n'
        'print("marker defined:", "marker" in globals())\n'
        'print("seed:", globals().get("seed"), "cwd has train.csv:", os.path.exists("train.csv"))\n'
    ) + metric_cell(0.71)
    setup_check = ('import os\nassert os.path.exists("train.csv")\n'
                   + metric_cell(0.72).replace("0.72)", "0.72 + 0 * seed)"))
    script = StepScript(
        codes={1: "marker = 41\n" + metric_cell(0.7), 2: fresh_kernel_check, 3: setup_check},
        actions={2: lambda request: holder.update(killed=kill_kernel_of(holder["pid"]))})
    with ChatServer() as server:
        server.responder = script
        env.update(OPENAI_BASE_URL=server.url, OPENAI_API_KEY=SECRET_KEY,
                   MLR_COPILOT_MODEL="test-model", MLR_COPILOT_RUN_DIR=str(root / "runs"))
        proc = start_cli(*experiment_args(out, steps=3), env=env)
        holder["pid"] = proc.pid
        try:
            stdout, stderr = proc.communicate(timeout=180)
        finally:
            proc.kill()
    return {"out": out, "proc": proc, "stdout": stdout, "stderr": stderr, "script": script,
            "killed": holder.get("killed")}


def test_kernel_sigkilled_while_idle_next_cell_runs_in_a_fresh_kernel(
    idle_kill_run: dict[str, Any],
) -> None:
    run = idle_kill_run
    assert run["killed"] is not None, "the kernel was never killed"
    assert run["proc"].returncode == 0, run["stderr"][-3000:]
    assert "Traceback" not in run["stderr"]
    journal = assert_valid_run(run["out"])
    assert journal.status == "done"
    n1, n2 = journal.node("n1"), journal.node("n2")
    assert n1.status == "ok" and not n1.lost_state
    # the death is noticed before n2 runs: n2 ran in a fresh kernel and says state was lost
    assert n2.status == "ok" and n2.lost_state is True
    assert "died since the previous cell" in n2.message and "SIGKILL" in n2.message
    assert "marker defined: False" in n2.output
    # and the next prompt tells the LLM that earlier variables are gone
    assert "The kernel was restarted" in run["script"].prompts[2]
    assert json.loads(run["stdout"])["status"] == "done"


def test_fresh_kernel_after_a_death_gets_the_setup_cell_again(
    idle_kill_run: dict[str, Any],
) -> None:
    """CELL_RULES promise every cell ``seed``, ``data_dir`` and the workspace as cwd."""
    journal = Journal.load(idle_kill_run["out"] / "journal.json")
    assert "seed: 0 cwd has train.csv: True" in journal.node("n2").output
    assert journal.node("n3").status == "ok", journal.node("n3").error


@pytest.mark.slow_ok(
    reason="two cells that never return each wait out a 3 s cell timeout, a kernel interrupt and a restart")
def test_cells_that_never_return_time_out_and_the_run_continues(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    busy = "while True:\n    pass\n"
    stubborn = ("import time\nwhile True:\n    try:\n        time.sleep(1)\n"
                "    except KeyboardInterrupt:\n        pass\n")
    llm_env.responder = StepScript(codes={1: busy, 2: stubborn})
    out = tmp_path / "run"
    # 3 s on an idle machine, scaled to the load (the ordinary cells of the later steps must fit)
    limit = f"{min(time_bound(3.0), 20.0):.0f}"
    started = time.monotonic()
    result = run_cli(*experiment_args(out, "--cell-timeout", limit, steps=4), timeout=180)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    journal = assert_valid_run(out)
    n1, n2 = journal.node("n1"), journal.node("n2")
    # an interruptible loop: interrupted, the kernel (and its state) kept
    assert n1.status == "timeout" and not n1.lost_state
    assert f"timed out after {limit} s" in n1.message and "state kept" in n1.message
    # a loop that swallows KeyboardInterrupt: the kernel is restarted
    assert n2.status == "timeout" and n2.lost_state
    assert "ignored the interrupt and was restarted" in n2.message
    later = [n for n in journal.nodes if n.step > 2]
    assert later and all(n.status == "ok" for n in later), statuses(journal)
    assert journal.status == "done" and json.loads(result.stdout)["status"] == "done"
    assert elapsed < time_bound(90), f"two {limit} s timeouts took {elapsed:.0f} s"


def test_unbounded_allocation_is_a_memory_error_and_the_run_continues(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    grow = ("def grow():\n    blocks = []\n    while True:\n"
            "        blocks.append(bytearray(64 * 2**20))\n\ngrow()\n")
    llm_env.responder = StepScript(codes={1: grow})
    out = tmp_path / "run"
    proc = start_cli(*experiment_args(out, "--memory-limit-mb", "1500", steps=3))
    peak_rss = 0
    try:
        while proc.poll() is None:
            try:
                peak_rss = max(peak_rss, psutil.Process(proc.pid).memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    journal = assert_valid_run(out)
    n1 = journal.node("n1")
    assert n1.status in {"error", "dead"}, n1
    if n1.status == "error":
        assert n1.error.startswith("MemoryError") and "memory limit is 1500 MB" in n1.message
    later = [n for n in journal.nodes if n.step > 1]
    assert later and all(n.status == "ok" for n in later), statuses(journal)
    assert journal.status == "done"
    # the user's process never held the experiment's memory
    assert peak_rss < 600 * 2**20, f"the CLI process reached {peak_rss / 2**20:.0f} MB"


def test_cell_that_tampers_with_the_run_folder_cannot_corrupt_the_record(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    """Unconfined (``--sandbox off``; sandboxed, the run folder is not even visible: see
    test_sandbox_escape.py), generated code runs with the user's rights: it can write the run
    folder, delete data and start processes. The agent must notice, restore the data, rewrite the
    record and journal from memory, and leave no process of the kernel behind when the run ends."""
    tamper = (
        "import os, subprocess\n"
        "run_dir = os.environ['MLR_COPILOT_RUN_DIR']\n"
        "for name in ('journal.json', 'experiment.ipynb'):\n"
        "    with open(os.path.join(run_dir, name), 'w') as f:\n"
        "        f.write('garbage')\n"
        "os.remove('train.csv')\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "print('CHILD', child.pid)\n"
        + metric_cell(0.99)
    )
    llm_env.responder = StepScript(codes={1: tamper})
    out = tmp_path / "run"
    result = run_cli(*experiment_args(out, "--sandbox", "off", steps=2))
    assert result.returncode == 0, result.stderr[-3000:]
    journal = assert_valid_run(out)
    n1 = journal.node("n1")
    assert n1.status == "error" and n1.error == "modified read-only files: train.csv"
    assert n1.metric is None, "a result from a cell that broke the rules must not count"
    original = Path(journal.settings["task_path"]) / "train.csv"
    assert (out / "workspace" / "train.csv").read_bytes() == original.read_bytes()
    assert journal.node("n2").status == "ok" and journal.status == "done"
    child_pid = int(n1.output.split("CHILD", 1)[1].split()[0])
    try:
        child = psutil.Process(child_pid)
    except psutil.NoSuchProcess:
        child = None
    assert child is None or wait_for(lambda: gone(child), 10, "the kernel's child to end")


def test_generated_code_cannot_forge_the_eval_py_score(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    """A task's eval.py exists so the test score is not self-reported: code in the workspace must
    not be able to replace it. The cell claims a near-perfect validation accuracy, writes an
    all-zeros submission (test accuracy about 0.37) and plants a ``pandas.py`` that prints a
    perfect score before eval.py can run. It is selected on its claim (validation is what cells
    report) and verified, but its held-out test score is eval.py's own."""
    from tests.support.experiments import make_mlagentbench_task

    task = make_mlagentbench_task(tmp_path / "mlab_task")
    forge = (
        "n = len(open('test.csv').read().splitlines()) - 1\n"
        "with open('submission.csv', 'w') as f:\n"
        "    f.write('prediction\\n' + '0\\n' * n)\n"
        "with open('pandas.py', 'w') as f:\n"
        "    f.write('print(\"MLR_SCORE 1.0\")\\nimport sys\\nsys.exit(0)\\n')\n"
        "report_metric('accuracy', 0.99)\n"
    )
    llm_env.responder = StepScript(codes={1: forge})
    out = tmp_path / "run"
    result = run_cli("experiment", "--task", str(task), "--max-steps", "1",
                     "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    journal = assert_valid_run(out)
    assert (out / "workspace" / "pandas.py").exists(), "the cell did not plant its module"
    forged = next(n for n in journal.nodes if "pandas.py" in n.code)
    assert forged.metric == 0.99 and forged.verified, forged
    assert forged.test_metric is not None and forged.test_metric < 0.5, \
        f"eval.py scored {forged.test_metric}"


# -- the LLM server ---------------------------------------------------------------------------


def test_every_llm_fault_once_is_retried_and_the_run_finishes(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    s = llm_env
    script = StepScript(actions={
        1: push(s, ("429", {"retry_after": 0.1})),
        2: push(s, "500", "503"),
        3: push(s, ("slow", {"delay": 4.0, "then": "too late"})),
        4: push(s, "empty_choices"),
        5: push(s, "reset"),
        6: push(s, "cut_stream"),
        7: push(s, "malformed_json"),  # a schema repair, not a transport retry
    })
    s.responder = script
    out = tmp_path / "run"
    result = run_cli(*experiment_args(out, "--retries", "3", "--timeout", "1.5", steps=8))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and SECRET_KEY not in result.stderr
    journal = assert_valid_run(out)
    assert journal.status == "done"
    assert [n.status for n in journal.nodes] == ["ok"] * 9
    assert s.pending == 0, "every injected fault was met"
    posts = [r for r in s.requests if r["method"] == "POST" and not is_auxiliary(r["json"])]
    assert len(posts) == script.calls + 8  # 8 faulty answers, each followed by a retry/repair


GIVE_UP: dict[str, tuple[list[Any], str]] = {
    "429": (["429"] * 2, "kept rate-limiting (HTTP 429); gave up after 2 attempts"),
    "500": (["500"] * 2, "kept failing (HTTP 500); gave up after 2 attempts"),
    "timeout": ([("slow", {"delay": 3.0, "then": "too late"})] * 2, "timed out after 1 s; gave up after 2 attempts"),
    "empty_choices": (["empty_choices"] * 2, "kept returning unusable replies"),
    "reset": (["reset"] * 2, "could not be reached; gave up after 2 attempts"),
    "cut_stream": (["cut_stream"] * 2, "gave up after 2 attempts"),
    "bad_schema": (["malformed_json"] * 3, "did not return valid StepDraft JSON after 3 tries"),
}

#: The give-up cases that also run --resume to the end (each costs a second kernel start).
RESUMED = {"429", "bad_schema"}


#: The give-up cases run here as real CLI runs: a transport fault and a schema fault, each with
#: --resume to the end. The one line of every other kind (500, timeout, empty choices, reset,
#: cut stream) is shown in-process by tests/unit/test_llm_give_up.py; what the run does with it
#: (failed nodes, three in a row end the run, valid records) is the same for every kind.
@pytest.mark.parametrize("fault", sorted(RESUMED))
def test_llm_faults_beyond_the_retries_fail_in_one_line_and_the_run_resumes(
    llm_env: ChatServer, tmp_path: Path, fault: str,
) -> None:
    faults, message = GIVE_UP[fault]
    # an unusable reply becomes a failed node and the search goes on; three in a row end the run
    llm_env.responder = StepScript(actions={1: push(llm_env, *(faults * 3))})
    out = tmp_path / "run"
    result = run_cli(*experiment_args(out, "--retries", "1", "--timeout", "1", steps=3))
    assert result.returncode == 1, result.stderr[-3000:]
    line = one_line_error(result.stderr, message, llm_env.url)
    assert line.startswith("mlr-copilot: error: ")
    journal = assert_valid_run(out)
    assert journal.status == "failed" and journal.message
    assert statuses(journal) == {"n0": "ok", "n1": "ok", "n2": "llm_error", "n3": "llm_error",
                                 "n4": "llm_error"}  # nothing half-done
    assert "3 unusable LLM replies in a row" in line
    if fault == "bad_schema":  # each failed node keeps the model's raw reply, in both records
        assert all(MALFORMED_JSON in n.output for n in journal.nodes if n.status == "llm_error")
        assert MALFORMED_JSON in (out / "experiment.ipynb").read_text()
    assert llm_env.pending == 0
    if fault not in RESUMED:
        return  # assert_valid_run loaded the journal and record as --resume does
    # the server is healthy again: the run picks up where it stopped
    resumed = resume(out, "--retries", "1", "--timeout", "5")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    journal = assert_valid_run(out)
    assert journal.status == "done"
    assert [n.status for n in journal.nodes] == ["ok"] * 2 + ["llm_error"] * 3 + ["ok"] * 2
    assert json.loads(resumed.stdout)["steps"] == 3  # failed replies ran nothing: no step used


# -- the disk -----------------------------------------------------------------------------------
def _chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def _unwritable_variants() -> list[Any]:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return [
        pytest.param("chmod", marks=pytest.mark.skipif(
            root, reason="root ignores directory permissions; the chattr variant covers root")),
        pytest.param("chattr", marks=pytest.mark.skipif(
            not root, reason="chattr +i needs root; the chmod variant covers other users")),
    ]


@pytest.mark.parametrize("how", _unwritable_variants())
def test_run_dir_unwritable_mid_run_stops_with_one_line_error_and_resumes(
    llm_env: ChatServer, tmp_path: Path, how: str,
) -> None:
    out = tmp_path / "run"
    state: dict[str, Any] = {}

    def lock(request: dict[str, Any]) -> None:
        if how == "chmod":
            out.chmod(0o500)
            state["locked"] = True
        else:
            state["locked"] = _chattr("+i", out)

    llm_env.responder = StepScript(actions={2: lock})
    proc = start_cli(*experiment_args(out, steps=3))
    try:
        kernel = wait_for(lambda: kernel_of(proc.pid), 60, "the kernel process")
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
        if how == "chmod":
            out.chmod(0o700)
        elif state.get("locked"):
            _chattr("-i", out)
    if how == "chattr" and not state.get("locked"):
        pytest.skip("chattr +i is not supported on this filesystem")
    assert proc.returncode == 1, stderr[-3000:]
    one_line_error(stderr, str(out))
    assert wait_for(lambda: gone(kernel), 10, "the kernel to be shut down")
    journal = assert_valid_run(out)  # the last good versions are still on disk
    assert statuses(journal) == {"n0": "ok", "n1": "ok"}
    resumed = resume(out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert assert_valid_run(out).status == "done"


def test_journal_path_taken_by_a_directory_stops_with_one_line_error(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    """Root-compatible stand-in for an unwritable disk: the atomic rename onto journal.json fails."""
    out = tmp_path / "run"
    holder: dict[str, Any] = {}

    def block(request: dict[str, Any]) -> None:
        journal = out / "journal.json"
        holder["last_good"] = journal.read_text()
        journal.unlink()
        journal.mkdir()
        (journal / "occupied").write_text("a directory where the journal should be\n")

    llm_env.responder = StepScript(actions={2: block})
    proc = start_cli(*experiment_args(out, steps=3))
    try:
        kernel = wait_for(lambda: kernel_of(proc.pid), 60, "the kernel process")
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr[-3000:]
    one_line_error(stderr, str(out / "journal.json"))
    nb = nbformat.read(out / "experiment.ipynb", as_version=4)
    nbformat.validate(nb)
    assert wait_for(lambda: gone(kernel), 10, "the kernel to be shut down")
    # the journal as last saved is intact (it was moved aside by the test, not corrupted)
    Journal.model_validate_json(holder["last_good"])


# -- the user's signals -------------------------------------------------------------------------
def _pending(run_dir: Path, snippet: str) -> bool:
    try:
        journal = json.loads((run_dir / "journal.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return any(n["status"] == "pending" and snippet in n["code"] for n in journal["nodes"])


@pytest.mark.parametrize("sig, during", [(signal.SIGTERM, "cell"), (signal.SIGINT, "llm_call")],
                         ids=["SIGTERM-cell", "SIGINT-llm_call"])
def test_signal_leaves_a_valid_record_and_resume_finishes(
    llm_env: ChatServer, tmp_path: Path, sig: signal.Signals, during: str,
) -> None:
    sleeper = "import time\ntime.sleep(60)\n" + metric_cell(0.71)
    if during == "cell":
        script = StepScript(codes={2: sleeper})
    else:
        script = StepScript(actions={2: push(llm_env, ("slow", {"delay": 60.0, "then": "too late"}))})
    llm_env.responder = script
    out = tmp_path / "run"
    proc = start_cli(*experiment_args(out, "--cell-timeout", "120", steps=4))
    try:
        kernel = wait_for(lambda: kernel_of(proc.pid), 60, "the kernel process")
        if during == "cell":
            wait_for(lambda: _pending(out, "time.sleep(60)"), 60, "the slow cell to start")
        else:
            wait_for(lambda: sum(r["method"] == "POST" and not is_auxiliary(r["json"])
                                 for r in llm_env.requests) >= 3, 60,
                     "the slow LLM call")
            time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
        stop_time = time.monotonic() - t0
    finally:
        proc.kill()
    assert proc.returncode in ({130} if sig == signal.SIGINT else {130, 143}), stderr[-3000:]
    line = one_line_error(stderr, "--resume", str(out))
    assert "interrupted" in line
    assert stop_time < time_bound(30, below=60), f"the CLI took {stop_time:.0f} s to stop"
    assert wait_for(lambda: gone(kernel), 10, "the kernel to be shut down")
    journal = assert_valid_run(out)
    assert journal.status == "interrupted"
    resumed = resume(out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    journal = assert_valid_run(out)
    assert journal.status == "done"
    assert len([n for n in journal.nodes if n.kind != "baseline"]) == 4
    if during == "cell":
        cut = next(n for n in journal.nodes if "time.sleep(60)" in n.code)
        assert cut.status == "error" and "interrupted" in cut.error


def test_second_ctrl_c_during_cleanup_is_still_one_line(
    llm_env: ChatServer, tmp_path: Path,
) -> None:
    llm_env.responder = StepScript(codes={1: "import time\ntime.sleep(60)\n"})
    out = tmp_path / "run"
    proc = start_cli(*experiment_args(out, "--cell-timeout", "120", steps=2))
    try:
        kernel = wait_for(lambda: kernel_of(proc.pid), 60, "the kernel process")
        wait_for(lambda: _pending(out, "time.sleep(60)"), 60, "the slow cell to start")
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)  # an impatient user presses Ctrl-C again while the record is saved
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert wait_for(lambda: gone(kernel), 10, "the kernel to be shut down")
    journal = assert_valid_run(out)
    assert journal.status == "interrupted"
    assert proc.returncode == 130, stderr[-3000:]
    one_line_error(stderr, "--resume", str(out))
