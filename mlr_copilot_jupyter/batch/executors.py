"""Where batch executions run: a local process pool or a Dask cluster, behind one small protocol.

:func:`execute_job` is the unit of work: one papermill execution, run in a worker process. It never
raises for a failing notebook; it returns a JSON-serialisable outcome (status, error, metrics).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InputError

if TYPE_CHECKING:
    from ..kernels.sandbox import SandboxStatus

#: Seconds the local pool's workers get to shut their kernels down after Ctrl-C.
SHUTDOWN_GRACE = 5.0


class FutureLike(Protocol):
    """What the driver needs from a future (``concurrent.futures`` and ``distributed`` agree)."""

    def result(self, timeout: float | None = None) -> Any: ...

    def cancel(self) -> Any: ...

    def done(self) -> bool: ...

    def add_done_callback(self, fn: Callable[[Any], Any]) -> None: ...


class BatchExecutor(Protocol):
    """Runs picklable top-level functions somewhere else."""

    name: str
    description: str

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> FutureLike: ...

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> list[FutureLike]: ...

    def shutdown(self, *, cancel: bool = False) -> None:
        """Release the workers; with ``cancel``, drop pending work and stop running work."""


def one_line(text: Any, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _escape_braces(path: str) -> str:
    # papermill formats both paths with the parameters (``out_{seed}.ipynb``).
    return path.replace("{", "{{").replace("}", "}}")


TIMEOUT_ENAME = "CellTimeoutError"


def _timeout_options(timeout: float | None) -> dict[str, Any]:
    # Interrupt the cell and record the timeout as the cell's error, so that papermill marks the
    # cell like any failure; raising instead tears the busy kernel down mid-reply.
    if not timeout:
        return {}
    evalue = f"the cell ran longer than {timeout:g} s"
    return {"interrupt_on_timeout": True,
            "error_on_timeout": {"ename": TIMEOUT_ENAME, "evalue": evalue,
                                 "traceback": [f"{TIMEOUT_ENAME}: {evalue}"]}}


def _timed_out(nb: Any, timeout: float | None) -> bool:
    """Whether the failed cell was interrupted by the timeout (its error is a KeyboardInterrupt)."""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("exception"):
            return timeout is not None and (meta.get("duration") or 0) >= timeout and any(
                o.get("ename") in {"KeyboardInterrupt", TIMEOUT_ENAME}
                for o in cell.get("outputs", []) if o.get("output_type") == "error")
    return False


def kernel_log_path(output: str | Path) -> Path:
    """The kernel's log beside the executed notebook: ``run.ipynb`` -> ``run.kernel.log``."""
    return Path(output).with_suffix(".kernel.log")


