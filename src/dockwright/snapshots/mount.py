"""Mounts as data, and the few helpers that actually call mount(2).

Snapshotters only describe mounts; the daemon (or a test) performs them with
``mount_all``. Overlay options longer than a page (4096 bytes, the kernel's limit on
mount data) are shortened by handing the kernel ``/proc/self/fd/N`` paths of lower
directories opened with ``O_PATH``: 128 layers then fit easily, without the
``chdir``-in-a-child trick (a ``chdir`` would race with the daemon's other threads).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dockwright.errors import InvalidParameter, Unavailable

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2
PAGE_SIZE = 4096
_OCTAL = re.compile(r"\\([0-7]{3})")  # mountinfo escapes space, tab, newline and backslash

_FLAGS = {
    "ro": MS_RDONLY,
    "rw": 0,
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "bind": MS_BIND,
    "rbind": MS_BIND | MS_REC,
}


@dataclass(frozen=True)
class Mount:
    type: str
    source: str
    options: tuple[str, ...] = ()

    def readonly(self) -> bool:
        return "ro" in self.options

    def to_dict(self) -> dict[str, object]:
        """The OCI runtime spec's shape (``config.json`` mounts, containerd's ``Mount``)."""
        return {"type": self.type, "source": self.source, "options": list(self.options)}


_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
        ]
        _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return _libc


def _mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    raw = os.fsencode(data) if data else None
    rc = _lib().mount(os.fsencode(source), os.fsencode(target), os.fsencode(fstype), flags, raw)
    if rc != 0:
        e = ctypes.get_errno()
        msg = f"mount {fstype} on {target}: {os.strerror(e)}"
        if e in (errno.EPERM, errno.EACCES):
            raise Unavailable(msg + " (mounting needs root or a user namespace)")
        if e == errno.ENODEV:
            raise Unavailable(msg + f" (the kernel has no {fstype} support)")
        raise InvalidParameter(msg)


def _split(options: tuple[str, ...]) -> tuple[int, list[str]]:
    flags = 0
    data: list[str] = []
    for o in options:
        if o in _FLAGS:
            flags |= _FLAGS[o]
        else:
            data.append(o)
    return flags, data


def _mount_one(m: Mount, target: Path) -> None:
    flags, data = _split(m.options)
    tgt = os.fspath(target)
    if m.type == "bind" or flags & MS_BIND:
        _mount(m.source, tgt, "none", flags & (MS_BIND | MS_REC) | MS_BIND, "")
        extra = flags & ~(MS_BIND | MS_REC)
        if extra:
            # A bind ignores the other flags; they take effect only on a remount.
            _mount("none", tgt, "none", MS_REMOUNT | MS_BIND | extra, "")
        return
    if m.type == "overlay":
        _mount_overlay(m, tgt, flags, data)
        return
    _mount(m.source, tgt, m.type, flags, ",".join(data))


def _mount_overlay(m: Mount, target: str, flags: int, data: list[str]) -> None:
    opts = ",".join(data)
    if len(opts) < PAGE_SIZE:
        _mount("overlay", target, "overlay", flags, opts)
        return
    fds: list[int] = []
    try:
        short: list[str] = []
        for o in data:
            if o.startswith("lowerdir="):
                paths = []
                for p in o[len("lowerdir=") :].split(":"):
                    fd = os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                    fds.append(fd)
                    paths.append(f"/proc/self/fd/{fd}")
                short.append("lowerdir=" + ":".join(paths))
            else:
                short.append(o)
        opts = ",".join(short)
        if len(opts) >= PAGE_SIZE:
            raise InvalidParameter(f"overlay mount on {target}: too many layers ({len(opts)} bytes of options)")
        _mount("overlay", target, "overlay", flags, opts)
    finally:
        for fd in fds:
            os.close(fd)


def mount_all(mounts: list[Mount], target: Path) -> None:
    """Mount ``mounts`` on ``target`` in order; on failure, undo what was mounted."""
    done = 0
    try:
        for m in mounts:
            _mount_one(m, target)
            done += 1
    except BaseException:
        for _ in range(done):
            with contextlib.suppress(OSError, Unavailable, InvalidParameter):
                unmount(target, lazy=True)
        raise


def unmount(target: Path, *, lazy: bool = False) -> None:
    """Unmount ``target`` (one level); a target that is not mounted is not an error."""
    rc = _lib().umount2(os.fsencode(os.fspath(target)), MNT_DETACH if lazy else 0)
    if rc != 0:
        e = ctypes.get_errno()
        if e == errno.EINVAL:  # not a mount point
            return
        if e == errno.EBUSY:
            raise Unavailable(f"unmount {target}: device or resource busy")
        raise InvalidParameter(f"unmount {target}: {os.strerror(e)}")


def is_mounted(target: Path) -> bool:
    t = os.path.realpath(target)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            mp = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), line.split(" ")[4])
            if mp == t:
                return True
    return False


@contextlib.contextmanager
def temp_mount(mounts: list[Mount], *, base: Path | None = None) -> Iterator[Path]:
    """Mount on a fresh temporary directory for the body of the ``with``, then clean up."""
    d = Path(tempfile.mkdtemp(prefix="dockwright-mount-", dir=base))
    try:
        mount_all(mounts, d)
        try:
            yield d
        finally:
            for _ in mounts:
                unmount(d)
    finally:
        # rmdir, never rmtree: if an unmount failed, a recursive delete would eat the layers.
        with contextlib.suppress(OSError):
            os.rmdir(d)
