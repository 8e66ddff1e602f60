"""Batch runs: parameter grids, papermill executions on a process pool and on Dask, results."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from mlr_copilot_jupyter.batch import run_batch
from mlr_copilot_jupyter.batch.grid import (
    build_grid,
    execution_name,
    grid_from_options,
    load_grid,
    normalise_grid,
    parse_value,
)
from mlr_copilot_jupyter.batch.results import (
    aggregate,
    notebook_metrics,
    plot_summary,
    results_table,
    summary,
)
from mlr_copilot_jupyter.errors import InputError
from tests.support.cli import cli_command
from tests.support.load import time_bound
from tests.support.procs import as_terminal_job

# -- notebooks --------------------------------------------------------------------------------

METRIC_LINE = 'print("MLR_METRIC " + json.dumps({{"name": "{name}", "value": {value}}}))'


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook with a ``parameters``-tagged cell, then ``cells``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def fails_when_asked(folder: Path) -> Path:
    """Reports ``score``; raises ValueError("boom") when ``fail`` is true."""
    return write_notebook(
        folder / "fails_when_asked.ipynb", "fail = False\nscore = 0.5",
        "import json\n" + METRIC_LINE.format(name="score", value="score"),
        'if fail:\n    raise ValueError("boom")',
    )


def sleeps(folder: Path) -> Path:
    """Sleeps ``delay`` seconds, then reports it."""
    return write_notebook(folder / "sleeps.ipynb", "delay = 0",
                          "import json, time\ntime.sleep(delay)\n"
                          + METRIC_LINE.format(name="slept", value="delay"))


def fails_first_time(folder: Path) -> Path:
    """Fails on its first run in a folder (a counter file next to it), succeeds afterwards."""
    return write_notebook(
        folder / "fails_first_time.ipynb", "seed = 0",
        "import json, pathlib\nmarker = pathlib.Path(f'attempts_{seed}.txt')\n"
        "n = int(marker.read_text()) + 1 if marker.exists() else 1\nmarker.write_text(str(n))\n"
        "if n == 1:\n    raise RuntimeError('first attempt fails')\n"
        + METRIC_LINE.format(name="attempt", value="n"),
    )


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A record notebook from the offline experiment engine (wine task, 2 steps)."""
    folder = tmp_path_factory.mktemp("record")
    env = {k: v for k, v in os.environ.items()
           if k not in {"OPENAI_API_KEY", "OPENAI_BASE_URL", "MLR_COPILOT_MODEL"}}
    env.update(MLR_COPILOT_BACKEND="offline", MLR_COPILOT_RUN_DIR=str(folder / "runs"))
    done = subprocess.run(
        [*cli_command(), "experiment", "--task", "wine", "--max-steps", "2", "--out",
         str(folder / "rec")], capture_output=True, text=True, timeout=180, env=env, cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    return folder / "rec" / "experiment.ipynb"


def batch_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), "batch", *args, "--no-progress"], capture_output=True,
                          text=True, timeout=time_bound(timeout))


def injected(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))


# -- grids ------------------------------------------------------------------------------------


def test_values_are_yaml_scalars() -> None:
    assert parse_value("0") == 0 and isinstance(parse_value("0"), int)
    assert parse_value("0.1") == 0.1 and parse_value("1e-3") == 0.001
    assert parse_value("true") is True and parse_value("False") is False
    assert parse_value("null") is None
    # YAML 1.1 surprises stay strings: on/yes are not bools, dates are not dates.
    assert parse_value("on") == "on" and parse_value("yes") == "yes"
    assert parse_value("2024-01-01") == "2024-01-01"
    assert parse_value("adam") == "adam" and parse_value("'0'") == "0"
    assert parse_value("[64, 64]") == [64, 64]


def test_p_options_make_a_cartesian_product() -> None:
    grid = build_grid([["lr", "0.1", "1e-2"], ["seed", "0", "1", "2"]])
    assert len(grid) == 6
    assert grid[0] == {"lr": 0.1, "seed": 0} and grid[-1] == {"lr": 0.01, "seed": 2}
    assert build_grid() == [{}]  # no grid: one run with the notebook's defaults
    with pytest.raises(InputError, match="at least one value"):
        grid_from_options([["seed"]])
    with pytest.raises(InputError, match="not a Python identifier"):
        grid_from_options([["learning-rate", "1"]])


