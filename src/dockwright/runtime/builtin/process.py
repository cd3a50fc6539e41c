"""The last steps before a container process runs, shared by the init and ``exec``.

Order matters and follows runc: console, rlimits, session; the seccomp filter
before capabilities are dropped (loading one needs CAP_SYS_ADMIN unless
no_new_privs is set, in which case it is loaded last); bounding set, then
uid/gid with KEEPCAPS so the spec's capabilities survive, then capset and
ambient; then ``execve``. Only stdio survives into the program: every other
descriptor is close-on-exec.
"""

from __future__ import annotations

import os
import stat

from dockwright.runtime import caps as _caps
from dockwright.runtime.builtin import libc as L

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}


def preload(process: dict[str, Any]) -> None:
    """Import now what the last steps need: after pivot_root or setns(mnt) nothing can be imported."""
    if process.get("rlimits"):
        import resource  # noqa: F401
    if process.get("terminal"):
        import fcntl  # noqa: F401
        import socket  # noqa: F401
        import struct  # noqa: F401


def seccomp_bpf(seccomp: dict[str, Any] | None, root: str) -> bytes | None:
    """The container's compiled filter (cached under the runtime root); computed before fork."""
    if seccomp is None:
        return None
    from dockwright.runtime.builtin import seccomp_load

    return seccomp_load.bpf_for(seccomp, os.path.join(root, ".seccomp-cache"))


class ExecError(Exception):
    """The process could not be started; the message is runc's wording (Docker matches on it)."""


def setup_console(console_fd: int, mount_console: bool, size: dict[str, Any] | None = None) -> None:
    """Make a pty in the container's devpts, hand the master to the caller (runc's protocol), use the slave."""
    import fcntl
    import socket
    import struct

    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, 0x40045431, struct.pack("i", 0))  # TIOCSPTLCK: unlock
    n = struct.unpack("I", fcntl.ioctl(master, 0x80045430, struct.pack("I", 0)))[0]  # TIOCGPTN
    name = f"/dev/pts/{n}"
    slave = os.open(name, os.O_RDWR | os.O_NOCTTY)
    if size and size.get("height") and size.get("width"):
        fcntl.ioctl(slave, 0x5414, struct.pack("HHHH", int(size["height"]), int(size["width"]), 0, 0))  # TIOCSWINSZ
    if mount_console:
        if not os.path.lexists("/dev/console"):
            os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        L.mount(name, "/dev/console", None, L.MS_BIND)
    sock = socket.socket(fileno=console_fd)
    try:
        socket.send_fds(sock, [name.encode()], [master])
    finally:
        sock.close()
        os.close(master)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def set_ctty() -> None:
    import fcntl

    fcntl.ioctl(0, 0x540E, 0)  # TIOCSCTTY


def apply_rlimits(rlimits: list[dict[str, Any]]) -> None:
    import resource

    for r in rlimits:
        res = _RLIMITS.get(r["type"])
        if res is None:
            raise ExecError(f"unknown rlimit {r['type']}")
        soft, hard = int(r["soft"]), int(r["hard"])
        inf = resource.RLIM_INFINITY
        resource.setrlimit(res, (inf if soft >= (1 << 63) else soft, inf if hard >= (1 << 63) else hard))


def enter_session(process: dict[str, Any], console_fd: int, *, mount_console: bool) -> None:
    """What init and exec processes do alike just before exec: limits, terminal, session, cwd."""
    if process.get("rlimits"):
        apply_rlimits(process["rlimits"])
    if process.get("terminal"):
        setup_console(console_fd, mount_console, process.get("consoleSize"))
    os.setsid()
    if process.get("terminal"):
        set_ctty()
    cwd = process.get("cwd") or "/"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise ExecError(f'chdir to cwd ("{cwd}") set in config.json failed: '
                        f"{os.strerror(e.errno or 2).lower()}") from e


