"""Kernel sockets on private IPC files instead of TCP ports.

jupyter_client picks a kernel's TCP ports by binding to port 0 and releasing it; the kernel binds
them a moment later. When several processes start kernels at once (parallel batch workers, a
notebook next to a CLI run), another process can take a port in between and the kernel dies at
start with ``Address already in use``. Unix-domain sockets in a fresh ``0700`` folder per kernel
cannot collide, and no other local user can reach them, so on POSIX every kernel this package
starts uses them. Windows (no IPC transport) and very long temp paths stay on TCP.
CurveZMQ encryption is switched on as well where the kernelspec and libzmq support it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import Any

__all__ = ["SecureTransportMixin", "ipc_available"]

#: Room in a Unix socket path (108 bytes on Linux, 104 on macOS) for ``<dir>/k-<port>``.
_MAX_SOCKET_DIR = 90


def ipc_available() -> bool:
    """Whether kernels here can use IPC sockets (POSIX with a short enough temp folder)."""
    return os.name == "posix" and len(tempfile.gettempdir()) + 20 < _MAX_SOCKET_DIR


class SecureTransportMixin:
    """For a jupyter_client ``KernelManager`` subclass: IPC sockets in a private folder, and
    CurveZMQ when available.

    The folder is removed when the kernel is shut down (not on restart: the restarted kernel
    binds the same socket paths) and, as a safety net, when the manager is collected or at exit.
    """

    def __init__(self, **kwargs: Any) -> None:
        import zmq

        super().__init__(**kwargs)
        if "transport_encryption" in self.traits() and zmq.has("curve"):  # type: ignore[attr-defined]
            self.transport_encryption = "auto"  # CurveZMQ when the kernelspec supports it
        self.ipc_dir: str | None = None
        if ipc_available() and "ip" not in kwargs and "transport" not in kwargs:
            self.ipc_dir = tempfile.mkdtemp(prefix="mlr-kernel-")  # mode 0700
            self.transport = "ipc"
            self.ip = os.path.join(self.ipc_dir, "k")
            if not getattr(self, "connection_file", ""):  # the kernel rewrites it at start: a
                # sandboxed kernel can, since this folder is bound writable into its sandbox
                self.connection_file = os.path.join(self.ipc_dir, "kernel.json")
            weakref.finalize(self, shutil.rmtree, self.ipc_dir, True)

    def remove_ipc_dir(self) -> None:
        """Delete the socket folder (for exits that skip shutdown and finalizers)."""
        if self.ipc_dir:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)  # type: ignore[misc]
        if not restart:
            self.remove_ipc_dir()