def test_grid_files_mapping_list_and_json(tmp_path: Path) -> None:
    mapping = tmp_path / "grid.yaml"
    mapping.write_text("model: [svm, knn]\nC: [0.1, 1.0e+1]\nscaled: true\n")
    assert load_grid(mapping) == [
        {"model": "svm", "C": 0.1, "scaled": True}, {"model": "svm", "C": 10.0, "scaled": True},
        {"model": "knn", "C": 0.1, "scaled": True}, {"model": "knn", "C": 10.0, "scaled": True},
    ]
    explicit = tmp_path / "runs.yml"
    explicit.write_text("- {model: svm, C: 1}\n- {model: knn, k: 5}\n")
    assert load_grid(explicit) == [{"model": "svm", "C": 1}, {"model": "knn", "k": 5}]
    as_json = tmp_path / "grid.json"
    as_json.write_text(json.dumps({"lr": [0.1, 0.01]}))
    assert load_grid(as_json) == [{"lr": 0.1}, {"lr": 0.01}]
    # A grid file is crossed with -p.
    grid = build_grid([["seed", "0", "1"]], explicit)
    assert grid == [{"model": "svm", "C": 1, "seed": 0}, {"model": "svm", "C": 1, "seed": 1},
                    {"model": "knn", "k": 5, "seed": 0}, {"model": "knn", "k": 5, "seed": 1}]
    assert normalise_grid({"seed": range(2), "lr": 0.1}) == [{"seed": 0, "lr": 0.1},
                                                             {"seed": 1, "lr": 0.1}]


@pytest.mark.parametrize("text, message", [
    ("model: [svm, knn\n", "is not valid YAML or JSON at line"),
    ("42\n", "must hold a mapping"),
    ("[]\n", "must hold a mapping"),
    ("- {a: 1}\n- 3\n", "entry 2 is not a mapping"),
    ("learning-rate: [1, 2]\n", "not a Python identifier"),
    ("seed: []\n", "empty list of values"),
])
def test_bad_grid_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad grid.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_grid(path)
    assert str(path) in info.value.one_line() and "\n" not in info.value.one_line()
    with pytest.raises(InputError, match="does not exist"):
        load_grid(tmp_path / "missing.yaml")
    ok = tmp_path / "ok.yaml"
    ok.write_text("seed: [1]\n")
    with pytest.raises(InputError, match="'seed' is given both as -p and in grid file"):
        build_grid([["seed", "0"]], ok)


def test_execution_names_are_safe_file_names() -> None:
    assert execution_name("experiment", {"seed": 0}) == "experiment__seed=0"
    assert execution_name("nb", {"fail": True, "lr": 0.001}) == "nb__fail=true__lr=0.001"
    odd = execution_name("nb", {"path": "a/b {c}", "layers": [64, 64]})
    assert "/" not in odd and "{" not in odd and " " not in odd and "layers=" in odd
    long = execution_name("nb", {"text": "x" * 500})
    assert len(long) <= 150 and long != execution_name("nb", {"text": "x" * 499})


# -- results ----------------------------------------------------------------------------------


def test_metrics_are_read_from_streams_and_results_with_last_max_min() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout",
                               text='MLR_METRIC {"name": "acc", "value": 0.7}\n'),
        nbformat.v4.new_output("execute_result", data={
            "text/plain": 'MLR_METRIC {"name": "acc", "value": 0.9}'}, execution_count=1),
    ]
    later = nbformat.v4.new_code_cell("...")
    later.outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text='noise MLR_METRIC {"name": "acc", "value": 0.8}\n'
        'MLR_METRIC {"name": "loss", "value": 1.5}\n')]
    markdown = nbformat.v4.new_markdown_cell('MLR_METRIC {"name": "acc", "value": 0.1}')
    nb.cells = [cell, later, markdown]
    records = notebook_metrics(nb)
    assert [r["value"] for r in records] == [0.7, 0.9, 0.8, 1.5]
    assert aggregate(records) == {"acc": 0.8, "loss": 1.5}
    assert aggregate(records, "max") == {"acc": 0.9, "loss": 1.5}
    assert aggregate(records, "min") == {"acc": 0.7, "loss": 1.5}