def lookup(args: list[str], env: list[str]) -> str:
    """The executable for ``args[0]``, searched in the process's own PATH like runc (exec.LookPath)."""
    if not args:
        raise ExecError("args must not be empty")
    prog = args[0]
    if "/" in prog:
        _check_exec(prog)
        return prog
    path = DEFAULT_PATH
    for e in env:
        if e.startswith("PATH="):
            path = e[5:]
    for d in path.split(":"):
        cand = os.path.join(d or ".", prog)
        try:
            _check_exec(cand)
            return cand
        except ExecError:
            continue
    raise ExecError(f'exec: "{prog}": executable file not found in $PATH')


def _check_exec(p: str) -> None:
    try:
        st = os.stat(p)
    except OSError as e:
        raise ExecError(f'exec: "{p}": stat {p}: {os.strerror(e.errno or 2).lower()}') from e
    if stat.S_ISDIR(st.st_mode) or not st.st_mode & 0o111:
        raise ExecError(f'exec: "{p}": permission denied')


def _cap_mask(names: list[str] | None) -> int:
    m = 0
    for n in names or []:
        if n in _caps.CAP_NUMBERS:
            m |= 1 << _caps.CAP_NUMBERS[n]
    return m


def finalize(process: dict[str, Any], bpf: bytes | None) -> str:
    """Seccomp, capabilities, identity; returns the executable to exec. Raises ExecError/OSError."""
    nnp = bool(process.get("noNewPrivileges"))
    if bpf is not None and not nnp:
        from dockwright.runtime.builtin import seccomp_load

        seccomp_load.install(bpf)
    c = process.get("capabilities")
    user = process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    if c is not None:
        last = _caps.last_cap()
        L.drop_bounding(_cap_mask(c.get("bounding")), last)
    L.prctl(L.PR_SET_KEEPCAPS, 1)
    os.setgroups([int(g) for g in user.get("additionalGids") or []])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    L.prctl(L.PR_SET_KEEPCAPS, 0)
    if c is not None:
        L.capset(_cap_mask(c.get("effective")), _cap_mask(c.get("permitted")), _cap_mask(c.get("inheritable")))
        L.prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_CLEAR_ALL)
        for name in c.get("ambient") or []:
            if name in _caps.CAP_NUMBERS:
                L.prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_RAISE, _caps.CAP_NUMBERS[name])
    if nnp:
        L.prctl(L.PR_SET_NO_NEW_PRIVS, 1)
    return lookup(list(process.get("args") or []), list(process.get("env") or []))


def load_late_seccomp(process: dict[str, Any], bpf: bytes | None) -> None:
    if bpf is not None and process.get("noNewPrivileges"):
        from dockwright.runtime.builtin import seccomp_load

        seccomp_load.install(bpf)


def cloexec_all(preserve: int = 0) -> None:
    """Mark every descriptor close-on-exec but stdio and ``--preserve-fds`` N (3..3+N-1).

    CVE-2024-21626 class: no host descriptor reaches the container unless the caller asked for it; the
    preserved ones are made inheritable, since they arrive close-on-exec from a Python caller.
    """
    keep = range(0, 3 + max(preserve, 0))
    for fd in keep[3:]:
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd in keep:
            continue
        try:
            os.set_inheritable(fd, False)
        except OSError:
            pass


def umask(process: dict[str, Any]) -> int:
    """The process's umask: ``user.umask`` from the spec, else 022 as runc and Docker give."""
    u = (process.get("user") or {}).get("umask")
    return int(u) & 0o777 if u is not None else 0o022


def execve(path: str, process: dict[str, Any]) -> None:
    """Replace this process; on failure report like runc (``exec /x: exec format error``) and exit 255."""
    L.reset_signals()
    os.umask(umask(process))
    env = list(process.get("env") or [])
    envd = {}
    for e in env:
        k, _, v = e.partition("=")
        envd[k] = v
    try:
        os.execve(path, list(process.get("args") or []), envd)
    except OSError as e:
        os.write(2, f"exec {path}: {os.strerror(e.errno or 8).lower()}\n".encode())
        os._exit(255)