def execute_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one notebook with papermill; the outcome, never an exception for a failing notebook.

    ``job`` has ``input``, ``output``, ``parameters``, ``kernel_name``, ``timeout`` (seconds per
    cell, or None) and ``cwd`` (the folder the kernel starts in).
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from ..kernels.launcher import kernel_resources
    from ..kernels.manager import logged_kernel_manager
    from .results import notebook_metrics

    # The table has the errors; papermill's log lines (unknown parameter, timeout) would only
    # interleave on the terminal.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    started = time.monotonic()
    status, error, nb = "completed", None, None
    kernel_log = kernel_log_path(job["output"])
    kernel_log.parent.mkdir(parents=True, exist_ok=True)
    try:
        nb = papermill.execute_notebook(
            _escape_braces(job["input"]), _escape_braces(job["output"]),
            parameters=dict(job["parameters"]), kernel_name=job.get("kernel_name"),
            execution_timeout=job.get("timeout"), progress_bar=False, log_output=False,
            # The kernel's working folder through nbclient rather than papermill's cwd=.
            resources=kernel_resources(job["cwd"]),
            # Parallel workers start kernels at the same moment: private IPC sockets keep one
            # worker's kernel from taking another's TCP port. The kernel's own stderr (warnings,
            # tornado's noise when shut down mid-message) goes to the log beside the notebook,
            # not to the terminal, whose contract is progress and one line per error.
            kernel_manager_class=logged_kernel_manager(kernel_log, job.get("sandbox")),
            **_timeout_options(job.get("timeout")),
        )
    except PapermillExecutionError as exc:
        status, error = "failed", one_line(f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # kernel died, no such kernel, ...: still one row
        status, error = "failed", one_line(f"{type(exc).__name__}: {exc}")
    if nb is None:  # papermill wrote what ran (with its error marker) before raising
        try:
            nb = nbformat.read(job["output"], as_version=4)
        except Exception:
            nb = None
    with contextlib.suppress(OSError):  # nothing said: no empty file left beside the notebook
        if kernel_log.stat().st_size == 0:
            kernel_log.unlink()
    if error and nb is not None and _timed_out(nb, job.get("timeout")):
        error = f"{TIMEOUT_ENAME}: a cell ran longer than {job['timeout']:g} s"
    return {
        "status": status,
        "error": error,
        "elapsed_s": round(time.monotonic() - started, 3),
        "metrics": notebook_metrics(nb) if nb is not None else [],
    }


def _stop_worker(signum: int, frame: FrameType | None) -> None:
    """SIGTERM in a local worker: kill its kernel (own session, so its whole group) and exit.

    Unwinding papermill instead stalls in nbclient's event loop and prints kernel tracebacks.
    """
    # No import in a signal handler: a worker that never started a kernel has none to kill.
    manager_module = sys.modules.get("mlr_copilot_jupyter.kernels.manager")
    for manager in manager_module.live_kernel_managers() if manager_module else ():
        with contextlib.suppress(Exception):
            manager.kill_for_exit()  # os._exit below skips the shutdown and the finalizers
    os._exit(128 + signum)


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass


#: The variables that size the thread pools of OpenMP (scikit-learn's boosting, k-means ...),
#: OpenBLAS and MKL in a kernel.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_share(workers: int, cpus: int | None = None) -> dict[str, str]:
    """Each of ``workers`` concurrent kernels' share of the cores, as thread-pool settings.

    Several kernels whose libraries each start a thread per core stall one another: three
    concurrent HistGradientBoosting fits on 2 cores took 33-37 s each with OpenMP's defaults and
    2.5 s with one thread each (``benchmarks/openmp_threads.py``). Dask's nanny sets 1 for the
    same reason; here a pool of fewer workers than cores leaves each its whole share."""
    if cpus is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # not on Linux
            cpus = os.cpu_count() or 1
    share = str(max(1, cpus // max(1, workers)))
    return dict.fromkeys(THREAD_VARIABLES, share)


def _init_local_worker(threads: Mapping[str, str] | None = None) -> None:
    # The kernels this worker starts inherit its environment: its share of the cores, unless
    # the user set the variable.
    for name, value in (threads or {}).items():
        os.environ.setdefault(name, value)
    # Ctrl-C is the driver's to handle: it cancels, then stops each worker with SIGTERM. A
    # handler rather than SIG_IGN, which the kernels would inherit through exec and then
    # mishandle interrupts.
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _stop_worker)
    # The worker started with SIGINT blocked (see _sigint_held): a Ctrl-C that came while it
    # was starting is delivered now, to _ignore. The kernels it starts inherit the open mask.
    if hasattr(signal, "pthread_sigmask"):  # POSIX
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back while the pool starts worker processes.

    The terminal sends SIGINT to the whole foreground process group, workers included. A
    worker that gets it before its initializer has run (Python starting up, the main module
    imported again by ``spawn``) dies with a ``SpawnProcess-1: Traceback`` on the terminal.
    Blocked here, SIGINT stays blocked in the process spawned (the mask survives fork and
    exec) until :func:`_init_local_worker` lets it in. On the main thread the driver's own
    KeyboardInterrupt waits too, until the pool has registered the process it started (one
    started but not registered would never be stopped); then it is raised as it would have been.
    """
    if not hasattr(signal, "pthread_sigmask"):  # no signal masks (Windows)
        yield
        return
    held: list[int] = []
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
        if callable(previous):
            signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
        else:
            previous = None
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            if held:
                previous(signal.SIGINT, None)


class LocalProcessExecutor:
    """``concurrent.futures.ProcessPoolExecutor`` with ``workers`` processes."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.description = f"local process pool ({workers} workers)"
        # spawn, not fork: the driver may be a Jupyter kernel with threads and zmq sockets.
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_local_worker, initargs=(thread_share(workers),),
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> FutureLike:
        with _sigint_held():  # the pool starts a worker process here when it needs one more
            return self._pool.submit(fn, *args)

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> list[FutureLike]:
        return [self.submit(fn, item) for item in items]

    def shutdown(self, *, cancel: bool = False) -> None:
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        # Python < 3.14 has no public way to stop running workers: reach for the processes.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)


class DaskExecutor:
    """``distributed.Client``: a new ``LocalCluster`` (``"local"``) or an existing scheduler."""

    name = "dask"

    def __init__(self, scheduler: str, workers: int) -> None:
        try:
            import distributed
        except ImportError:
            raise InputError("--scheduler needs dask.distributed, which is not installed",
                             hint="pip install 'mlr-copilot-jupyter[dask]'") from None
        self._cluster: Any = None
        self._futures: list[Any] = []
        self.description = f"Dask scheduler {scheduler}"
        if scheduler == "local":
            self.description = f"Dask LocalCluster ({workers} workers)"
            # each worker process gets OMP_NUM_THREADS=1 (and OpenBLAS, MKL) from Dask's nanny
            # (distributed.nanny.pre-spawn-environ), which its kernels inherit
            self._cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=40,
            )
            self._client = distributed.Client(self._cluster)
        else:
            try:
                self._client = distributed.Client(scheduler, timeout=10)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"cannot connect to the Dask scheduler {scheduler} "
                                 f"({one_line(exc, 150)})",
                                 hint="give tcp://HOST:PORT of a running scheduler, or 'local'"
                                 ) from None
        self.dashboard = getattr(self._client, "dashboard_link", None)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> FutureLike:
        future = self._client.submit(fn, *args, pure=False)
        self._futures.append(future)
        return future  # type: ignore[no-any-return]

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> list[FutureLike]:
        return [self.submit(fn, item) for item in items]

    def shutdown(self, *, cancel: bool = False) -> None:
        try:
            if cancel and self._futures:
                # Running tasks on an existing cluster finish there; closing our LocalCluster
                # stops them (and their kernels exit with their parent process).
                self._client.cancel(self._futures, force=True)
            self._futures.clear()
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def make_executor(workers: int, scheduler: str | None = None) -> BatchExecutor:
    """The executor for ``scheduler``: None → local process pool, ``"local"`` or an address → Dask."""
    if scheduler:
        return DaskExecutor(scheduler, workers)
    return LocalProcessExecutor(workers)


def check_kernel(kernel_name: str) -> None:
    """InputError when no Jupyter kernel of that name is installed here."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(kernel_name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise InputError(f"no Jupyter kernel named {kernel_name!r}",
                         hint=f"installed: {known}") from None


def job_for(input_path: Path, output_path: Path, parameters: Mapping[str, Any],
            kernel_name: str | None, timeout: float | None,
            sandbox: SandboxStatus | None = None) -> dict[str, Any]:
    """The picklable description of one execution that :func:`execute_job` runs.

    With an active ``sandbox`` the kernel runs in bubblewrap, the notebook's folder (its working
    folder) the only place it may write."""
    cwd = str(input_path.parent.resolve())
    confined = None
    if sandbox is not None and sandbox.active:
        confined = {"bwrap": sandbox.bwrap, "network": sandbox.network, "writable": [cwd]}
    return {
        "input": str(input_path), "output": str(output_path), "parameters": dict(parameters),
        "kernel_name": kernel_name, "timeout": timeout, "cwd": cwd, "sandbox": confined,
    }
