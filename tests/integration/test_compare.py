"""Comparisons: several ideas as concurrent experiments (Dask / process pool), seeds, verdict."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from mlr_copilot_jupyter.models import Idea
from tests.support.cli import cli_command
from tests.support.procs import as_terminal_job

PAPER = Path(__file__).parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


def offline_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MLR_COPILOT_", "HF_"))}
    env.update(MLR_COPILOT_BACKEND="offline", MLR_COPILOT_RUN_DIR=str(folder / "runs"),
               MLR_COPILOT_SEMANTIC_SCHOLAR="off", MLR_COPILOT_CACHE_DIR=str(folder / "cache"))
    return env


def cli(folder: Path, *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=timeout, env=offline_env(folder), cwd=folder)


@pytest.fixture(scope="module")
def ideas_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three ideas fitted to the wine task, as ``mlr-copilot ideas --out`` writes them."""
    folder = tmp_path_factory.mktemp("ideas")
    done = cli(folder, "ideas", str(PAPER), "--task", "wine", "-n", "3", "--backend", "offline",
               "--out", str(folder / "ideas.json"))
    assert done.returncode == 0, done.stderr
    return folder / "ideas.json"


def file_ideas(path: Path) -> list[Idea]:
    return [Idea.model_validate(i) for i in json.loads(path.read_text())["ideas"]]


@pytest.mark.slow_ok(
    reason="starts a Dask LocalCluster and runs 3 ideas x 2 seeds x 2 steps in real kernels")
def test_cli_compares_three_ideas_on_a_dask_local_cluster_with_seed_reruns(
        ideas_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    done = cli(tmp_path, "compare", "--ideas", str(ideas_file), "--task", "wine", "--out",
               str(out), "--workers", "2", "--scheduler", "local", "--seeds", "2",
               "--max-steps", "2", "--backend", "offline")
    assert done.returncode == 0, done.stderr
    ids = [i.id for i in file_ideas(ideas_file)]
    # one progress line per status change on stderr, each idea running then done
    for idea_id in ids:
        assert f"mlr-copilot: {idea_id} running" in done.stderr
        assert f"mlr-copilot: {idea_id} done (accuracy" in done.stderr
    for idea_id in ids:  # three valid records, each its own run folder, kernel and journal
        record = nbformat.read(out / "runs" / idea_id / "experiment.ipynb", as_version=4)
        nbformat.validate(record)
        assert record.metadata["mlr_copilot"]["idea"]["id"] == idea_id
        journal = json.loads((out / "runs" / idea_id / "journal.json").read_text())
        assert journal["status"] == "done" and journal["best_node"]
        assert journal["sandbox"]["active"], journal["sandbox"]  # Dask workers' kernels too
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["idea_id"]) == ids
    assert (table["status"] == "done").all()
    assert table["validation"].between(0, 1).all() and table["test"].notna().all()
    assert table["improvement_pct"].notna().all() and (table["time_s"] > 0).all()
    # seeds: the top two (by validation) re-run for seeds 1 and 2, the original counted too
    seeded = table[table["seed_n"].notna()]
    assert len(seeded) == 2 and (seeded["seed_n"] == 3).all()
    seed_rows = pd.read_csv(out / "seeds" / "results.csv")
    assert sorted(seed_rows["seed"]) == [1, 1, 2, 2]
    assert (seed_rows["status"] == "completed").all(), seed_rows.to_dict("records")
    assert set(seed_rows["notebook"]) == set(seeded["idea_id"])
    for row in seed_rows.itertuples():  # each seed ran in its own fresh copy of the workspace
        assert (Path(row.output).parent / str(row.data_dir) / "train.csv").is_file()
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = nbformat.read(out / "compare.ipynb", as_version=4)
    nbformat.validate(index)
    text = "\n".join(c.source for c in index.cells)
    for idea_id in ids:
        assert f"(runs/{idea_id}/experiment.ipynb)" in text
    assert "**Verdict:**" in text and "over 3 seeds" in text
    winner = index.metadata["mlr_copilot"]["comparison"]["winner_idea_id"]
    assert winner in set(seeded["idea_id"])
    assert any("attachment:comparison.png" in c.source and c.get("attachments")
               for c in index.cells)
    assert "verdict:" in done.stdout and winner in done.stdout
    run_id = index.metadata["mlr_copilot"]["comparison"]["winner_run_id"]
    assert f"--insert-run {run_id}" in done.stdout and f"--insert-run {run_id}" in text


