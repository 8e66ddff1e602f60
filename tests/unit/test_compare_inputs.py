"""``mlr-copilot compare`` refuses bad input in one line before it starts anything (in-process:
``cli.main``; the installed command's one-line errors are shown by the real-process cases of
tests/integration/test_bad_inputs.py and test_compare.py)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.support.cli import cli_main

PAPER = Path(__file__).parents[2] / "mlr_copilot_jupyter" / "data" / "demo_paper.md"


@pytest.fixture(scope="module")
def ideas_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three ideas fitted to the wine task, as ``mlr-copilot ideas --out`` writes them."""
    from mlr_copilot_jupyter.cli import main

    out = tmp_path_factory.mktemp("ideas") / "ideas.json"
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        code = main(["ideas", str(PAPER), "--task", "wine", "-n", "3", "--backend", "offline",
                     "--no-semantic-scholar", "--out", str(out)])
    assert code == 0, err.getvalue()
    return out


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # the sandbox is resolved before the inputs are read, and under ``auto`` that starts
    # bubblewrap once (a process); these inputs are refused whatever the sandbox
    monkeypatch.setenv("MLR_COPILOT_SANDBOX", "off")
    monkeypatch.setenv("MLR_COPILOT_BACKEND", "offline")


@pytest.mark.parametrize(("args", "message"), [
    (["--ideas", "missing.json"], "ideas file"),
    (["--ideas", "bad.json"], "is not valid"),
    (["--ideas", "empty.json"], "holds no ideas"),
    (["--ideas", "IDEAS", "idea-99"], "no idea 'idea-99'"),
    (["--ideas", "IDEAS", "--workers", "0"], "--workers must be >= 1"),
    (["--ideas", "IDEAS", "--seeds", "-1"], "--seeds must be >= 0"),
    (["--ideas", "IDEAS", "--task", "no_such_task"], "no_such_task"),
])
def test_bad_inputs_are_one_line(ideas_file: Path, tmp_path: Path, args: list[str], message: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "empty.json").write_text('{"ideas": []}')
    args = [str(ideas_file) if a == "IDEAS" else a for a in args]
    task = [] if "--task" in args else ["--task", "wine"]
    done, _, _ = cli_main(capsys, "compare", *args, *task, "--out", str(tmp_path / "o"),
                          "--backend", "offline")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("mlr-copilot") and "error: " in lines[-1], done.stderr
    assert message in lines[-1], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o" / "runs").exists()
