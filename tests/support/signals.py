"""Each test leaves the test process's signal state as it found it.

``cli.main`` run in-process (``tests/support/cli.py::cli_main``) ignores SIGINT once it has
caught a Ctrl-C, so that a second press while it exits cannot kill it: right for the command,
whose process ends next, but a pytest worker lives on, and every process it starts afterwards
inherits the ignored SIGINT (and a blocked one, through the signal mask) and then ignores Ctrl-C.
Two Ctrl-C tests failed so on a busy machine, their CLI running to the end after the SIGINT
(issue 26). ``tests/conftest.py`` wraps every test in :func:`kept_signal_state`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def snapshot() -> tuple[dict[int, object], set[int]] | None:
    """The SIGINT/SIGTERM handlers and this thread's signal mask (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return ({sig: signal.getsignal(sig) for sig in SIGNALS},
            set(signal.pthread_sigmask(signal.SIG_BLOCK, set())))


def restore(state: tuple[dict[int, object], set[int]] | None) -> None:
    """Put back what :func:`snapshot` saw."""
    if state is None or threading.current_thread() is not threading.main_thread():
        return
    handlers, mask = state
    for sig, handler in handlers.items():
        if handler is not None and signal.getsignal(sig) != handler:
            signal.signal(sig, handler)  # type: ignore[arg-type]
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _interactive_sigint() -> None:
    """Python's own SIGINT handler (KeyboardInterrupt) if the session started with SIGINT
    ignored: a non-interactive shell ignores it in the jobs it starts with ``&`` (``nohup make
    test &``), pytest then inherits that, and the Ctrl-C tests would test a process no terminal
    starts (a test's own SIGINT never raised; issue 26, beside CPU burners)."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) == signal.SIG_IGN):
        signal.signal(signal.SIGINT, signal.default_int_handler)


_interactive_sigint()
#: The state of the session's start (conftest imports this module first thing).
AT_START = snapshot()


@contextlib.contextmanager
def kept_signal_state(state: tuple[dict[int, object], set[int]] | None = AT_START,
                      ) -> Iterator[None]:
    """Run a test with the signal state of the session's start, and give it back after: a
    module- or session-scoped fixture that changed it is undone before the test, the test's own
    change after it."""
    restore(state)
    try:
        yield
    finally:
        restore(state)