def test_process_pool_one_crashing_idea_and_the_state_follows(ideas_file: Path,
                                                              tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    from mlr_copilot_jupyter import Copilot

    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    ideas = file_ideas(ideas_file)[:2]
    out = tmp_path / "cmp"
    # a real failure: the second idea's run folder is a file, so its workspace cannot be made
    (out / "runs").mkdir(parents=True)
    (out / "runs" / ideas[1].id).write_text("not a folder")
    copilot = Copilot()
    updates: list[dict[str, Any]] = []
    result = copilot.compare(ideas, "wine", out=out, workers=2, scheduler=None, seeds=0,
                             max_steps=1, on_update=lambda ref: updates.append(ref.model_dump()))
    ok, bad = result.comparison.entries
    assert (ok.status, bad.status) == ("done", "failed")
    assert "\n" not in bad.error and ("NotADirectory" in bad.error or "FileExists" in bad.error)
    assert ok.best_metric is not None and result.winner == ideas[0].id
    assert "the only idea with a verified result" in result.verdict
    assert result.comparison.executor.startswith("local process pool")
    # the state saw it start, run, and finish; the saved state file agrees
    assert updates[0]["status"] == "running"
    assert all(e["status"] == "pending" for e in updates[0]["entries"])
    assert any(u["entries"][0]["status"] == "running" for u in updates)
    assert updates[-1]["status"] == "done" and updates[-1]["winner_idea_id"] == ideas[0].id
    saved = json.loads(copilot.state_path.read_text())
    [comparison] = saved["comparisons"]
    assert comparison["status"] == "done" and comparison["winner_idea_id"] == ideas[0].id
    assert comparison["notebook"].endswith("compare.ipynb")
    assert ok.run_id in {r["run_id"] for r in saved["runs"]}  # %mlr_experiment --insert-run
    # the pool workers' kernels ran in the sandbox, and the state (the side panel) says so
    assert ok.sandbox == "bubblewrap: no network, workspace-only writes"
    [run] = [r for r in saved["runs"] if r["run_id"] == ok.run_id]
    assert run["sandbox"] == ok.sandbox and run["sandbox_active"] is True
    nbformat.validate(nbformat.read(out / "runs" / ideas[0].id / "experiment.ipynb", 4))
    assert json.loads(json.dumps(result.to_dict()))["rows"][1]["status"] == "failed"
    assert "<table" in result._repr_html_()


def test_stop_leaves_valid_records_and_an_interrupted_comparison(
        ideas_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter import Copilot

    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    copilot = Copilot()
    ideas = file_ideas(ideas_file)[:2]
    run = copilot.start_compare(ideas, "wine", out=tmp_path / "cmp", workers=2, seeds=2,
                                max_steps=6)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # stop once a run has a node on disk
        refs = copilot.state.comparisons
        if refs and any(e.best_metric is not None for e in refs[-1].entries):
            break
        time.sleep(0.2)
    run.stop()
    assert run.wait(120)
    assert run.result is not None and run.result.status == "interrupted"
    assert run.comparison_id == run.result.comparison.comparison_id
    saved = json.loads(copilot.state_path.read_text())["comparisons"][-1]
    assert saved["status"] == "interrupted"
    for idea in ideas:
        folder = tmp_path / "cmp" / "runs" / idea.id
        if (folder / "journal.json").exists():
            nbformat.validate(nbformat.read(folder / "experiment.ipynb", 4))
            assert json.loads((folder / "journal.json").read_text())["status"] in (
                "interrupted", "done")
    nbformat.validate(nbformat.read(tmp_path / "cmp" / "compare.ipynb", 4))


# Every bad input's one line is checked in-process by tests/unit/test_compare_inputs.py; the
# installed command, in its own process, meets one of them here.
@pytest.mark.parametrize(("args", "message"), [
    (["--ideas", "bad.json"], "is not valid"),
])
def test_bad_inputs_are_one_line(ideas_file: Path, tmp_path: Path, args: list[str],
                                 message: str) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "empty.json").write_text('{"ideas": []}')
    args = [str(ideas_file) if a == "IDEAS" else a for a in args]
    task = [] if "--task" in args else ["--task", "wine"]
    done = cli(tmp_path, "compare", *args, *task, "--out", str(tmp_path / "o"),
               "--backend", "offline", timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("mlr-copilot: error: ") and message in lines[-1], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o" / "runs").exists()


def test_magic_compares_the_accepted_ideas_in_the_background(
        ip: Any, ideas_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.error import UsageError

    from mlr_copilot_jupyter.state import ResearchState

    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    state = ResearchState(ideas=file_ideas(ideas_file))
    state.decide(state.ideas[0].id, "accept")
    state.save(tmp_path / "runs" / "state.json")
    with pytest.raises(UsageError, match="needs --task"):
        ip.run_line_magic("mlr_experiment", "--ideas accepted")
    with pytest.raises(UsageError, match="no idea with id 'idea-42'"):
        ip.run_line_magic("mlr_experiment", "--ideas idea-42 --task wine")
    ip.run_line_magic("mlr_experiment", f"--ideas accepted --task wine --max-steps 1 --seeds 0 "
                                        f"--out {tmp_path / 'cmp'}")
    run = ip.user_ns["_mlr_compare"]
    assert "started" in capsys.readouterr().out and not run.done  # returned at once
    assert run.wait(180) and run.error is None
    assert run.result.status == "done" and run.result.winner == state.ideas[0].id
    copilot = ip.magics_manager.registry["MLRCopilotMagics"].copilot
    [ref] = copilot.state.summary()["comparisons"]
    assert ref["status"] == "done" and [e["idea_id"] for e in ref["entries"]] == [
        state.ideas[0].id]


@pytest.mark.slow_ok(reason="a comparison of two ideas, each a real offline run on the process "
                     "pool, from a magic")
def test_magic_compares_ideas_on_the_notebooks_own_dataframe(
        ip: Any, ideas_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--ideas`` with ``--data df --target y``: one task folder for all ideas, and with
    ``--context notebook`` every run's journal holds the context that was sent."""
    import json

    import numpy as np
    import pandas as pd

    from mlr_copilot_jupyter.state import ResearchState

    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")
    state = ResearchState(ideas=file_ideas(ideas_file))
    for idea in state.ideas[:2]:
        state.decide(idea.id, "accept")
    state.save(tmp_path / "runs" / "state.json")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    ip.user_ns["df"] = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                                     "y": np.where(x[:, 0] + x[:, 1] > 0, "up", "down")})
    ip.run_cell("scale = df['a'].std()  # my own analysis", store_history=True)
    ip.run_line_magic("mlr_experiment", f"--ideas accepted --data df --target y --context notebook "
                                        f"--max-steps 1 --seeds 0 --out {tmp_path / 'cmp'}")
    run = ip.user_ns["_mlr_compare"]
    assert run.wait(240) and run.error is None, run.error
    assert run.result.status == "done"
    [folder] = (tmp_path / "runs" / "tasks").iterdir()
    assert (folder / "task.toml").is_file() and (folder / "heldout" / "test.csv").is_file()
    journals = sorted((tmp_path / "cmp" / "runs").glob("*/journal.json"))
    assert len(journals) == 2
    for journal in journals:
        context = json.loads(journal.read_text())["settings"]["context"]
        assert "my own analysis" in context and "y" in context


class StderrLines:
    """A process's stderr, read line by line on a thread, so a test can wait for a line."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def all(self, timeout: float = 10.0) -> list[str]:
        self._thread.join(timeout)
        return list(self.lines)


def spawned_workers(pid: int) -> list[Any]:
    """The pool's worker processes under the CLI process ``pid`` (``spawn``: fresh interpreters)."""
    import psutil

    found = []
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "spawn_main" in " ".join(child.cmdline()):
                    found.append(child)
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# When the Ctrl-C comes: (what to wait for before sending it, --max-steps per idea). The workers'
# start-up is the moment a worker used to print "SpawnProcess-1: Traceback" (SIGINT before its
# initializer ran); during the runs the workers unwind their experiments; during the seed re-runs
# a second pool (papermill) is starting.
CTRL_C_MOMENTS = {
    "workers-starting": ("worker", "6"),
    "ideas-running": (" running (", "6"),  # a node has a metric: the kernels are working
    "seed-reruns": ("mlr-copilot: seed re-runs:", "0"),
}
#: Hang checks on an idle machine, scaled to the load (tests/support/load.py): the moments came
#: 6-25 s after the start and the CLI ended 2-6 s after the Ctrl-C at load 2-9 on 2 cores.
MOMENT_WITHIN_S, ENDS_WITHIN_S, GROUP_GONE_WITHIN_S = 120.0, 30.0, 10.0


@pytest.mark.parametrize("moment", [
    "workers-starting",
    pytest.param("ideas-running", marks=pytest.mark.slow_ok(
        reason="two experiments' kernels start and reach a first metric before the Ctrl-C")),
    pytest.param("seed-reruns", marks=pytest.mark.slow_ok(
        reason="two experiments run to the end (baseline, verification) before the Ctrl-C")),
])
def test_ctrl_c_of_the_whole_group_exits_130_quietly_with_valid_records(
        ideas_file: Path, tmp_path: Path, moment: str) -> None:
    """Ctrl-C in a terminal signals the CLI and every pool worker (one process group): exit 130
    by itself, progress lines and the one "interrupted" line only (no worker's traceback),
    no process left behind, and records that say "interrupted" (each run resumable)."""
    import signal

    import psutil

    from tests.support.load import explain, time_bound

    wait, max_steps = CTRL_C_MOMENTS[moment]
    out = tmp_path / "cmp"
    proc = subprocess.Popen(
        [*cli_command(), "compare", "--ideas", str(ideas_file), "idea-1", "idea-2", "--task",
         "wine", "--out", str(out), "--workers", "2", "--seeds", "1", "--max-steps", max_steps,
         "--backend", "offline"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=offline_env(tmp_path),
        cwd=tmp_path, start_new_session=True,  # its own group, as a terminal's foreground job
        preexec_fn=as_terminal_job)
    stderr = StderrLines(proc.stderr)
    try:
        ready = ((lambda: spawned_workers(proc.pid)) if wait == "worker"
                 else (lambda: stderr.has(wait)))
        deadline = time.monotonic() + time_bound(MOMENT_WITHIN_S)
        while not ready():
            assert proc.poll() is None, f"ended before {wait!r}: {stderr.all()}"
            assert time.monotonic() < deadline, f"no {wait!r} yet ({explain()}): {stderr.lines}"
            time.sleep(0.05)
        family = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(time_bound(ENDS_WITHIN_S))
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after Ctrl-C ({explain()}): {stderr.lines}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    lines = stderr.all()
    err = "\n".join(lines)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Process-" not in err, err
    offline_note = "no LLM configured: using the offline engine"
    assert all(line.startswith(("mlr-copilot: ", offline_note)) for line in lines), err
    assert lines[-1].startswith("mlr-copilot: interrupted; what finished is saved in "), err
    # nothing left running: no worker, no kernel, no resource tracker
    _, alive = psutil.wait_procs(family, timeout=time_bound(GROUP_GONE_WITHIN_S))
    assert not alive, [p.cmdline() for p in alive]
    deadline = time.monotonic() + time_bound(GROUP_GONE_WITHIN_S)
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(proc.pid), "a process of the CLI's group outlived it"
    for journal in out.glob("runs/*/journal.json"):
        assert json.loads(journal.read_text())["status"] in ("interrupted", "done")
        nbformat.validate(nbformat.read(journal.parent / "experiment.ipynb", 4))
    index = nbformat.read(out / "compare.ipynb", 4)
    assert index.metadata["mlr_copilot"]["comparison"]["status"] == "interrupted"
    saved = json.loads((tmp_path / "runs" / "state.json").read_text())["comparisons"][-1]
    assert saved["status"] == "interrupted"
    assert {e["status"] for e in saved["entries"]} <= {"stopped", "done", "failed"}
    if moment == "seed-reruns":  # both runs had finished: the comparison keeps their results
        assert [e["status"] for e in saved["entries"]] == ["done", "done"], saved


def test_pool_workers_open_ctrl_c_for_their_kernels_and_the_driver_keeps_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start with SIGINT blocked (so a Ctrl-C during their start-up is no traceback);
    their initializer must open it again, or every kernel they start inherits the block and a
    cell timeout (an interrupt) never reaches it. The driver's mask and handler are unchanged.
    Each worker's environment (which its kernels inherit) holds its share of the cores for
    OpenMP and OpenBLAS; a thread setting of the user's stays."""
    import signal

    from mlr_copilot_jupyter.batch.executors import LocalProcessExecutor, _ignore, thread_share

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    mask, handler = signal.pthread_sigmask(signal.SIG_BLOCK, []), signal.getsignal(signal.SIGINT)
    executor = LocalProcessExecutor(2)
    try:
        worker_mask = executor.submit(signal.pthread_sigmask, signal.SIG_BLOCK, []).result(120)
        worker_handler = executor.submit(signal.getsignal, signal.SIGINT).result(120)
        threads = [executor.submit(os.getenv, name).result(120)
                   for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")]
    finally:
        executor.shutdown()
    share = thread_share(2)["OMP_NUM_THREADS"]
    assert threads == [share, share, "7"] and share == str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert signal.SIGINT not in worker_mask
    assert worker_handler is _ignore  # Ctrl-C is the driver's: it stops the workers itself
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask
    assert signal.getsignal(signal.SIGINT) is handler
