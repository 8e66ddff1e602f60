"""A corpus of bad inputs, generated at test time, through the surfaces a user touches, run in
this process.

Papers (broken, encrypted, scanned, empty, huge PDFs; binary and non-UTF-8 text), task specs,
run folders given to ``--resume``, numeric options, notebooks given to ``batch``, and magic lines
that make no sense. Each must either load or fail with one line that names the input — never a
traceback, never a hang. The CLI cases call ``mlr_copilot_jupyter.cli.main`` (what the installed
command runs) in this process; tests/integration/test_bad_inputs.py runs the installed command
itself on one input of each kind, a 49 MB paper, and a run without eval.py. Every input tried is
also logged in :data:`CORPUS` (what was tried and how it ended) for debugging a failure.

"Never a hang" is checked against wall-clock bounds stated for an idle machine and scaled to the
load (``tests/support/load.py``); the work is also bounded in CPU seconds.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from mlr_copilot_jupyter.experiment.task import load_task
from tests.support.bad_inputs import (
    CORPUS,
    LOADS,
    Tried,
    check_outcome,
    error_line,
    resume_folder,
    wine_copy,
)
from tests.support.cli import cli_main
from tests.support.experiments import make_mlagentbench_task
from tests.support.pdfgen import (
    corrupt_copies,
    make_conference_pdf,
    make_encrypted_pdf,
    make_image_only_pdf,
)


@pytest.fixture(autouse=True)
def no_sandbox_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MLR_COPILOT_SANDBOX=off``: an experiment resolves its sandbox before it loads the task or
    the run folder, and under ``auto`` that starts bubblewrap once (a process). These inputs fail
    before any kernel whatever the sandbox; the installed command meets them with the default
    sandbox in tests/integration/test_bad_inputs.py."""
    monkeypatch.setenv("MLR_COPILOT_SANDBOX", "off")


def check_cli(surface: str, name: str, args: list[str], expect: str, *,
              capsys: pytest.CaptureFixture[str], limit: float = 20,
              ) -> subprocess.CompletedProcess[str]:
    """Run the CLI (``cli.main``, in this process) on one bad input: it loads
    (``expect == LOADS``) or fails in one line matching ``expect`` (a substring); never a
    traceback, never more than ``limit`` CPU seconds, nor slower than ``limit`` s on an idle
    machine (the wall-clock bound scales with the load)."""
    result, elapsed, cpu = cli_main(capsys, *args)
    check_outcome(surface, name, result, elapsed, expect, limit)
    assert cpu < limit, f"{name}: used {cpu:.1f} s of CPU, over {limit:g} s"
    return result


# -- papers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("papers")
    good = make_conference_pdf(root / "good.pdf", pages=12)
    corrupt_copies(good, root)  # truncated, garbage, empty, header_only, html, corrupt (.pdf)
    make_encrypted_pdf(root / "encrypted.pdf")
    make_image_only_pdf(root / "image_only.pdf")
    with open(root / "huge.pdf", "wb") as handle:  # sparse: 60 MB on paper, nothing on disk
        handle.write(b"%PDF-1.7\n")
        handle.truncate(60_000_000)
    (root / "folder.pdf").mkdir()
    rng = random.Random(0)
    (root / "binary.txt").write_bytes(bytes(rng.randrange(256) for _ in range(8192)))
    latin = ("Réseaux élagués pour la détection\n\nAbstract\n\n"
             + "Nous proposons une méthode légère et précise pour la détection. " * 12
             + "\n\n1 Introduction\n\n" + "Le modèle généralise mieux à coût réduit. " * 40)
    (root / "latin1.txt").write_bytes(latin.encode("latin-1"))
    return root


