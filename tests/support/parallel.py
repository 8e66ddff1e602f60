"""How the unit and integration layers share out over pytest-xdist workers (``make test``).

``make test`` runs ``pytest tests/unit tests/integration -n $(TEST_WORKERS)`` with
``--dist loadgroup`` (pyproject ``addopts``): every test is its own unit of work except the tests
marked ``xdist_group``, which all run on one worker. Two rules, applied at collection on every
worker (all workers must collect the same items in the same order):

* **Module-scoped fixtures stay on one worker.** A test that uses a module-scoped fixture (a
  record notebook from an offline experiment, a 12-page PDF, a 49 MB text, an idle-kill run) is put
  in the group of its module, so the fixture is built once, as in a serial run, not once on every
  worker that happens to get one of the module's tests.
* **The slowest tests start first.** Tests marked ``slow_ok`` (over 20 s; see
  :mod:`tests.support.budget`) move to the front of the queue, then the groups, so that a
  two-minute test or a long group does not start last and run alone while the other workers idle
  (``--no-loadscope-reorder`` keeps that order: xdist would otherwise put big groups first).

* **The e2e layer runs on two workers, in two halves** (``make test``: ``tests/e2e -n 2``). The
  real llama.cpp tests are one group (one server, CPU-bound on its two threads) and start first;
  every other e2e test is the other group: the browser journeys (one JupyterLab, one Chromium)
  and the example notebooks run beside the model instead of after it. (The notebooks were left
  ungrouped until issue 26's last round: xdist queued two of them behind the llama group, whose
  worker keeps asking for work while it holds two pending tests, and they ran after it, 14 s
  added to the layer's critical path.)

Nothing here changes a serial run (no ``-n``): the order and the fixtures are those of plain pytest.
"""

from __future__ import annotations

import os

import pytest

#: Fixture scopes whose value a worker builds once for all the tests it runs of that scope.
_SHARED_SCOPES = {"module", "class"}


#: The e2e session's JupyterLab and Notebook 7 servers (tests/support/lab_server.py): their users
#: share one worker (and its one Chromium).
LAB_FIXTURES = ("_lab_for_session", "_notebook7_for_session")


def _shared_scope_key(item: pytest.Item) -> str | None:
    """The group of the server ``item`` shares (``llama``, ``lab``), else the module (or class)
    whose shared fixture it uses, or None."""
    if item.get_closest_marker("llama") is not None:
        return "llama"
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    if any(name in info.names_closure for name in LAB_FIXTURES):
        return "lab"
    if item.nodeid.replace("\\", "/").startswith("tests/e2e/"):
        return "lab"  # the rest of the e2e layer: the example notebooks, beside the model
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name)
        if not defs:
            continue
        scope = defs[-1].scope  # the definition that applies to this test
        if scope in _SHARED_SCOPES:
            module = item.nodeid.split("::", 1)[0]
            if scope == "class" and item.cls is not None:
                return f"{module}::{item.cls.__name__}"
            return module
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # serial run: plain pytest order and fixtures
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        key = _shared_scope_key(item)
        if key is not None:
            item.add_marker(pytest.mark.xdist_group(key))
    # the llama.cpp group, slow tests, then the groups (a group runs test after test on one
    # worker), then the rest; stable, and ``--no-loadscope-reorder`` keeps xdist from reordering
    # by group size
    items.sort(key=lambda item: (item.get_closest_marker("llama") is None,
                                 item.get_closest_marker("slow_ok") is None,
                                 item.get_closest_marker("xdist_group") is None))
