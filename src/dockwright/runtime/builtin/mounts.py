"""The container's filesystem: mounts, device nodes, pivot_root, masked and read-only paths.

Everything here runs in the container's init, in its new mount namespace, as
host root. Every destination inside the rootfs is resolved with
``secure_join`` first, so an image that makes ``/proc`` or a volume target a
symlink to a host path still gets its mounts inside the rootfs (the
CVE-2019-19921 / CVE-2021-30465 class).
"""

from __future__ import annotations

import os

from dockwright.runtime import cgroups as _cgroups
from dockwright.runtime.builtin import libc as L
from dockwright.runtime.securejoin import secure_join

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_FLAGS: dict[str, tuple[int, bool]] = {
    "ro": (L.MS_RDONLY, False), "rw": (L.MS_RDONLY, True),
    "nosuid": (L.MS_NOSUID, False), "suid": (L.MS_NOSUID, True),
    "nodev": (L.MS_NODEV, False), "dev": (L.MS_NODEV, True),
    "noexec": (L.MS_NOEXEC, False), "exec": (L.MS_NOEXEC, True),
    "sync": (L.MS_SYNCHRONOUS, False), "async": (L.MS_SYNCHRONOUS, True),
    "dirsync": (L.MS_DIRSYNC, False), "remount": (L.MS_REMOUNT, False),
    "mand": (L.MS_MANDLOCK, False), "nomand": (L.MS_MANDLOCK, True),
    "noatime": (L.MS_NOATIME, False), "atime": (L.MS_NOATIME, True),
    "nodiratime": (L.MS_NODIRATIME, False), "diratime": (L.MS_NODIRATIME, True),
    "relatime": (L.MS_RELATIME, False), "norelatime": (L.MS_RELATIME, True),
    "strictatime": (L.MS_STRICTATIME, False), "nostrictatime": (L.MS_STRICTATIME, True),
    "bind": (L.MS_BIND, False), "rbind": (L.MS_BIND | L.MS_REC, False),
    "nosymfollow": (L.MS_NOSYMFOLLOW, False),
}
_PROPAGATION = {
    "private": L.MS_PRIVATE, "rprivate": L.MS_PRIVATE | L.MS_REC,
    "shared": L.MS_SHARED, "rshared": L.MS_SHARED | L.MS_REC,
    "slave": L.MS_SLAVE, "rslave": L.MS_SLAVE | L.MS_REC,
    "unbindable": L.MS_UNBINDABLE, "runbindable": L.MS_UNBINDABLE | L.MS_REC,
}
_IGNORED = {"tmpcopyup", "idmap", "ridmap", "defaults"}
_PER_MOUNT = L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC | L.MS_NOATIME | L.MS_NODIRATIME \
    | L.MS_RELATIME | L.MS_STRICTATIME | L.MS_NOSYMFOLLOW

DEFAULT_DEVICES = (
    ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
    ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
)


def parse_options(options: list[str]) -> tuple[int, int, str]:
    """(mount flags, propagation flags, data string) from OCI mount options."""
    flags = prop = 0
    data = []
    for o in options:
        if o in _FLAGS:
            bit, clear = _FLAGS[o]
            flags = flags & ~bit if clear else flags | bit
        elif o in _PROPAGATION:
            prop |= _PROPAGATION[o]
        elif o not in _IGNORED:
            data.append(o)
    return flags, prop, ",".join(data)


def _mkfile(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.lexists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW, 0o755))


def _statvfs_flags(path: str) -> int:
    f = os.statvfs(path).f_flag
    out = f & (L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC | L.MS_SYNCHRONOUS | L.MS_MANDLOCK | L.MS_NOATIME
               | L.MS_NODIRATIME)
    if f & 4096:  # ST_RELATIME
        out |= L.MS_RELATIME
    return out


def prepare_root(rootfs: str, propagation: str | None) -> None:
    """Stop mount events reaching the host, and make the rootfs a mount point of its own."""
    L.mount(None, "/", None, _PROPAGATION.get(propagation or "", L.MS_SLAVE | L.MS_REC))
    L.mount(rootfs, rootfs, None, L.MS_BIND | L.MS_REC)


def mount_all(rootfs: str, bundle: str, mounts: list[dict[str, Any]], cgroup: _cgroups.Cgroup | None,
              cgroupns: bool) -> None:
    for m in mounts:
        mount_one(rootfs, bundle, m, cgroup, cgroupns)


