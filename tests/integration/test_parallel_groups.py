"""The sharing-out of tests over pytest-xdist workers (tests/support/parallel.py) really groups.

``make test`` relies on ``--dist loadgroup``: a module-scoped fixture is built once, the real
llama.cpp tests share one server on one worker and the browser tests one JupyterLab. Nothing fails
when the grouping silently stops (pytest 9.2 with pytest-xdist 3.8 did exactly that,
pytest-dev/pytest-xdist#1386): the tests are just spread over the workers and every worker builds
its own copy of what should be shared. This runs a small suite through the project's own plugin on
two real workers and reads which worker ran each test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = '''
import json, os
import pytest

pytest_plugins = ["tests.support.parallel"]


def pytest_configure(config):
    config.addinivalue_line("markers", "llama: the real llama.cpp tests")


@pytest.fixture(scope="session")
def _lab_for_session():
    return "lab"


@pytest.fixture(scope="module")
def shared():
    return "built once per module"


@pytest.fixture(autouse=True)
def _who(request):
    yield
    with open(os.environ["WHO_RAN"], "a") as out:
        out.write(json.dumps([request.node.name, os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")
'''

TESTS = '''
import time
import pytest


@pytest.mark.llama
@pytest.mark.parametrize("i", range(3))
def test_llama(i):
    time.sleep(0.3)


@pytest.mark.parametrize("i", range(3))
def test_lab(_lab_for_session, i):
    time.sleep(0.3)


@pytest.mark.parametrize("i", range(3))
def test_module_fixture(shared, i):
    time.sleep(0.3)


@pytest.mark.parametrize("i", range(6))
def test_free(i):
    time.sleep(0.3)
'''

# an e2e test that needs neither server (an example notebook): it joins the JupyterLab group
E2E_TESTS = '''
import time
import pytest


@pytest.mark.parametrize("i", range(2))
def test_example_notebook(i):
    time.sleep(0.3)
'''


def test_llama_lab_and_module_fixture_tests_each_stay_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_groups.py").write_text(TESTS)
    (tmp_path / "tests" / "e2e").mkdir(parents=True)
    (tmp_path / "tests" / "e2e" / "test_notebooks.py").write_text(E2E_TESTS)
    who = tmp_path / "who.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=str(ROOT), WHO_RAN=str(who))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup",
         "--no-loadscope-reorder", "-p", "no:cacheprovider", "-q", "-c", os.devnull,
         "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = [json.loads(line) for line in who.read_text().splitlines()]
    assert len(ran) == 17, ran
    workers: dict[str, set[str]] = {}
    for name, worker in ran:
        workers.setdefault(name.split("[", 1)[0], set()).add(worker)
    assert all(w and w.startswith("gw") for ws in workers.values() for w in ws), workers
    for group in ("test_llama", "test_lab", "test_module_fixture"):
        assert len(workers[group]) == 1, (
            f"{group} ran on {sorted(workers[group])}: --dist loadgroup does not group "
            f"(pytest {pytest.__version__}; see pytest-dev/pytest-xdist#1386)")
    assert workers["test_free"] == {"gw0", "gw1"}, workers  # the rest is shared out
    # the e2e layer's other tests run beside the model, never queued behind it
    assert workers["test_example_notebook"] == workers["test_lab"] != workers["test_llama"], workers

