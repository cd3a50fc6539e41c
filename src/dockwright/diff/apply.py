"""Apply a layer tar (plain, gzip or zstd) to a directory, never trusting its content.

One pass over the stream: the raw bytes are hashed (compressed digest), the tar bytes
are hashed (diff ID) and members are extracted as they arrive; nothing of the layer is
spooled to disk or memory.

Safety rules (a layer is untrusted input):

* names are cleaned lexically; a leading ``/`` is dropped (as Docker does) and a ``..``
  that climbs above the target is refused;
* parents are opened one component at a time with ``O_NOFOLLOW`` relative to the
  previous directory descriptor, so a symlink in the target (from this layer or a
  parent) is never followed; a member below a symlink is refused;
* every file is created with ``O_EXCL | O_NOFOLLOW``; an existing entry is removed
  first, never written through;
* hardlinks must name an existing non-directory inside the target;
* ``trusted.overlay.*`` xattrs from the tar are dropped; devices are created only by
  root, and not at all in the native (copying) format.

On any error ``InvalidParameter`` (or ``Unavailable`` for ENOSPC and the like) is
raised and the target is left partially applied: callers unpack into a fresh active
snapshot and remove that snapshot on error.

Whiteouts (OCI image spec): ``.wh.NAME`` deletes NAME of the lower layers and
``.wh..wh..opq`` hides every lower entry of its directory. With ``whiteouts="overlay"``
they become overlayfs's own markers (a 0/0 character device, the
``trusted.overlay.opaque=y`` xattr); with ``"native"`` the target already holds the
parent's files and they are deleted for real.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from dockwright.diff import compression, tarread
from dockwright.diff.tarread import Member
from dockwright.errors import DockwrightError, Internal, InvalidParameter, Unavailable
from dockwright.oci.digest import Digest

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_CACHED_FDS = 256
_CHUNK = 1 << 20
_INPUT_ERRNOS = {
    errno.ENAMETOOLONG,
    errno.EINVAL,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.ELOOP,
    errno.EISDIR,
    errno.ENOTEMPTY,
    errno.EMLINK,
    errno.ENOENT,  # e.g. a symlink with an empty target
}


@dataclass(frozen=True)
class AppliedLayer:
    diff_id: Digest
    compressed_digest: Digest
    compressed_size: int
    size: int  # sum of the regular-file sizes written


class _HashingRaw:
    """Hashes and counts the bytes pulled from the network or blob (the compressed digest)."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.hash = hashlib.sha256()
        self.count = 0
        self.hashing = True

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        self.count += len(data)
        if self.hashing:
            self.hash.update(data)
        return data


def _clean(name: str, member: str) -> tuple[str, ...]:
    absolute = name.startswith("/")
    parts: list[str] = []
    for comp in name.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            elif not absolute:
                raise InvalidParameter(f"layer member {member} escapes the root")
            continue
        parts.append(comp)
    return tuple(parts)


