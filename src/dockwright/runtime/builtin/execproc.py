"""``exec``: start another process in a running container (``docker exec``).

This process joins the container's pid namespace (which only affects its
children) and forks; the child joins the cgroup and the other namespaces
(mount last: after it the host's files are out of sight), then goes through
the same final steps as the init. A close-on-exec pipe tells the parent whether
``execve`` happened: EOF means it did, anything else is the error.
"""

from __future__ import annotations

import os

from dockwright.runtime.builtin import fastjson
from dockwright.runtime.builtin import libc as L
from dockwright.runtime.builtin import process as P
from dockwright.runtime.builtin.state import CommandError, Container

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

_ORDER = ("user", "ipc", "uts", "network", "cgroup", "mount")  # user first: it grants the rights to join the rest


def exec_process(c: Container, process_file: str, pid_file: str | None, console_socket: str | None,
                 detach: bool, preserve_fds: int = 0) -> int:
    status = c.status()
    if status != "running":
        raise CommandError(f"cannot exec in a {'stopped' if status == 'stopped' else status} container")
    try:
        if process_file == "-":
            import sys

            process: dict[str, Any] = fastjson.loads(sys.stdin.read())
        else:
            with open(process_file, "rb") as f:
                process = fastjson.loads(f.read())
    except (OSError, ValueError) as e:
        raise CommandError(f"unable to read the process spec {process_file}: {e}") from e
    if process.get("terminal") and not console_socket:
        raise CommandError("cannot allocate tty if runc will detach without setting console socket")
    cfg = c.config()
    linux = cfg.get("linux") or {}
    types = {n["type"] for n in linux.get("namespaces") or []}
    fds: dict[str, int] = {}
    try:
        for t in [*_ORDER, "pid"]:
            if t in types:
                fds[t] = os.open(f"/proc/{c.pid}/ns/{L.NS_PROC[t]}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        for fd in fds.values():
            os.close(fd)
        raise CommandError(f"cannot exec in a stopped container: {e.strerror}") from e
    console_fd = -1
    if console_socket:
        from dockwright.runtime.builtin.create import _connect_console

        console_fd = _connect_console(console_socket)
    P.preload(process)
    try:
        bpf = P.seccomp_bpf(linux.get("seccomp"), c.root)
    except (OSError, ValueError, KeyError) as e:
        raise CommandError(f"unable to compile the seccomp profile: {e}") from e
    if "pid" in fds:
        L.setns(fds["pid"], L.CLONE_NEWPID)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(c, process, fds, w, console_fd, bpf, preserve_fds)
    os.close(w)
    for fd in fds.values():
        os.close(fd)
    if console_fd >= 0:
        os.close(console_fd)
    msg = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        msg += chunk
    os.close(r)
    if msg:
        os.waitpid(pid, 0)
        raise CommandError(msg.decode(errors="replace"))
    if pid_file:
        from dockwright.runtime.builtin.create import _write_pid_file

        _write_pid_file(pid_file, pid)
    if detach:
        return 0
    return _wait_forwarding(pid)


def _wait_forwarding(pid: int) -> int:
    """Wait for ``pid``, passing on the signals a caller sends to us (as ``runc exec`` does)."""
    import _signal  # the C module: ``signal`` would import enum, 5 ms

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for s in (15, 2, 1, 3, 10, 12, 28):  # TERM INT HUP QUIT USR1 USR2 WINCH
        _signal.signal(s, forward)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _child(c: Container, process: dict[str, Any], fds: dict[str, int], w: int, console_fd: int,
           bpf: bytes | None, preserve_fds: int) -> NoReturn:
    try:
        os.umask(0o022)
        L.prctl(L.PR_SET_DUMPABLE, 0)
        cg = c.cgroup()
        if cg is not None:
            cg.join(0)
        for t in _ORDER:
            if t in fds:
                L.setns(fds[t], L.NS_FLAGS[t])
        P.enter_session(process, console_fd, mount_console=False)
        path = P.finalize(process, bpf)
        P.load_late_seccomp(process, bpf)
        P.cloexec_all(preserve_fds)
        L.reset_signals()
        os.umask(P.umask(process))
        env = {}
        for item in process.get("env") or []:
            k, _, v = item.partition("=")
            env[k] = v
        try:
            os.execve(path, list(process.get("args") or []), env)
        except OSError as e:
            raise P.ExecError(f"exec {path}: {os.strerror(e.errno or 8).lower()}") from e
    except BaseException as e:  # noqa: BLE001 - report everything to the parent
        msg = str(e) if isinstance(e, P.ExecError) else (
            e.strerror if isinstance(e, OSError) and e.strerror else f"{type(e).__name__}: {e}")
        try:
            os.write(w, f"exec failed: unable to start container process: {msg}".encode())
        except OSError:
            pass
    os._exit(255)
