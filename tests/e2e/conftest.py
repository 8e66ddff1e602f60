"""The e2e session's shared servers: one JupyterLab and one Chromium for all browser modules
(reset between modules, a fresh browser context per test; tests/support/lab_server.py), and the
llama.cpp server started once (tests/support/llama.py, registered in tests/conftest.py)."""

from tests.support.lab_server import (  # noqa: F401  (fixtures)
    _chromium,
    _lab_for_session,
    _notebook7_for_session,
)