class _Target:
    """A mount point pinned by an O_PATH descriptor, mounted on through ``/proc/self/fd/N``.

    ``secure_join`` resolves the path; pinning the result and checking where the descriptor
    really points closes the race where something swaps a path component for a symlink between
    the check and the mount (a shared volume written by another container).
    """

    def __init__(self, rootfs: str, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        real = os.readlink(f"/proc/self/fd/{self.fd}")
        if real != rootfs and not real.startswith(rootfs.rstrip("/") + "/"):
            os.close(self.fd)
            raise OSError(1, f"mount destination {path} resolved outside the container's rootfs ({real})")
        self.proc = f"/proc/self/fd/{self.fd}"

    def close(self) -> None:
        os.close(self.fd)


def mount_one(rootfs: str, bundle: str, m: dict[str, Any], cgroup: _cgroups.Cgroup | None,
              cgroupns: bool) -> None:
    dest = secure_join(rootfs, m["destination"])
    flags, prop, data = parse_options(list(m.get("options") or []))
    typ = m.get("type") or ("bind" if flags & L.MS_BIND else "")
    if typ == "bind" or flags & L.MS_BIND:
        src = m.get("source") or ""
        if not src.startswith("/"):
            src = os.path.join(bundle, src)
        if os.path.isdir(src):
            os.makedirs(dest, exist_ok=True)
        else:
            _mkfile(dest)
        t = _Target(rootfs, dest)
        try:
            L.mount(src, t.proc, None, L.MS_BIND | (flags & L.MS_REC))
        finally:
            t.close()
        extra = flags & _PER_MOUNT
        if extra:
            L.mount(None, dest, None, L.MS_BIND | L.MS_REMOUNT | extra | _statvfs_flags(dest))
    elif typ == "cgroup":
        _mount_cgroup(dest, flags, cgroup, cgroupns)
    else:
        os.makedirs(dest, exist_ok=True)
        t = _Target(rootfs, dest)
        try:
            L.mount(m.get("source") or typ, t.proc, typ, flags & ~L.MS_REMOUNT, data or None)
        finally:
            t.close()
    if prop:
        L.mount(None, dest, None, prop)


def _mount_cgroup(dest: str, flags: int, cg: _cgroups.Cgroup | None, cgroupns: bool) -> None:
    base = L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC
    ro = flags & L.MS_RDONLY
    os.makedirs(dest, exist_ok=True)
    v1, v2 = _cgroups.mounts()
    if not v1 and v2 is not None:
        if cgroupns:
            L.mount("cgroup2", dest, "cgroup2", base | ro)
        elif cg is not None:
            L.mount(cg.dirs[""], dest, None, L.MS_BIND)
            L.mount(None, dest, None, L.MS_BIND | L.MS_REMOUNT | base | ro)
        return
    L.mount("tmpfs", dest, "tmpfs", base, "mode=755")
    by_mount: dict[str, list[str]] = {}
    for ctrl, mnt in v1.items():
        by_mount.setdefault(mnt, []).append(ctrl)
    for mnt, ctrls in by_mount.items():
        sub = os.path.join(dest, os.path.basename(mnt))
        os.mkdir(sub)
        if cgroupns:
            L.mount("cgroup", sub, "cgroup", base, ",".join(ctrls))
        elif cg is not None and ctrls[0] in cg.dirs:
            L.mount(cg.dirs[ctrls[0]], sub, None, L.MS_BIND)
        else:
            continue
        if ro:
            L.mount(None, sub, None, L.MS_BIND | L.MS_REMOUNT | base | L.MS_RDONLY | _statvfs_flags(sub))
    if ro:
        L.mount(None, dest, None, L.MS_REMOUNT | base | L.MS_RDONLY, "mode=755")


def create_devices(rootfs: str, devices: list[dict[str, Any]], dev_is_tmpfs: bool) -> None:
    """The standard nodes (null, zero, full, random, urandom, tty), the spec's, and /dev's symlinks."""
    import stat

    wanted: list[tuple[str, int, int, int, int, int, int]] = []
    if dev_is_tmpfs:
        wanted += [(p, stat.S_IFCHR, ma, mi, 0o666, 0, 0) for p, ma, mi in DEFAULT_DEVICES]
    kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    for d in devices:
        mode = d.get("fileMode")
        wanted.append((d["path"], kinds[d.get("type", "c")], int(d.get("major", 0)), int(d.get("minor", 0)),
                       0o666 if mode is None else int(mode), int(d.get("uid") or 0), int(d.get("gid") or 0)))
    for path, kind, major, minor, mode, uid, gid in wanted:
        dest = secure_join(rootfs, path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.lexists(dest):
            os.unlink(dest)
        try:
            os.mknod(dest, kind | (mode & 0o7777), os.makedev(major, minor))
            os.chown(dest, uid, gid)
        except PermissionError:
            # No CAP_MKNOD (user namespace): bind the host's node instead.
            _mkfile(dest)
            L.mount(path, dest, None, L.MS_BIND)
    if dev_is_tmpfs:
        dev = secure_join(rootfs, "/dev")
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            p = os.path.join(dev, name)
            if not os.path.lexists(p):
                os.symlink(target, p)
        ptmx = os.path.join(dev, "ptmx")
        if os.path.lexists(ptmx):
            os.unlink(ptmx)
        os.symlink("pts/ptmx", ptmx)


def pivot(rootfs: str) -> None:
    """pivot_root into the rootfs and lazily detach the old root (no put_old directory needed)."""
    os.chdir(rootfs)
    L.pivot_root(".", ".")
    L.umount2(".", L.MNT_DETACH)
    os.chdir("/")


def mask_paths(paths: list[str]) -> None:
    for p in paths:
        try:
            if os.path.isdir(p):
                L.mount("tmpfs", p, "tmpfs", L.MS_RDONLY)
            else:
                L.mount("/dev/null", p, None, L.MS_BIND)
        except FileNotFoundError:
            continue
        except OSError as e:
            if e.errno == 2:
                continue
            raise


def readonly_paths(paths: list[str]) -> None:
    for p in paths:
        if not os.path.lexists(p):
            continue
        L.mount(p, p, None, L.MS_BIND | L.MS_REC)
        L.mount(None, p, None, L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | L.MS_REC | _statvfs_flags(p))


def readonly_root() -> None:
    L.mount(None, "/", None, L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | _statvfs_flags("/"))


def write_sysctls(sysctls: dict[str, str]) -> None:
    for k, v in sysctls.items():
        path = "/proc/sys/" + k.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(v)
        except OSError as e:
            raise OSError(e.errno, f"write {path}: {os.strerror(e.errno or 5).lower()}") from e