PAPER_CASES = {
    "truncated.pdf": "is truncated",
    "header_only.pdf": "is truncated",
    "garbage.pdf": "is not a PDF",
    "html.pdf": "is not a PDF",
    "corrupt.pdf": "is corrupt",
    "empty.pdf": "is empty (0 bytes)",
    "encrypted.pdf": "is encrypted",
    "image_only.pdf": "no extractable text",
    "huge.pdf": "over the 50 MB limit",
    "folder.pdf": "is a directory",
    "missing.pdf": "not found",
    "binary.txt": "looks like a binary file",
}


@pytest.mark.parametrize("name", list(PAPER_CASES))
def test_bad_paper_is_one_line_naming_the_file(
    papers: Path, name: str, capsys: pytest.CaptureFixture[str],
) -> None:
    path = papers / name
    result = check_cli("problem", name, ["problem", str(path), "--json"], PAPER_CASES[name],
                       capsys=capsys)
    assert str(path) in error_line(result)


def test_latin1_text_loads_with_its_accents(
    papers: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    result = check_cli("problem", "latin1.txt", ["problem", str(papers / "latin1.txt"), "--json"],
                       LOADS, capsys=capsys)
    paper = json.loads(result.stdout)["paper"]
    assert paper["title"] == "Réseaux élagués pour la détection"
    assert "\ufffd" not in result.stdout


def test_nonsense_max_pages_is_refused(papers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_cli("problem", "good.pdf --max-pages -3",
              ["problem", str(papers / "good.pdf"), "--max-pages", "-3", "--json"], "--max-pages",
              capsys=capsys)


def test_60_mb_text_is_refused_with_the_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.write(b"A title\n\n")
        handle.truncate(60_000_000)
    result = check_cli("problem", "huge.txt", ["problem", str(path)], "over the 50 MB limit",
                       capsys=capsys)
    assert "60.0 MB" in error_line(result)


# -- task specs ---------------------------------------------------------------------------------
def _edit(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new)

    return edit


TASK_CASES: dict[str, tuple[Callable[[str], str], str]] = {
    "missing metric": (lambda t: t.split("[metric]")[0] + "\n[budget]\nmax_steps = 3\n",
                       "field 'metric' is missing"),
    "unknown direction": (_edit('direction = "maximize"', 'direction = "upwards"'),
                          "'metric.direction' is 'upwards'"),
    "missing data file": (_edit('"valid.csv"]', '"holdout.csv"]'),
                          "names 'holdout.csv', which does not exist"),
    "invalid TOML": (_edit('name = "wine"', 'name = "wine'), "invalid TOML"),
    "data outside the task": (_edit('"train.csv",', '"../../etc/passwd",'),
                              "use a path inside"),
    "empty file": (lambda t: "", "field 'description' is missing"),
    "wrong type": (_edit("max_steps = 10", 'max_steps = "ten"'), "must be an integer"),
}


@pytest.mark.parametrize("case", list(TASK_CASES))
def test_malformed_task_is_one_line_naming_the_spec(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = wine_copy(tmp_path)
    spec = folder / "task.toml"
    edit, expected = TASK_CASES[case]
    spec.write_text(edit(spec.read_text()))
    out = tmp_path / "run"
    result = check_cli("experiment --task", case,
                       ["experiment", "--task", str(folder), "--out", str(out)], expected,
                       capsys=capsys)
    assert str(spec) in error_line(result)
    assert not out.exists(), "a run folder was made for a task that does not load"


def test_binary_task_spec_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = wine_copy(tmp_path)
    (folder / "task.toml").write_bytes(b"\xff\xfe\x00garbage\x00" * 50)
    check_cli("experiment --task", "binary task.toml",
              ["experiment", "--task", str(folder), "--out", str(tmp_path / "run")],
              "not UTF-8 text", capsys=capsys)


def test_mlagentbench_folder_without_eval_py_loads_and_infers_the_metric(tmp_path: Path) -> None:
    folder = make_mlagentbench_task(tmp_path / "mlab")
    (folder / "scripts" / "eval.py").unlink()
    task = load_task(folder)
    CORPUS.append(Tried("load_task", "MLAgentBench without eval.py", "loaded", False))
    assert task.layout == "mlagentbench" and task.eval_script is None
    assert (task.metric.name, task.metric.direction) == ("accuracy", "maximize")  # from the problem
    assert task.baseline == "train.py" and set(task.data_files) == {"train.csv", "test.csv"}


# -- run folders given to --resume ---------------------------------------------------------------
RESUME_CASES = {
    "not a run folder": "no journal at",
    "corrupt journal": "is not valid",
    "journal of another shape": "is not valid",
    "no record": "no record notebook at",
    "truncated record": "is not valid",
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_of_a_broken_run_folder_is_one_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = resume_folder(tmp_path, case)
    result = check_cli("experiment --resume", case,
                       ["experiment", "--task", "wine", "--resume", str(folder)],
                       RESUME_CASES[case], capsys=capsys)
    assert str(folder) in error_line(result)


# -- options that make no sense --------------------------------------------------------------
OPTION_CASES = {
    "--max-steps -3": (["experiment", "--task", "wine", "--max-steps", "-3"], "--max-steps"),
    "--retries -1": (["experiment", "--task", "wine", "--retries", "-1"], "max_retries"),
    "--temperature nan": (["experiment", "--task", "wine", "--temperature", "nan"], "temperature"),
    "--seed abc": (["experiment", "--task", "wine", "--seed", "abc"], "--seed"),
    "--idea not-json": (["experiment", "--task", "wine", "--idea", "{tmp}/idea.json"],
                        "is not JSON"),
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_nonsense_option_is_one_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "idea.json").write_bytes(b"\x89PNG\r\n\x1a\n")
    args, expected = OPTION_CASES[case]
    args = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--out", str(tmp_path / "run")]
    check_cli("experiment", case, args, expected, capsys=capsys)
    assert not (tmp_path / "run" / "journal.json").exists()


UNSAFE_OPTION_CASES = {
    "--cell-timeout -1": (["--cell-timeout", "-1"], "--cell-timeout"),
    "--cell-timeout nan": (["--cell-timeout", "nan"], "--cell-timeout"),
    "--memory-limit-mb -5": (["--memory-limit-mb", "-5"], "--memory-limit-mb"),
}


@pytest.mark.parametrize("case", list(UNSAFE_OPTION_CASES))
def test_limit_that_disables_itself_is_refused(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
) -> None:
    extra, expected = UNSAFE_OPTION_CASES[case]
    out = tmp_path / "run"
    check_cli("experiment", case, ["experiment", "--task", "wine", "--max-steps", "0",
                                   "--no-verify", "--out", str(out), *extra], expected,
              capsys=capsys, limit=60)
    assert not out.exists()


def test_nan_request_timeout_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    check_cli("config", "--timeout nan", ["config", "--timeout", "nan", "--json"],
              "request_timeout", capsys=capsys)


# -- notebooks given to batch -------------------------------------------------------------------
@pytest.fixture(scope="module")
def batch_cli() -> None:
    """``mlr-copilot batch --help`` answers (``cli.main``, in this process)."""
    from mlr_copilot_jupyter.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["batch", "--help"])
    assert exc.value.code in (0, None), f"`mlr-copilot batch --help` exits {exc.value.code}"


NOTEBOOK_CASES: dict[str, tuple[str, bytes | None, str]] = {
    "not JSON": ("notes.ipynb", b"print('hello')\n", "cannot be read"),
    "truncated JSON": ("cut.ipynb", b'{"cells": [{"cell_type": "code", "sou', "cannot be read"),
    "JSON, not a notebook": ("list.ipynb", b'{"cells": 5}', "cannot be read"),
    "zero bytes": ("empty.ipynb", b"", "cannot be read"),
    "not .ipynb": ("paper.txt", b"just text\n", "is not a Jupyter notebook"),
    "missing": ("missing.ipynb", None, "does not exist"),
}


@pytest.mark.parametrize("case", list(NOTEBOOK_CASES))
def test_invalid_notebook_for_batch_is_one_line(
    batch_cli: None, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
) -> None:
    name, data, expected = NOTEBOOK_CASES[case]
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    result = check_cli("batch", case, ["batch", str(path), "-p", "seed", "0", "--out",
                                       str(tmp_path / "out")], expected, capsys=capsys)
    assert name in error_line(result)


# -- magics ---------------------------------------------------------------------------------


def check_magic(ip: InteractiveShell, capsys: pytest.CaptureFixture[str], magic: str,
                line: str, expected: str) -> None:
    """``%magic line`` raises a one-line UsageError matching ``expected``; the shell survives."""
    assert ip.find_line_magic(magic) is not None, f"%{magic} is not registered (see %lsmagic)"
    name = f"{magic} {line}".strip()
    try:
        ip.run_line_magic(magic, line)
    except UsageError as exc:
        CORPUS.append(Tried("magic", name, "UsageError", False))
        message = str(exc)
        assert "\n" not in message and expected in message, message
    except BaseException as exc:
        CORPUS.append(Tried("magic", name, type(exc).__name__, True))
        raise AssertionError(f"%{name} raised {type(exc).__name__}: {exc}") from None
    else:
        CORPUS.append(Tried("magic", name, "accepted", False))
        raise AssertionError(f"%{name} was accepted")
    capsys.readouterr()
    ip.run_line_magic("mlr_config", "--json")  # the shell and the extension still work
    assert json.loads(capsys.readouterr().out)["backend"]


MAGIC_CASES = [
    ("mlr_paper", "", "required: source"),
    ("mlr_paper", "--max-pages many paper.pdf", "--max-pages"),
    ("mlr_paper", "{papers}/garbage.pdf", "is not a PDF"),
    ("mlr_paper", "{papers}/huge.pdf", "over the 50 MB limit"),
    ("mlr_paper", "O'Brien 2020.pdf", "O'Brien 2020.pdf not found"),
    ("mlr_idea", "-n abc", "argument -n"),
    ("mlr_idea", "-n -1", "-n must be between 1 and 20"),
    ("mlr_idea", "--related {papers}/garbage.pdf -n 1", "unsupported related-work file"),
    ("mlr_problem", "", "no paper loaded"),
    ("mlr_review", "", "no ideas yet"),
    ("mlr_config", "--temperature nan", "temperature nan is outside 0..2"),
    ("mlr_config", "--temperature inf", "outside 0..2"),
    ("mlr_config", "--backend gpt5", "--backend"),
    ("mlr_config", "--base-url", "--base-url"),
    ("mlr_experiment", "--max-steps -3 --task wine", "--max-steps must be between 0 and 200"),
    ("mlr_experiment", "--task /no/such/task", "not found"),
    ("mlr_experiment", "--mode yolo --task wine", "--mode"),
    ("mlr_experiment", "--stop", "no experiment is running"),
]


@pytest.mark.parametrize(("magic", "line", "expected"), MAGIC_CASES,
                         ids=[f"{m} {ln}".strip() for m, ln, _ in MAGIC_CASES])
def test_nonsense_magic_line_is_a_usage_error_and_the_shell_survives(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], papers: Path,
    magic: str, line: str, expected: str,
) -> None:
    check_magic(ip, capsys, magic, line.replace("{papers}", str(papers)), expected)


def test_unclosed_quote_in_a_magic_line_is_a_usage_error(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str],
) -> None:
    check_magic(ip, capsys, "mlr_paper", "'My Paper.pdf", "My Paper.pdf")


def test_negative_cell_timeout_magic_is_a_usage_error(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    check_magic(ip, capsys, "mlr_experiment",
                f"--task wine --cell-timeout -1 --max-steps 0 --out {tmp_path / 'run'} --wait",
                "--cell-timeout")