def test_summary_groups_all_but_seed_with_standard_error(tmp_path: Path) -> None:
    rows = [
        {"notebook": "nb", "model": "svm", "seed": s, "status": "completed", "acc": v}
        for s, v in enumerate([0.8, 0.9, 1.0])
    ] + [
        {"notebook": "nb", "model": "knn", "seed": 0, "status": "completed", "acc": 0.6},
        {"notebook": "nb", "model": "knn", "seed": 1, "status": "failed", "acc": 0.1},
    ]
    table = results_table(rows, ["model", "seed"], ["acc"])
    out = summary(table)
    assert list(out.columns) == ["notebook", "model", "n", "failed", "acc_mean", "acc_sem"]
    svm = out[out["model"] == "svm"].iloc[0]
    assert svm["n"] == 3 and svm["acc_mean"] == pytest.approx(0.9)
    assert svm["acc_sem"] == pytest.approx(pd.Series([0.8, 0.9, 1.0]).std(ddof=1) / math.sqrt(3))
    knn = out[out["model"] == "knn"].iloc[0]
    assert knn["n"] == 1 and knn["failed"] == 1 and knn["acc_mean"] == 0.6  # failed run left out
    assert math.isnan(knn["acc_sem"])
    png = plot_summary(out, tmp_path / "summary.png")
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- executions -------------------------------------------------------------------------------


@pytest.mark.slow_ok(reason="papermill re-runs a record notebook over seeds on a process pool of "
                     "real kernels")
