"""The few Linux system calls Python 3.11's ``os`` lacks, through ctypes.

unshare, setns, mount, umount2, pivot_root, sethostname, prctl and capset are
all the builtin runtime needs from libc. Each raises ``OSError`` with errno and
a short description of the call, so a failure in the container's init reads
like ``mount proc on /x/proc: Operation not permitted``. Imported on the
container start-up path: keep it to ctypes and os.
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

NS_FLAGS = {
    "mount": CLONE_NEWNS,
    "cgroup": CLONE_NEWCGROUP,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "user": CLONE_NEWUSER,
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "time": CLONE_NEWTIME,
}
# /proc/PID/ns/<name> for each spec namespace type
NS_PROC = {
    "mount": "mnt", "cgroup": "cgroup", "uts": "uts", "ipc": "ipc", "user": "user", "pid": "pid",
    "network": "net", "time": "time",
}

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
KEYCTL_JOIN_SESSION_KEYRING = 1

_libc = ctypes.CDLL(None, use_errno=True)
_USED = ("unshare", "setns", "mount", "umount2", "syscall", "socket", "ioctl", "sethostname", "setdomainname",
         "prctl", "capset", "signal", "sigprocmask")


def resolve() -> None:
    """Look up every libc function we call now (ctypes resolves each on first use, about 0.5 ms apiece):
    a warm monitor does it once, and the inits it forks inherit the lookups."""
    for name in _USED:
        getattr(_libc, name)


def _check(ret: int, what: str) -> int:
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
    return ret


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    ret = _libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data))
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {source or fstype or ''} on {target}: {os.strerror(e)}")


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    nr = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise OSError(38, "pivot_root: unsupported architecture")
    _check(_libc.syscall(ctypes.c_long(nr), _b(new_root), _b(put_old)), "pivot_root")


def join_session_keyring(name: str) -> None:
    """A fresh session keyring, so the container never shares the caller's keys (runc does the same)."""
    nr = _SYS_KEYCTL.get(os.uname().machine)
    if nr is None:
        return
    _libc.syscall(ctypes.c_long(nr), ctypes.c_int(KEYCTL_JOIN_SESSION_KEYRING), name.encode())


def socket_inet_dgram() -> int:
    """An AF_INET datagram socket for interface ioctls (no ``socket`` module import)."""
    return _check(_libc.socket(ctypes.c_int(2), ctypes.c_int(2 | 0o2000000), ctypes.c_int(0)), "socket")


def ioctl(fd: int, request: int, buf: bytearray) -> None:
    """ioctl with an in/out buffer, updated in place."""
    cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
    _check(_libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), cbuf), f"ioctl({request:#x})")


def sethostname(name: str) -> None:
    b = name.encode()
    _check(_libc.sethostname(b, ctypes.c_size_t(len(b))), "sethostname")


def setdomainname(name: str) -> None:
    b = name.encode()
    _check(_libc.setdomainname(b, ctypes.c_size_t(len(b))), "setdomainname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(
        _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4),
                    ctypes.c_ulong(arg5)),
        f"prctl({option})",
    )


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def capset(effective: int, permitted: int, inheritable: int) -> None:
    hdr = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.capset(ctypes.byref(hdr), data), "capset")


def drop_bounding(bounding: int, last_cap: int) -> None:
    """Remove every capability not in ``bounding`` from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(last_cap + 1):
        if not bounding & (1 << cap):
            try:
                prctl(PR_CAPBSET_DROP, cap)
            except OSError as e:
                if e.errno != 22:  # EINVAL: the kernel does not know this cap
                    raise


def setgroups(gids: Sequence[int]) -> None:
    os.setgroups(list(gids))


def reset_signals() -> None:
    """An exec'd program must start with the default dispositions: Python ignores SIGPIPE and SIGXFSZ,
    and an ignored signal stays ignored across execve (a monitor ignores SIGTERM, say, and the init
    is forked from it)."""
    for sig in (*range(1, 32), *range(34, 65)):
        if sig not in (9, 19):  # SIGKILL and SIGSTOP cannot be changed
            _libc.signal(ctypes.c_int(sig), ctypes.c_void_p(0))
    # unblock every signal the caller may have blocked
    mask = (ctypes.c_ulong * 16)()
    _libc.sigprocmask(ctypes.c_int(2), ctypes.byref(mask), None)  # SIG_SETMASK to the empty set
