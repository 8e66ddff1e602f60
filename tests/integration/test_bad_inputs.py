"""Bad inputs through the installed ``mlr-copilot`` command, a real process: one input of each
kind (a paper, a task spec, a run folder, an option argparse refuses, a limit that would switch
itself off, a notebook for ``batch``) ends in one ``mlr-copilot: error:`` line and exit status
1 or 2, with no traceback escaping the interpreter; a 49 MB paper is read, not hung on (the
command is killed after a bound); a paper over ``--max-pages`` loads with the warning on stderr;
an MLAgentBench folder without eval.py runs sensibly.

The whole corpus of bad inputs (every paper, spec, folder, option, notebook and magic line) runs
in-process at unit level: tests/unit/test_bad_inputs.py. Every input tried here is logged in
:data:`CORPUS` (what was tried and how it ended) for debugging a failure.

"Never a hang" is checked against wall-clock bounds stated for an idle machine and scaled to the
load (``tests/support/load.py``); work done in this process is also bounded in CPU seconds.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.bad_inputs import (
    CORPUS,
    LOADS,
    Tried,
    check_outcome,
    error_line,
    resume_folder,
    wine_copy,
)
from tests.support.cli import cli_command, subprocess_env
from tests.support.experiments import make_mlagentbench_task
from tests.support.load import cpu_seconds, explain, time_bound
from tests.support.pdfgen import corrupt_copies, make_conference_pdf


def cli(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    """The installed ``mlr-copilot`` command, in a subprocess, and its wall seconds; it is
    killed after ``timeout`` seconds on an idle machine, scaled to the load."""
    timeout = time_bound(timeout)
    started = time.monotonic()
    result = subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                            timeout=timeout, env=subprocess_env())
    return result, time.monotonic() - started


def check_cli(surface: str, name: str, args: list[str], expect: str, *, timeout: float = 60,
              limit: float = 20) -> subprocess.CompletedProcess[str]:
    """Run the installed command on one bad input: it loads (``expect == LOADS``) or fails in one
    line matching ``expect`` (a substring); never a traceback, never slower than ``limit`` s on
    an idle machine (the wall-clock bound scales with the load; ``timeout``, scaled alike, kills
    a hang)."""
    result, elapsed = cli(*args, timeout=timeout)
    check_outcome(surface, name, result, elapsed, expect, limit)
    return result


# -- papers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("papers")
    corrupt_copies(make_conference_pdf(root / "good.pdf", pages=12), root)  # truncated.pdf, ...
    return root


def test_more_pages_than_max_pages_loads_the_first_pages(papers: Path) -> None:
    """The package's warning reaches the real process's stderr (logging's last resort)."""
    result = check_cli("problem", "good.pdf --max-pages 2",
                       ["problem", str(papers / "good.pdf"), "--max-pages", "2", "--json"], LOADS)
    assert json.loads(result.stdout)["paper"]["n_pages"] == 12
    assert "read the first 2 of 12 pages" in result.stderr


def _big_text(path: Path, size: int) -> Path:
    words = ("model data learning neural training accuracy method results experiment baseline "
             "transformer gradient benchmark robust").split()
    rng = random.Random(0)
    paragraph = " ".join(rng.choice(words) for _ in range(3000)) + ".\n\n"
    head = "A Very Long Paper\n\nAbstract\n\nWe propose to read long papers fast.\n\n1 Introduction\n\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head)
        while handle.tell() < size:
            handle.write(paragraph)
        handle.truncate(size)
    return path


@pytest.fixture(scope="module")
def big_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_text(tmp_path_factory.mktemp("big") / "big.txt", 49_000_000)


def test_49_mb_text_loads_within_seconds(big_text: Path, tmp_path: Path) -> None:
    """Seconds of CPU, whatever the load; the wall-clock bound (scaled) only catches a hang."""
    from mlr_copilot_jupyter import Copilot

    started, cpu = time.monotonic(), cpu_seconds()
    paper = Copilot(backend="offline").read_paper(big_text)
    elapsed, cpu = time.monotonic() - started, cpu_seconds() - cpu
    CORPUS.append(Tried("api", "49 MB text (read_paper)", "loaded", False))
    assert paper.title == "A Very Long Paper" and len(paper.text) > 40_000_000
    assert cpu < 10, f"reading 49 MB of text used {cpu:.1f} s of CPU"
    bound = time_bound(10)
    assert elapsed < bound, f"reading 49 MB of text took {elapsed:.1f} s, over {bound:.0f} s; " \
        f"{explain()}"


@pytest.mark.slow
def test_problem_of_a_49_mb_text_answers_within_seconds(big_text: Path) -> None:
    try:
        check_cli("problem", "49 MB text (problem)", ["problem", str(big_text), "--json"], LOADS,
                  timeout=15, limit=15)
    except subprocess.TimeoutExpired:
        CORPUS.append(Tried("problem", "49 MB text (problem)",
                            f"hang > {time_bound(15):.0f} s", False))
        raise


@pytest.mark.slow
def test_mlagentbench_folder_without_eval_py_runs_sensibly(tmp_path: Path) -> None:
    """No eval.py and a baseline that prints no metric: the baseline is 'no_metric', the search
    still finds a verified best, and no improvement is claimed without a baseline number."""
    folder = make_mlagentbench_task(tmp_path / "mlab")
    (folder / "scripts" / "eval.py").unlink()
    out = tmp_path / "run"
    result = check_cli("experiment --task", "MLAgentBench without eval.py (run)",
                       ["experiment", "--task", str(folder), "--max-steps", "1", "--out", str(out),
                        "--json"], LOADS, timeout=180, limit=120)
    summary = json.loads(result.stdout)
    journal = json.loads((out / "journal.json").read_text())
    assert journal["nodes"][0]["status"] == "no_metric"
    assert summary["status"] == "done" and summary["verified"]
    assert summary["relative_improvement"] is None and summary["success"] is False


# -- the installed command ------------------------------------------------------------------
def _installed_case(case: str, papers: Path, root: Path) -> tuple[list[str], str, Path | None]:
    """``(args, expected words, the path the error line names)`` of one kind of bad input."""
    if case == "truncated.pdf":
        return ["problem", str(papers / "truncated.pdf")], "is truncated", papers / "truncated.pdf"
    if case == "missing metric":
        task = wine_copy(root)
        spec = task / "task.toml"
        spec.write_text(spec.read_text().split("[metric]")[0] + "\n[budget]\nmax_steps = 3\n")
        return (["experiment", "--task", str(task), "--out", str(root / "run")],
                "field 'metric' is missing", spec)
    if case == "corrupt journal":
        folder = resume_folder(root, "corrupt journal")
        return ["experiment", "--task", "wine", "--resume", str(folder)], "is not valid", folder
    if case == "--seed abc":
        return (["experiment", "--task", "wine", "--seed", "abc", "--out", str(root / "run")],
                "--seed", None)
    if case == "--cell-timeout -1":
        return (["experiment", "--task", "wine", "--max-steps", "0", "--no-verify",
                 "--cell-timeout", "-1", "--out", str(root / "run")], "--cell-timeout", None)
    assert case == "batch: not JSON", case
    notebook = root / "notes.ipynb"
    notebook.write_bytes(b"print('hello')\n")
    return (["batch", str(notebook), "-p", "seed", "0", "--out", str(root / "out")],
            "cannot be read", notebook)


#: One input of each kind, and the exit status: a file that is not what it claims, a task spec,
#: a run folder, an option argparse refuses (2), a limit that would switch itself off, a notebook.
INSTALLED_CASES = {"truncated.pdf": 1, "missing metric": 1, "corrupt journal": 1,
                   "--seed abc": 2, "--cell-timeout -1": 1, "batch: not JSON": 1}


@pytest.mark.parametrize("case", list(INSTALLED_CASES))
def test_the_installed_command_shows_the_same_one_line_errors(
    papers: Path, tmp_path: Path, case: str,
) -> None:
    """tests/unit/test_bad_inputs.py runs ``cli.main`` in-process on every bad input; one input of
    each kind goes through the real entry point here: one line, its exit status, no traceback."""
    args, expected, named = _installed_case(case, papers, tmp_path)
    result = check_cli("installed", f"{case} (installed)", args, expected)
    assert result.returncode == INSTALLED_CASES[case], result.stderr[-3000:]
    if named is not None:
        assert str(named) in error_line(result)
    if case in ("missing metric", "--cell-timeout -1"):
        assert not (tmp_path / "run").exists(), "a run folder was made for a run that cannot start"
