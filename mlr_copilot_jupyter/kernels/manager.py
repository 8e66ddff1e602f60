"""The one kernel manager every kernel of this package is started with, and its clean-up.

:class:`CopilotKernelManager` is a jupyter_client ``AsyncKernelManager`` with

- private IPC sockets, CurveZMQ when available (:mod:`.transport`);
- optional RLIMIT_AS / RLIMIT_CPU limits (``memory_limit_mb``, ``cpu_time_limit_s``;
  :mod:`.launcher`);
- the kernel's own stdout/stderr appended to ``kernel_log`` instead of the terminal;
- with ``sandbox`` set, the kernel started by the bubblewrap provisioner
  (:class:`~.sandbox.SandboxProvisioner`, found by its entry point like any provisioner).

The experiment executor constructs it with these as keyword arguments; papermill (batch) takes a
class, hence :func:`logged_kernel_manager`. :class:`KernelReaper` and :meth:`~CopilotKernelManager.
kill_for_exit` kill a kernel's whole process group when the normal shutdown cannot run.
"""

from __future__ import annotations

import copy
import os
import signal
import weakref
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer, Unicode

from .launcher import launch_prefix
from .transport import SecureTransportMixin

__all__ = ["CopilotKernelManager", "KernelReaper", "kill_process_group", "live_kernel_managers",
           "logged_kernel_manager"]

#: Kernel managers alive in this process, for :func:`live_kernel_managers`.
_LIVE: weakref.WeakSet[CopilotKernelManager] = weakref.WeakSet()


def kill_process_group(pgid: int | None) -> None:
    """SIGKILL the process group ``pgid`` (a kernel runs in its own); errors are ignored."""
    if pgid and hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


class CopilotKernelManager(SecureTransportMixin, AsyncKernelManager):
    """Kernel manager: private sockets, optional rlimits, kernel output to a log; see the module."""

    memory_limit_mb = Integer(None, allow_none=True).tag(config=True)
    cpu_time_limit_s = Integer(None, allow_none=True).tag(config=True)
    #: File the kernel's own stdout/stderr are appended to (None: inherited, i.e. the terminal).
    #: A kernel logs its own troubles there (tornado's "Uncaught exception in ZMQStream
    #: callback" when shut down mid-message under load, warnings at start-up).
    kernel_log = Unicode(None, allow_none=True).tag(config=True)
    #: The sandbox provisioner's config (``bwrap``, ``network``, ``writable``, ``hidden``);
    #: None starts the kernel unconfined with the kernelspec's own provisioner.
    sandbox = Dict(None, allow_none=True).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _LIVE.add(self)

    @property
    def process_group(self) -> int | None:
        """The kernel's process group id (its pid when the provisioner does not say)."""
        provisioner = self.provisioner
        return getattr(provisioner, "pgid", None) or getattr(provisioner, "pid", None)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.sandbox is not None and self.provisioner is None and self.kernel_spec is not None:
            from .sandbox import PROVISIONER_NAME

            metadata = copy.deepcopy(self.kernel_spec.metadata or {})
            metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME,
                                              "config": dict(self.sandbox)}
            self.kernel_spec.metadata = metadata
        return await super()._async_pre_start_kernel(**kw)  # type: ignore[no-any-return]

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return [*launch_prefix(self.memory_limit_mb, self.cpu_time_limit_s), *cmd]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if not self.kernel_log:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        # The child keeps its own copy of the descriptor; ours closes after the launch.
        with open(self.kernel_log, "a", encoding="utf-8") as log:
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    def kill_for_exit(self) -> None:
        """Kill the kernel's process group and remove its files, for an exit that skips the
        shutdown and the finalizers (``os._exit``)."""
        if self.has_kernel:  # not one already shut down (its pid may be reused)
            kill_process_group(self.process_group)
        self.cleanup_connection_file()
        self.remove_ipc_dir()


def live_kernel_managers() -> list[CopilotKernelManager]:
    """The :class:`CopilotKernelManager` objects not yet collected in this process."""
    return list(_LIVE)


def logged_kernel_manager(log: str | os.PathLike[str],
                          sandbox: dict[str, Any] | None = None) -> type[CopilotKernelManager]:
    """A :class:`CopilotKernelManager` class whose kernels write their stdout/stderr to ``log``
    and start in ``sandbox`` (for callers that take a class, not an instance: papermill's
    ``kernel_manager_class``)."""
    base = CopilotKernelManager
    return type(base.__name__, (base,), {"kernel_log": Unicode(str(log), allow_none=True),
                                         "sandbox": Dict(sandbox, allow_none=True)})


class KernelReaper:
    """Safety net: SIGKILLs a kernel's process group and removes its connection file.

    It holds ids and paths, not the manager, so a ``weakref.finalize`` can call :meth:`kill`
    when its owner is dropped or at interpreter exit.
    """

    def __init__(self) -> None:
        self.pgid: int | None = None
        self.connection_file: str | None = None

    def watch(self, km: CopilotKernelManager) -> None:
        """Remember ``km``'s running kernel."""
        self.pgid = km.process_group
        self.connection_file = km.connection_file or None

    def kill(self) -> None:
        pgid, self.pgid = self.pgid, None
        path, self.connection_file = self.connection_file, None
        kill_process_group(pgid)
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