@pytest.mark.slow
def test_cli_runs_seeds_of_a_record_on_a_process_pool(record: Path, tmp_path: Path) -> None:
    out = tmp_path / "batch"
    done = batch_cli(str(record), "-p", "seed", "0", "1", "2", "--workers", "2", "--out",
                     str(out), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "process pool (2 workers)" in report["executor"]
    executed = sorted((out / "experiment").glob("*.ipynb"))
    assert [p.name for p in executed] == [f"experiment__seed={s}.ipynb" for s in range(3)]
    assert "seed = 2" in injected(executed[2])
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 3 and list(results["seed"]) == [0, 1, 2]
    assert (results["status"] == "completed").all()
    assert results["accuracy"].between(0, 1).all()
    summary_csv = pd.read_csv(out / "summary.csv")
    assert len(summary_csv) == 1 and summary_csv.loc[0, "n"] == 3
    assert {"accuracy_mean", "accuracy_sem"} <= set(summary_csv.columns)
    assert summary_csv.loc[0, "accuracy_mean"] == pytest.approx(results["accuracy"].mean())
    assert Path(report["plot"]).is_file() and report["summary"][0]["n"] == 3


@pytest.mark.slow
def test_cli_runs_on_a_dask_local_cluster(record: Path, tmp_path: Path) -> None:
    out = tmp_path / "dask"
    done = batch_cli(str(record), "-p", "seed", "0", "1", "--scheduler", "local",
                     "--workers", "2", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["executor"] == "Dask LocalCluster (2 workers)"
    assert [r["status"] for r in report["rows"]] == ["completed", "completed"]
    assert all(0 <= r["accuracy"] <= 1 for r in report["rows"])
    assert (out / "experiment" / "experiment__seed=1.ipynb").is_file()
    assert pd.read_csv(out / "summary.csv").loc[0, "n"] == 2


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="IPC sockets are POSIX")
def test_parallel_workers_kernels_share_no_ports(tmp_path: Path) -> None:
    """Four workers start kernels at once on private IPC sockets: no TCP port to race for."""
    notebook = write_notebook(
        tmp_path / "nbs" / "transport.ipynb", "seed = 0",
        "import json, pathlib\nfrom ipykernel.connect import get_connection_info\n"
        "info = json.loads(get_connection_info())\n"
        "ipc = int(info['transport'] == 'ipc')\n"
        "private = int(oct(pathlib.Path(info['ip']).parent.stat().st_mode)[-3:] == '700')\n"
        + METRIC_LINE.format(name="ipc", value="ipc") + "\n"
        + METRIC_LINE.format(name="private", value="private"),
    )
    out = tmp_path / "out"
    done = batch_cli(str(notebook), "-p", "seed", *map(str, range(8)), "--workers", "4",
                     "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = pd.read_csv(out / "results.csv")
    assert (results["status"] == "completed").all(), results.to_dict("records")
    assert (results["ipc"] == 1).all() and (results["private"] == 1).all()


@pytest.mark.slow_ok(reason="a grid of real papermill executions, one of which fails")
@pytest.mark.slow
def test_a_failing_execution_does_not_stop_the_others(tmp_path: Path) -> None:
    notebook = fails_when_asked(tmp_path / "nbs")
    out = tmp_path / "out"
    done = batch_cli(str(notebook), "-p", "fail", "false", "true", "--out", str(out))
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "1 of 2 executions failed" in warning[0]
    assert "fails_when_asked__fail=true (ValueError: boom)" in warning[0]
    results = pd.read_csv(out / "results.csv").set_index("fail")
    assert results.loc[False, "status"] == "completed" and results.loc[False, "score"] == 0.5
    assert results.loc[True, "status"] == "failed"
    assert results.loc[True, "error"] == "ValueError: boom"
    failed_nb = out / "fails_when_asked" / "fails_when_asked__fail=true.ipynb"
    assert "papermill-error-cell-tag" in failed_nb.read_text()
    per_config = pd.read_csv(out / "summary.csv").set_index("fail")
    assert per_config.loc[True, "failed"] == 1 and per_config.loc[False, "n"] == 1
    assert "ran on:  local process pool (2 workers)" in done.stdout
    # All failed: exit 1 with one line.
    again = batch_cli(str(notebook), "-p", "fail", "true", "--out", str(tmp_path / "all"))
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "Traceback" not in again.stderr
    assert again.stderr.startswith("mlr-copilot: error: the execution failed: ")


def test_kernel_output_goes_to_a_log_beside_the_notebook_not_the_terminal(tmp_path: Path) -> None:
    """What a kernel prints on its own stderr (tornado's shutdown noise under load, in CI) stays
    off the terminal, where the command's contract is one line per error; it is kept in a log
    beside the executed notebook."""
    notebook = write_notebook(
        tmp_path / "nbs" / "noisy.ipynb", "noisy = True",
        "import os\nif noisy:\n    os.write(2, b'ERROR:tornado.general:kernel-side noise\\n')",
        'raise ValueError("boom")',
    )
    out = tmp_path / "out"
    done = batch_cli(str(notebook), "-p", "noisy", "true", "false", "--out", str(out))
    assert done.returncode == 1
    assert "kernel-side noise" not in done.stderr + done.stdout
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("mlr-copilot: error: "), done.stderr
    log = out / "noisy" / "noisy__noisy=true.kernel.log"
    assert "ERROR:tornado.general:kernel-side noise" in log.read_text()
    quiet = out / "noisy" / "noisy__noisy=false.kernel.log"  # its own noise only, if any (under
    # load a kernel may log "KeyboardInterrupt caught in kernel" as it is shut down)
    assert not quiet.exists() or "kernel-side noise" not in quiet.read_text()
    assert (out / "noisy" / "noisy__noisy=false.ipynb").exists()


@pytest.mark.slow
def test_retries_rerun_failures_in_the_notebook_folder(tmp_path: Path) -> None:
    notebook = fails_first_time(tmp_path / "nbs")
    once = run_batch([notebook], [{"seed": 0}], tmp_path / "once", progress=False)
    assert once.table.loc[0, "status"] == "failed"
    assert once.table.loc[0, "error"] == "RuntimeError: first attempt fails"
    retried = run_batch([notebook], [{"seed": 1}, {"seed": 2}], tmp_path / "retried",
                        retries=1, progress=False)
    assert list(retried.table["status"]) == ["completed", "completed"]
    assert list(retried.table["attempts"]) == [2, 2] and list(retried.table["attempt"]) == [2, 2]
    assert (notebook.parent / "attempts_1.txt").read_text() == "2"  # cwd = the notebook's folder


@pytest.mark.slow
def test_timeout_fails_only_the_slow_execution(tmp_path: Path) -> None:
    notebook = sleeps(tmp_path)
    started = time.monotonic()
    result = run_batch([notebook], {"delay": [60, 0]}, tmp_path / "out", timeout=2,
                       progress=False)
    assert time.monotonic() - started < time_bound(45, below=60)  # not the 60 s cell
    slow, fast = result.table.itertuples()
    assert slow.status == "failed" and slow.error == "CellTimeoutError: a cell ran longer than 2 s"
    assert fast.status == "completed" and fast.slept == 0


@pytest.mark.slow
def test_ctrl_c_saves_finished_rows_and_stops_every_process(tmp_path: Path) -> None:
    import psutil

    notebook = sleeps(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*cli_command(), "batch", str(notebook), "-p", "delay", "0", "120", "120", "121",
         "--workers", "2", "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=as_terminal_job,
    )
    first = out / "sleeps" / "sleeps__delay=0.ipynb"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # wait until the quick run has finished
        try:
            if json.loads(first.read_text())["metadata"]["papermill"].get("end_time"):
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    time.sleep(2)  # the next runs are in their kernels now
    family = psutil.Process(proc.pid).children(recursive=True)
    assert any("ipykernel" in " ".join(p.cmdline()) for p in family)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.strip().count("\n") == 0, stderr
    assert "interrupted; 1 of 4 executions finished" in stderr
    results = pd.read_csv(out / "results.csv")
    assert list(results["status"]) == ["completed", "cancelled", "cancelled", "cancelled"]
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


@pytest.fixture
def shell() -> Iterator[object]:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.magic import Magics, line_magic, magics_class

    from mlr_copilot_jupyter.jupyter_ui import magics_batch
    from mlr_copilot_jupyter.jupyter_ui.magics import user_errors

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mlr_copilot_jupyter")
    if "mlr_batch" not in ip.magics_manager.magics["line"]:  # until magics.py wires it

        @magics_class
        class BatchMagics(Magics):
            mlr_batch = line_magic(user_errors(magics_batch.mlr_batch))

        ip.register_magics(BatchMagics)
    yield ip
    ip.run_line_magic("unload_ext", "mlr_copilot_jupyter")
    InteractiveShell.clear_instance()


@pytest.mark.slow
def test_mlr_batch_magic_shows_the_summary(shell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from IPython.core.error import UsageError

    notebook = fails_when_asked(tmp_path)
    table = shell.run_line_magic(
        "mlr_batch", f"{notebook} -p score 0.25 0.75 --workers 2 --out {tmp_path / 'out'} "
        "--no-progress")
    assert list(table["score"]) == [0.25, 0.75] and list(table["metric_score"]) == [0.25, 0.75]
    assert (tmp_path / "out" / "summary.png").is_file()
    with pytest.raises(UsageError, match="does not exist"):
        shell.run_line_magic("mlr_batch", f"{tmp_path / 'nope.ipynb'} --out {tmp_path}")
    with pytest.raises(UsageError):
        shell.run_line_magic("mlr_batch", f"{notebook}")  # --out is required


@pytest.mark.slow_ok(reason="one CLI subprocess per bad input (a dozen), each ending in its "
                     "one-line error")
def test_invalid_inputs_are_one_line_naming_the_file(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a notebook")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    bad_grid = tmp_path / "grid.yaml"
    bad_grid.write_text("seed: [0, 1\n")
    notebook = fails_when_asked(tmp_path)
    cases = [
        ([str(tmp_path / "missing.ipynb")], "missing.ipynb does not exist"),
        ([str(text_file)], "notes.txt is not a Jupyter notebook"),
        ([str(broken)], "broken.ipynb cannot be read"),
        ([str(notebook), "--grid", str(bad_grid)], "grid.yaml is not valid YAML or JSON"),
        ([str(notebook), "--kernel", "no-such-kernel"], "no Jupyter kernel named"),
    ]
    for args, message in cases:
        done = batch_cli(*args, "--out", str(tmp_path / "out"), timeout=60)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
        assert done.stderr.startswith("mlr-copilot: error:") and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