class _Applier:
    def __init__(self, target: str, whiteouts: str) -> None:
        self.whiteouts = whiteouts
        self.is_root = os.geteuid() == 0
        self.root_fd = os.open(target, _DIR_FLAGS)
        self.fds: dict[tuple[str, ...], int] = {(): self.root_fd}
        self.written: set[str] = set()
        self.dirs: list[tuple[tuple[str, ...], int, int]] = []
        self.size = 0

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    # -- directory descriptors ------------------------------------------------------------------
    def dir_fd(self, parts: tuple[str, ...], member: str, *, create: bool = True) -> int:
        fd = self.fds.get(parts)
        if fd is not None:
            return fd
        parent = self.dir_fd(parts[:-1], member, create=create)
        name = parts[-1]
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(name, 0o755, dir_fd=parent)
            self.written.add("/".join(parts))  # an implicit parent is this layer's too
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = os.lstat(name, dir_fd=parent)
            what = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a directory"
            raise InvalidParameter(
                f"layer member {member}: its parent {'/'.join(parts)} is {what}; refusing to write through it"
            ) from None
        self.fds[parts] = fd
        return fd

    def _drop_fds(self, pred: Callable[[tuple[str, ...]], bool]) -> None:
        for k in [k for k in self.fds if pred(k)]:
            os.close(self.fds.pop(k))

    def _forget_under(self, parts: tuple[str, ...]) -> None:
        n = len(parts)
        self._drop_fds(lambda k: len(k) >= n and k[:n] == parts)

    def remove(self, parent_fd: int, parts: tuple[str, ...]) -> None:
        name = parts[-1]
        try:
            st = os.lstat(name, dir_fd=parent_fd)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            self._forget_under(parts)
            shutil.rmtree(name, dir_fd=parent_fd)
        else:
            os.unlink(name, dir_fd=parent_fd)

    # -- members --------------------------------------------------------------------------------
    def apply(self, m: Member, tr: tarread.TarReader) -> None:
        if len(self.fds) >= _MAX_CACHED_FDS:
            # Only here, between members, is no descriptor in use by a caller.
            self._drop_fds(lambda k: k != ())
        parts = _clean(m.name, m.name)
        if not parts:
            return  # the root entry ("./"): the target's own metadata is the snapshot's
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            self.whiteout(m, parts)
            return
        pfd = self.dir_fd(parts[:-1], m.name)
        key = "/".join(parts)
        t = m.type
        if m.is_file():
            self.regular(m, pfd, parts, tr)
        elif t == tarread.DIR:
            self.directory(m, pfd, parts)
        elif t == tarread.SYM:
            self._create(pfd, parts, lambda: os.symlink(m.linkname, base, dir_fd=pfd))
            self.meta_nofollow(m, pfd, base)
        elif t == tarread.LNK:
            self.hardlink(m, pfd, parts)
        elif t in (tarread.CHR, tarread.BLK):
            if self.whiteouts == "native" or not self.is_root:
                log.debug("skipping device node %s (not root or native format)", m.name)
                return
            kind = stat.S_IFCHR if t == tarread.CHR else stat.S_IFBLK
            dev = os.makedev(m.devmajor, m.devminor)
            self._create(pfd, parts, lambda: os.mknod(base, kind | 0o600, dev, dir_fd=pfd))
            self.meta_path(m, pfd, base)
        elif t == tarread.FIFO:
            self._create(pfd, parts, lambda: os.mkfifo(base, 0o600, dir_fd=pfd))
            self.meta_path(m, pfd, base)
        else:
            raise InvalidParameter(f"layer member {m.name}: unsupported tar entry type {t!r}")
        self.written.add(key)

    def _create(self, pfd: int, parts: tuple[str, ...], make: Callable[[], object]) -> None:
        try:
            make()
        except FileExistsError:
            self.remove(pfd, parts)
            make()

    def regular(self, m: Member, pfd: int, parts: tuple[str, ...], tr: tarread.TarReader) -> None:
        base = parts[-1]
        try:
            fd = os.open(base, _FILE_FLAGS, 0o600, dir_fd=pfd)
        except FileExistsError:
            self.remove(pfd, parts)
            fd = os.open(base, _FILE_FLAGS, 0o600, dir_fd=pfd)
        try:
            left = m.size
            while left:
                data = tr.read_data(min(left, _CHUNK))
                left -= len(data)
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
            self.size += m.size
            if self.is_root:
                os.fchown(fd, m.uid, m.gid)
            os.fchmod(fd, m.mode)
            self.xattrs(m, fd)
            os.utime(fd, ns=(m.mtime_ns, m.mtime_ns))
        finally:
            os.close(fd)

    def directory(self, m: Member, pfd: int, parts: tuple[str, ...]) -> None:
        base = parts[-1]
        try:
            os.mkdir(base, 0o700, dir_fd=pfd)
        except FileExistsError:
            st = os.lstat(base, dir_fd=pfd)
            if not stat.S_ISDIR(st.st_mode):
                self.remove(pfd, parts)
                os.mkdir(base, 0o700, dir_fd=pfd)
        fd = self.dir_fd(parts, m.name)
        if self.is_root:
            os.fchown(fd, m.uid, m.gid)
        self.xattrs(m, fd)
        # Mode and times last: children would bump the mtime and a 0555 mode would lock us out.
        self.dirs.append((parts, m.mode, m.mtime_ns))

    def hardlink(self, m: Member, pfd: int, parts: tuple[str, ...]) -> None:
        src = _clean(m.linkname, m.name)
        if not src:
            raise InvalidParameter(f"layer member {m.name}: hardlink to the root directory")
        if src == parts:
            return
        if src[: len(parts)] == parts:
            raise InvalidParameter(f"layer member {m.name}: hardlink into its own subtree ({m.linkname})")
        try:
            sfd = self.dir_fd(src[:-1], m.name, create=False)
            st = os.lstat(src[-1], dir_fd=sfd)
        except FileNotFoundError:
            raise InvalidParameter(
                f"layer member {m.name}: hardlink target {m.linkname} does not exist in the layer"
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise InvalidParameter(f"layer member {m.name}: hardlink target {m.linkname} is a directory")
        base = parts[-1]
        self._create(
            pfd,
            parts,
            lambda: os.link(src[-1], base, src_dir_fd=sfd, dst_dir_fd=pfd, follow_symlinks=False),
        )

    def meta_nofollow(self, m: Member, pfd: int, base: str) -> None:
        if self.is_root:
            os.chown(base, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        if m.xattrs:
            path = f"/proc/self/fd/{pfd}/{base}"
            for k, v in self._wanted_xattrs(m):
                self._setx(m, path, k, v)
        os.utime(base, ns=(m.mtime_ns, m.mtime_ns), dir_fd=pfd, follow_symlinks=False)

    def meta_path(self, m: Member, pfd: int, base: str) -> None:
        """Owner, mode and times of a node just created by us (a device or fifo, not a symlink)."""
        if self.is_root:
            os.chown(base, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        os.chmod(base, m.mode, dir_fd=pfd)
        if m.xattrs:
            path = f"/proc/self/fd/{pfd}/{base}"
            for k, v in self._wanted_xattrs(m):
                self._setx(m, path, k, v)
        os.utime(base, ns=(m.mtime_ns, m.mtime_ns), dir_fd=pfd, follow_symlinks=False)

    @staticmethod
    def _wanted_xattrs(m: Member) -> list[tuple[str, bytes]]:
        # overlayfs's own xattrs could redirect lookups into other layers: never from a tar.
        return [(k, v) for k, v in sorted(m.xattrs.items()) if not k.startswith("trusted.overlay.")]

    def xattrs(self, m: Member, fd: int) -> None:
        for k, v in self._wanted_xattrs(m):
            self._setx(m, fd, k, v)

    @staticmethod
    def _setx(m: Member, where: int | str, k: str, v: bytes) -> None:
        try:
            if isinstance(where, int):
                os.setxattr(where, k, v)
            else:
                os.setxattr(where, k, v, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (errno.ENOTSUP, errno.EPERM, errno.EACCES):
                log.debug("layer member %s: xattr not kept: %s", m.name, exc.strerror)
                return
            raise

    # -- whiteouts ------------------------------------------------------------------------------
    def whiteout(self, m: Member, parts: tuple[str, ...]) -> None:
        base = parts[-1]
        dparts = parts[:-1]
        if base == OPAQUE_MARKER:
            if self.whiteouts == "overlay":
                fd = self.dir_fd(dparts, m.name)
                os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
            else:
                try:
                    fd = self.dir_fd(dparts, m.name, create=False)
                except FileNotFoundError:
                    return
                self.clear_opaque(fd, dparts)
            return
        victim = base[len(WHITEOUT_PREFIX) :]
        if victim in ("", ".", "..") or victim.startswith(WHITEOUT_PREFIX):
            raise InvalidParameter(f"layer member {m.name}: invalid whiteout name")
        vparts = (*dparts, victim)
        if "/".join(vparts) in self.written:
            return  # the same layer re-created it: whiteouts only hide lower layers
        if self.whiteouts == "overlay":
            pfd = self.dir_fd(dparts, m.name)
            self._create(pfd, vparts, lambda: os.mknod(victim, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd))
            if self.is_root:
                os.chown(victim, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        else:
            try:
                pfd = self.dir_fd(dparts, m.name, create=False)
            except FileNotFoundError:
                return
            self.remove(pfd, vparts)

    def clear_opaque(self, fd: int, dparts: tuple[str, ...]) -> None:
        """Native format: delete every entry of the directory that this layer did not write."""
        prefix = "/".join(dparts) + "/" if dparts else ""
        keep: set[str] = set()
        for w in self.written:
            if w.startswith(prefix):
                comps = w[len(prefix) :].split("/")
                for i in range(1, len(comps) + 1):
                    keep.add(prefix + "/".join(comps[:i]))
        self._clear(fd, dparts, keep)

    def _clear(self, fd: int, dparts: tuple[str, ...], keep: set[str]) -> None:
        for name in os.listdir(fd):
            cparts = (*dparts, name)
            key = "/".join(cparts)
            if key not in keep:
                self.remove(fd, cparts)
                continue
            st = os.lstat(name, dir_fd=fd)
            if stat.S_ISDIR(st.st_mode):
                # Kept because this layer wrote in it: its lower children are hidden all the same.
                self._clear(self.dir_fd(cparts, key, create=False), cparts, keep)

    def finish_dirs(self) -> None:
        for parts, mode, mtime_ns in reversed(self.dirs):
            try:
                fd = self.dir_fd(parts, "/".join(parts), create=False)
            except (FileNotFoundError, InvalidParameter):
                continue  # replaced or deleted later in the same layer
            os.fchmod(fd, mode)
            os.utime(fd, ns=(mtime_ns, mtime_ns))


def apply_layer(target: os.PathLike[str] | str, stream: BinaryIO, *, whiteouts: str = "overlay") -> AppliedLayer:
    """Extract ``stream`` (a layer blob, maybe compressed) into ``target``.

    ``target`` must be a fresh directory for ``"overlay"`` (a snapshot's upper dir) or the
    parent's copy for ``"native"``. On error the target is partially written: remove the
    snapshot it belongs to.
    """
    if whiteouts not in ("overlay", "native"):
        raise InvalidParameter(f"unknown whiteout format {whiteouts!r}: use 'overlay' or 'native'")
    raw = _HashingRaw(stream)
    head = compression.read_head(raw)
    kind = compression.detect(head)
    if kind == "":
        raw.hashing = False  # uncompressed: the compressed digest is the diff ID
    src = compression.open_decompressed(kind, head, raw)
    tr = tarread.TarReader(src)
    applier = _Applier(os.fspath(target), whiteouts)
    current = ""
    try:
        for m in tr:
            current = m.name
            applier.apply(m, tr)
        current = ""
        applier.finish_dirs()
        tr.drain()
        while raw.read(_CHUNK):
            pass
    except DockwrightError:
        raise
    except OSError as exc:
        raise _os_error(exc, current) from exc
    except ValueError as exc:  # an embedded NUL in a PAX path, and the like
        raise InvalidParameter(f"layer member {current!r}: {exc}") from exc
    finally:
        applier.close()
    diff_id = Digest(tr.digest())
    compressed = diff_id if kind == "" else Digest("sha256:" + raw.hash.hexdigest())
    return AppliedLayer(diff_id, compressed, raw.count, applier.size)


def measure_layer(stream: BinaryIO) -> AppliedLayer:
    """What ``apply_layer`` would report for ``stream``, without writing a file: the diff ID, the
    compressed digest and the content size. Verifies a layer blob whose unpacking can wait."""
    raw = _HashingRaw(stream)
    head = compression.read_head(raw)
    kind = compression.detect(head)
    if kind == "":
        raw.hashing = False
    tr = tarread.TarReader(compression.open_decompressed(kind, head, raw))
    size = 0
    try:
        for m in tr:
            if m.is_file():
                size += m.size
        tr.drain()
        while raw.read(_CHUNK):
            pass
    except ValueError as exc:
        raise InvalidParameter(f"layer: {exc}") from exc
    diff_id = Digest(tr.digest())
    compressed = diff_id if kind == "" else Digest("sha256:" + raw.hash.hexdigest())
    return AppliedLayer(diff_id, compressed, raw.count, size)


def _os_error(exc: OSError, member: str) -> DockwrightError:
    where = f"layer member {member}" if member else "applying layer"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Unavailable(f"{where}: {exc.strerror}: free some space and retry")
    if exc.errno in _INPUT_ERRNOS:
        return InvalidParameter(f"{where}: {exc.strerror}")
    if exc.errno == errno.EPERM:
        return Unavailable(f"{where}: {exc.strerror} (creating overlay whiteouts needs root)")
    return Internal(f"{where}: {exc.strerror}")
