"""One persistent Jupyter kernel that runs LLM-written experiment cells (driven by nbclient).

The kernel starts in the run directory with a scrubbed environment (no API keys) and optional
RLIMIT_AS / RLIMIT_CPU limits. Timeouts interrupt the kernel (and restart it if it stays busy);
a dead kernel is replaced by a fresh one. Every call returns a :class:`CellResult`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async

from ..aio import run_sync
from ..errors import ExecutionError
from ..kernels.launcher import kernel_environ, kernel_resources
from ..kernels.manager import CopilotKernelManager, KernelReaper
from ..kernels.metric_line import REPORT_METRIC_PRELUDE, parse_metrics
from .result import LOST_STATE, CellResult, error_fields, outputs_text
from .task_model import CELL_TIMEOUT_S

__all__ = ["CellResult", "KernelExecutor"]

_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())  # nbclient logs timeouts/deaths at ERROR; we report them
_TIMEOUT_ENAME = "MLRCopilotCellTimeout"


class KernelExecutor:
    """Runs code cells in one persistent kernel rooted at ``cwd``; see the module docstring."""

    def __init__(
        self,
        cwd: str | Path,
        *,
        kernel_name: str = "python3",
        cell_timeout: float = CELL_TIMEOUT_S,
        startup_timeout: float = 60,
        env_allow: Sequence[str] = (),
        env_deny: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
        memory_limit_mb: int | None = None,
        cpu_time_limit_s: int | None = None,
        interrupt_grace: float = 5.0,
        kernel_log: str | Path | None = None,
        setup_code: Sequence[str] = (),
        sandbox: Mapping[str, Any] | None = None,
    ) -> None:
        self.cwd = Path(cwd).expanduser().resolve()
        #: code run silently in every new kernel after the prelude (first start and restarts)
        self.setup_code = tuple(setup_code)
        #: the sandbox provisioner's config (see kernels.sandbox); None: an unconfined kernel
        self.sandbox = dict(sandbox) if sandbox is not None else None
        self.kernel_name = kernel_name
        self.cell_timeout = cell_timeout
        self.startup_timeout = startup_timeout
        self.env_allow, self.env_deny = tuple(env_allow), tuple(env_deny)
        self.extra_env = dict(extra_env or {})
        self.memory_limit_mb, self.cpu_time_limit_s = memory_limit_mb, cpu_time_limit_s
        self.interrupt_grace = interrupt_grace
        self.kernel_log = Path(kernel_log) if kernel_log else None
        self.restarts = 0
        self._client: NotebookClient | None = None
        self._lock = asyncio.Lock()
        self._reaper = KernelReaper()
        self._finalizer = weakref.finalize(self, self._reaper.kill)

    # -- properties -------------------------------------------------------------------------
    @property
    def kernel_pid(self) -> int | None:
        """PID of the running kernel process (for tests and diagnostics)."""
        km = self._client.km if self._client else None
        prov = getattr(km, "provisioner", None)
        return getattr(prov, "pid", None)

    @property
    def is_running(self) -> bool:
        """Whether a kernel has been started and not shut down (it may have died since)."""
        return self._client is not None

    def kernel_env(self) -> dict[str, str]:
        """The environment the kernel is started with (scrubbed; never log its values)."""
        return kernel_environ(os.environ, self.cwd, allow=self.env_allow, deny=self.env_deny,
                              memory_limit_mb=self.memory_limit_mb, extra_env=self.extra_env)

    # -- lifecycle --------------------------------------------------------------------------
    async def astart(self) -> None:
        """Start the kernel (no-op if running) and run the hidden ``report_metric`` prelude."""
        async with self._lock:
            if self._client is None:
                await self._boot()

    async def arestart(self) -> None:
        """Replace the kernel with a fresh one (all kernel state is lost)."""
        async with self._lock:
            await self._teardown(now=True)
            await self._boot()
            self.restarts += 1

    async def ashutdown(self, *, now: bool = False) -> None:
        """Shut the kernel down and release its resources; safe to call twice.

        ``now``: kill it at once instead of asking it to exit (an interrupted run does not wait).
        """
        async with self._lock:
            await self._teardown(now=now)

    async def arun(self, code: str, *, timeout: float | None = None) -> CellResult:
        """Run one code cell and return its :class:`CellResult` (starts the kernel if needed)."""
        async with self._lock:
            pre_message = ""
            if self._client is None:
                await self._boot()
            elif not await self._alive():
                reason = await self._death_reason()
                await self._reboot()
                pre_message = f"kernel had died since the previous cell ({reason}); restarted"
            limit = self.cell_timeout if timeout is None else timeout
            res = await self._execute(code, limit)
            if res.status == "dead":
                await self._reboot()
            elif res.status == "timeout" and not await self._responsive(self.interrupt_grace):
                await self._reboot()
                res.lost_state = True
                res.message = (
                    f"cell timed out after {limit:g} s; the kernel ignored the interrupt and was "
                    f"restarted — {LOST_STATE}"
                )
            if pre_message:
                res.lost_state = True
                res.message = f"{pre_message} — {LOST_STATE}; then: {res.message}"
            return res

    # the sync twins, through the package's one bridge from sync code to a coroutine
    def start(self) -> None:
        run_sync(self.astart())

    def restart(self) -> None:
        run_sync(self.arestart())

    def shutdown(self, *, now: bool = False) -> None:
        run_sync(self.ashutdown(now=now))

    def run(self, code: str, *, timeout: float | None = None) -> CellResult:
        """Run one code cell and return its :class:`CellResult` (starts the kernel if needed)."""
        return run_sync(self.arun(code, timeout=timeout))

    def __enter__(self) -> KernelExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    async def __aenter__(self) -> KernelExecutor:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ashutdown()

    # -- internals --------------------------------------------------------------------------
    async def _boot(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        km = CopilotKernelManager(
            kernel_name=self.kernel_name,
            memory_limit_mb=self.memory_limit_mb,
            cpu_time_limit_s=self.cpu_time_limit_s,
            kernel_log=str(self.kernel_log) if self.kernel_log else None,
            sandbox=self.sandbox,
            shutdown_wait_time=2.0,
        )
        client = NotebookClient(
            nbformat.v4.new_notebook(),
            km=km,
            kernel_name=self.kernel_name,
            timeout_func=lambda cell: cell.metadata.get("mlr_timeout"),
            interrupt_on_timeout=True,
            error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
            allow_errors=True,
            startup_timeout=max(1, math.ceil(self.startup_timeout)),
            coalesce_streams=True,
            record_timing=False,
            resources=kernel_resources(self.cwd),
            on_cell_executed=_store_reply,
            log=_LOG,
        )
        self._client = client
        try:
            await client.async_start_new_kernel(env=self.kernel_env(), cwd=str(self.cwd))
            self._reaper.watch(km)
            await client.async_start_new_kernel_client()
        except Exception as exc:
            await self._teardown(now=True)
            said = self._last_log_line()
            raise ExecutionError(
                f"could not start the {self.kernel_name!r} kernel in {self.cwd}: {exc}"
                + (f"; its log ends: {said}" if said else ""),
                hint="check `jupyter kernelspec list`, the resource limits"
                     + (" and the sandbox (--sandbox off runs unconfined)" if self.sandbox else ""),
            ) from exc
        for what, code in (("prelude", REPORT_METRIC_PRELUDE),
                           *(("setup cell", c) for c in self.setup_code)):
            prelude = await self._execute(code, self.startup_timeout, history=False)
            if prelude.status != "ok":
                await self._teardown(now=True)
                raise ExecutionError(
                    f"the kernel {what} failed ({prelude.status}): "
                    f"{prelude.message or f'{prelude.ename}: {prelude.evalue}'}",
                    ename=prelude.ename,
                    evalue=prelude.evalue,
                    traceback=prelude.traceback,
                )

    def _last_log_line(self) -> str:
        """The kernel log's last line (bwrap or the kernel saying why it could not start)."""
        try:
            lines = self.kernel_log.read_text(errors="replace").splitlines() if self.kernel_log else []
        except OSError:
            return ""
        last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
        return _one_line(last, 200)

    async def _reboot(self) -> None:
        await self._teardown(now=True)
        await self._boot()
        self.restarts += 1

    async def _teardown(self, *, now: bool) -> None:
        client, self._client = self._client, None
        km, kc = (client.km, client.kc) if client else (None, None)
        try:
            if km is not None and km.has_kernel:
                if await ensure_async(km.is_alive()):
                    await ensure_async(km.shutdown_kernel(now=now))
                await ensure_async(km.cleanup_resources())
        except Exception as exc:  # a broken kernel must not block teardown
            _LOG.debug("kernel shutdown failed: %s", exc)
        finally:
            if kc is not None:
                kc.stop_channels()
            self._reaper.kill()  # the leader is gone by now; this reaps leftover children

    async def _alive(self) -> bool:
        km = self._client.km if self._client else None
        return bool(km is not None and await ensure_async(km.is_alive()))

    async def _death_reason(self) -> str:
        km = self._client.km if self._client else None
        rc = None
        if km is not None and km.provisioner is not None:
            rc = await km.provisioner.poll()
        if rc is None or rc >= 0:
            return f"exit code {rc}" if rc is not None else "unknown cause"
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        if name == "SIGXCPU" and self.cpu_time_limit_s:
            return f"{name}: CPU-time limit of {self.cpu_time_limit_s} s exceeded"
        if name == "SIGKILL":
            return f"{name} — killed externally or by the out-of-memory killer"
        return name

    async def _responsive(self, grace: float) -> bool:
        """After an interrupt: does the kernel answer a no-op request within ``grace`` s?"""
        kc = self._client.kc if self._client else None
        if kc is None or not await self._alive():
            return False
        msg_id = kc.execute("", silent=True, store_history=False, stop_on_error=False)
        deadline = monotonic() + grace
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(kc.shell_channel.get_msg(timeout=left))
            except Empty:
                break
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    async def _execute(self, code: str, limit: float, *, history: bool = True) -> CellResult:
        client = self._client
        assert client is not None
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["mlr_timeout"] = limit if limit and limit > 0 else None
        client.nb.cells = [cell]
        client.clear_display_id_mapping(0)
        t0 = monotonic()
        dead = False
        try:
            await client.async_execute_cell(cell, 0, store_history=history)
        except DeadKernelError:
            if client.km is not None and await self._alive():
                # nbclient turns a cancellation of the caller's task into DeadKernelError
                await ensure_async(client.km.interrupt_kernel())
                raise asyncio.CancelledError() from None
            dead = True
        elapsed = monotonic() - t0
        outputs = json.loads(json.dumps(cell.get("outputs", [])))
        text = outputs_text(outputs)
        reply = cell.metadata.pop("mlr_reply", None) or {}
        res = CellResult(
            status="ok",
            outputs=outputs,
            stdout_text=text,
            elapsed=round(elapsed, 3),
            metrics=parse_metrics(text),
            execution_count=reply.get("execution_count"),
        )
        if dead:
            reason = await self._death_reason()
            res.status, res.lost_state = "dead", True
            res.ename, res.evalue = "DeadKernelError", f"kernel died ({reason})"
            res.message = f"kernel died ({reason}); restarted — {LOST_STATE}"
        elif reply.get("ename") == _TIMEOUT_ENAME:
            res.status = "timeout"
            _, _, res.traceback = error_fields(outputs, {})
            res.ename, res.evalue = "TimeoutError", f"cell exceeded the {limit:g} s time limit"
            res.message = f"cell timed out after {limit:g} s; kernel interrupted (state kept)"
        elif reply.get("status") == "error":
            res.status = "error"
            res.ename, res.evalue, res.traceback = error_fields(outputs, reply)
            res.message = _one_line(f"{res.ename}: {res.evalue}")
            if res.ename == "MemoryError" and self.memory_limit_mb:
                res.message += f" (the kernel's memory limit is {self.memory_limit_mb} MB)"
        else:
            names = ", ".join(f"{m['name']}={m['value']:g}" for m in res.metrics)
            res.message = f"ok in {elapsed:.1f} s" + (f"; metrics: {names}" if names else "")
        return res


def _store_reply(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
    """nbclient ``on_cell_executed`` hook: keep the reply content on our private cell."""
    cell.metadata["mlr_reply"] = dict(execute_reply.get("content", {}))


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
