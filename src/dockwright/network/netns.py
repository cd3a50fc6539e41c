"""Network namespaces the daemon owns, pinned as bind mounts in its own run directory.

A container's network namespace must outlive any one process in it (a restart of
the container's process, ``--network container:X`` joining it later), so the
daemon pins it as a file, the way ``ip netns add`` does, but under its own exec
root so that several daemons never see each other's namespaces::

    <exec-root>/netns/
        <container-id>      bind mount of an nsfs inode (a netns)

The runtime is then handed the path (OCI ``linux.namespaces[{type: network,
path}]``) and the bridge driver configures the namespace before the container
process starts.

Entering a namespace only changes the calling thread (``setns`` with
``CLONE_NEWNET`` is per thread), so work inside one runs in a short-lived thread
of its own: nothing else in the process ever changes namespace, and no fork is
needed in a multi-threaded daemon.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, Union

from pyroute2 import IPRoute

from ..errors import AlreadyExists, Forbidden, Internal, InvalidParameter, NotFound
from . import _libc

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A namespace: a path to an nsfs file (ours, or ``/proc/<pid>/ns/net``) or the pid of a process in it.
NetnsRef = Union[str, "os.PathLike[str]", int]


def netns_path(ref: NetnsRef) -> str:
    """The file that names the namespace: a pid becomes ``/proc/<pid>/ns/net``."""
    if isinstance(ref, bool):
        raise TypeError("a network namespace is a path or a pid, not a bool")
    if isinstance(ref, int):
        return f"/proc/{ref}/ns/net"
    return os.fspath(ref)


@contextmanager
def open_netns(ref: NetnsRef) -> Iterator[int]:
    """An O_RDONLY descriptor on the namespace, for ``setns`` or ``IFLA_NET_NS_FD``."""
    path = netns_path(ref)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"network namespace {path} does not exist (has the container exited?)") from None
    except PermissionError:
        raise Forbidden(f"cannot open network namespace {path}: permission denied (the daemon needs root)") from None
    try:
        yield fd
    finally:
        os.close(fd)


def run_in_netns(ref: NetnsRef, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` in a fresh thread that has entered the namespace; return its result.

    Sockets created by ``fn`` stay bound to the namespace after it returns, so a
    test can open a listening socket inside and serve it from any thread.
    """
    with open_netns(ref) as fd:
        try:
            return run_in_netns_fd(fd, fn, *args, **kwargs)
        except OSError as exc:
            if exc.errno == errno.EPERM:
                raise Forbidden(f"cannot enter network namespace {netns_path(ref)}: the daemon needs root") from exc
            raise


def run_in_netns_fd(fd: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``run_in_netns`` for a namespace already open as ``fd`` (see ``open_netns``)."""
    return _in_thread(lambda: _libc.setns(fd, _libc.CLONE_NEWNET), fn, *args, **kwargs)


def _in_thread(enter: Callable[[], None], fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            enter()
            result.append(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="dockwright-netns", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


_OCTAL = re.compile(rb"\\([0-7]{3})")


def _mount_points() -> set[str]:
    points: set[str] = set()
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            if len(fields) > 4:
                # mountinfo escapes space, tab, newline and backslash as octal
                raw = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), fields[4])
                points.add(os.fsdecode(raw))
    return points


def is_mounted(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a mount point (for a netns file: whether it still pins a namespace)."""
    return os.path.abspath(os.fspath(path)) in _mount_points()


def _create_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    except FileExistsError:
        if is_mounted(path):
            raise AlreadyExists(f"network namespace {path} already exists") from None
        # A leftover of a crash between create and mount: reuse it.
        return
    os.close(fd)


def _pin(path: Path, source: str) -> None:
    try:
        _libc.bind_mount(source, str(path))
    except BaseException:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        raise


def create(path: str | os.PathLike[str]) -> Path:
    """Create a new, empty network namespace (only ``lo``, down) pinned at ``path``."""
    target = Path(path).absolute()
    _create_file(target)

    def pin() -> None:
        # Only this thread is in the new namespace, and it ends right after.
        _pin(target, f"/proc/self/task/{threading.get_native_id()}/ns/net")

    try:
        _in_thread(lambda: _libc.unshare(_libc.CLONE_NEWNET), pin)
    except OSError as exc:
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        if exc.errno == errno.EPERM:
            raise Forbidden(f"cannot create network namespace {target}: the daemon needs root") from exc
        raise Internal(f"cannot create network namespace {target}: {exc.strerror}") from exc
    return target


def attach(path: str | os.PathLike[str], pid: int) -> Path:
    """Pin the network namespace of process ``pid`` at ``path`` (so it outlives the process)."""
    target = Path(path).absolute()
    source = netns_path(pid)
    if not os.path.exists(source):
        raise NotFound(f"no process {pid}: cannot pin its network namespace")
    _create_file(target)
    try:
        _pin(target, source)
    except OSError as exc:
        raise Internal(f"cannot pin the network namespace of process {pid} at {target}: {exc.strerror}") from exc
    return target


def delete(path: str | os.PathLike[str]) -> None:
    """Unpin and remove a namespace file; idempotent. The namespace dies with its last user."""
    target = os.path.abspath(os.fspath(path))
    if os.path.isdir(target):
        raise InvalidParameter(f"{target} is a directory, not a network namespace file")
    while True:  # a path can be mounted over more than once
        try:
            _libc.umount2(target, _libc.MNT_DETACH)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                break
            raise Internal(f"cannot unmount network namespace {target}: {exc.strerror}") from exc
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass


def list_pinned(run_dir: str | os.PathLike[str]) -> list[str]:
    """Names of the namespaces pinned in ``run_dir`` (for restore and garbage collection at start-up)."""
    try:
        names = os.listdir(run_dir)
    except FileNotFoundError:
        return []
    points = _mount_points()
    base = os.path.abspath(os.fspath(run_dir))
    return sorted(n for n in names if os.path.join(base, n) in points)


def _loopback_up() -> None:
    with IPRoute() as ipr:
        idx = ipr.link_lookup(ifname="lo")
        if idx:
            ipr.link("set", index=idx[0], state="up")


def loopback_only(ref: NetnsRef) -> None:
    """Bring ``lo`` up and leave the namespace otherwise unconnected (``--network none``)."""
    run_in_netns(ref, _loopback_up)
