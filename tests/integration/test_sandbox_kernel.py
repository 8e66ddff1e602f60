"""What a sandboxed kernel sees, checked from inside a real one (bubblewrap, never a stand-in):
secrets masked under visible system folders, this package's own folder (bundled tasks' held-out
answers) absent, a private HOME and /tmp; and the papermill kernels of a batch are sandboxed too.
The escape attempts of a whole experiment run are in ``test_sandbox_escape.py``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

import mlr_copilot_jupyter
from mlr_copilot_jupyter.experiment.executor import KernelExecutor
from mlr_copilot_jupyter.kernels.sandbox import resolve
from tests.support.cli import cli_command, subprocess_env

pytestmark = pytest.mark.slow

PACKAGE_DIR = Path(mlr_copilot_jupyter.__file__).resolve().parent

PROBE = f"""
import json, os
def readable(path):
    try:
        with open(path, 'rb') as handle:
            handle.read(1)
        return True
    except OSError:
        return False
print(json.dumps({{
    "shadow": readable("/etc/shadow"),
    "passwd": readable("/etc/passwd"),
    "package": os.path.exists({str(PACKAGE_DIR / "tasks")!r}),
    "home": sorted(os.listdir(os.path.expanduser("~"))),
    "sibling": os.path.exists(os.environ["SIBLING"]),
    "marker": os.environ.get("MLR_COPILOT_IN_SANDBOX"),
    "pid": os.getpid(),
}}))
"""


def test_a_sandboxed_kernel_sees_no_secrets_no_answers_and_a_private_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE")
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "other").mkdir()
    monkeypatch.setenv("SIBLING", str(tmp_path / "other"))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    status = resolve("require")
    with KernelExecutor(workspace, sandbox={"bwrap": status.bwrap, "network": False,
                                            "writable": [str(workspace)]}) as ex:
        result = ex.run(PROBE)
    assert result.status == "ok", result.message
    seen = json.loads(result.stdout_text)
    assert seen["passwd"] is True  # system folders stay readable: ordinary code keeps working
    if Path("/etc/shadow").exists():
        assert seen["shadow"] is False  # masked with an empty file, or unreadable
    assert (PACKAGE_DIR / "tasks").is_dir() and seen["package"] is False
    assert ".ssh" not in seen["home"]  # a private, empty HOME (the kernel may add its caches)
    assert seen["sibling"] is False  # /tmp is private: a folder beside the workspace is absent
    assert seen["marker"] == "bubblewrap" and seen["pid"] < 10  # its own PID namespace


def test_batch_kernels_are_sandboxed_with_the_notebooks_folder_writable(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET-OUTSIDE")
    folder = tmp_path / "nb"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell("seed = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import os\n"
            f"try:\n    open({str(outside)!r}).read(); seen = 1\nexcept OSError:\n    seen = 0\n"
            "open('written.txt', 'w').write('ok')\n"
            "print('MLR_METRIC', '{\"name\": \"outside_seen\", \"value\": %d}' % seen)\n"
            "print('MLR_METRIC', '{\"name\": \"sandboxed\", \"value\": %d}' % "
            "(os.environ.get('MLR_COPILOT_IN_SANDBOX') == 'bubblewrap'))\n"),
    ]
    nbformat.write(nb, folder / "probe.ipynb")
    out = tmp_path / "out"
    done = subprocess.run([*cli_command(), "batch", str(folder / "probe.ipynb"), "-p", "seed", "0",
                           "--workers", "1", "--no-progress", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert rows[0]["status"] == "completed", rows
    assert rows[0]["sandboxed"] == 1 and rows[0]["outside_seen"] == 0
    assert (folder / "written.txt").read_text() == "ok"  # its own folder stays writable
    assert os.environ.get("MLR_COPILOT_IN_SANDBOX") is None
