"""Write a layer diff (or a whole tree) as a deterministic tar.

Determinism is what makes a rebuilt layer hit the cache and push nothing new: entries
are sorted by name (bytes) within each directory, the format is PAX with numeric owners
and no user or group names, times are whole seconds (clamped to ``epoch`` when given,
for SOURCE_DATE_EPOCH), and only mtime is recorded (no atime/ctime). Extended attributes
travel as ``SCHILY.xattr.*``, except overlayfs's private ``trusted.overlay.*``.

Whiteouts follow the OCI image spec: an overlay upper dir's 0/0 character devices become
``.wh.NAME`` entries and an opaque directory gets a ``.wh..wh..opq`` entry right after
its own; the native format compares the full tree against its lower dirs instead.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockwright.diff.apply import OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX
from dockwright.errors import Internal, InvalidParameter
from dockwright.oci.digest import Digest

_BLOCK = 512
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DiffResult:
    diff_id: Digest
    size: int  # uncompressed tar bytes


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out: dict[str, bytes] = {}
    for n in sorted(names):
        if n.startswith("trusted.overlay."):
            continue
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError:
            continue
    return out


class _TarOut:
    """Writes headers and data to ``out`` while hashing them (the diff ID)."""

    def __init__(self, out: BinaryIO, epoch: int | None) -> None:
        self.out = out
        self.epoch = epoch
        self.hash = hashlib.sha256()
        self.size = 0
        self.links: dict[tuple[int, int], str] = {}

    def _w(self, data: bytes | memoryview) -> None:
        self.out.write(data)
        self.hash.update(data)
        self.size += len(data)

    def _mtime(self, st: os.stat_result) -> int:
        t = int(st.st_mtime)
        if self.epoch is not None and t > self.epoch:
            t = self.epoch
        return max(t, 0)

    def _header(self, ti: tarfile.TarInfo, xattrs: dict[str, bytes] | None = None) -> None:
        ti.uname = ""
        ti.gname = ""
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
        self._w(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def marker(self, name: str, st: os.stat_result, mode: int = 0o600) -> None:
        """A zero-length regular file: a whiteout or the opaque marker."""
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.REGTYPE
        ti.mode = mode
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.mtime = self._mtime(st)
        self._header(ti)

    def entry(self, name: str, path: str, st: os.stat_result) -> None:
        ti = tarfile.TarInfo(name)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.mtime = self._mtime(st)
        m = st.st_mode
        xattrs = _xattrs(path)
        data = False
        if stat.S_ISREG(m):
            key = (st.st_dev, st.st_ino)
            first = self.links.get(key) if st.st_nlink > 1 else None
            if first is not None:
                ti.type = tarfile.LNKTYPE
                ti.linkname = first
            else:
                if st.st_nlink > 1:
                    self.links[key] = name
                ti.type = tarfile.REGTYPE
                ti.size = st.st_size
                data = True
        elif stat.S_ISDIR(m):
            ti.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(m):
            ti.type = tarfile.SYMTYPE
            ti.linkname = os.readlink(path)
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(m) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(m):
            ti.type = tarfile.FIFOTYPE
        else:
            return  # sockets cannot be archived; Docker skips them too
        self._header(ti, xattrs)
        if data:
            self._data(path, st.st_size, name)

    def _data(self, path: str, size: int, name: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            left = size
            while left:
                chunk = os.read(fd, min(left, _CHUNK))
                if not chunk:
                    raise Internal(f"{name} shrank while being archived; retry once it is stable")
                self._w(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        pad = -size % _BLOCK
        if pad:
            self._w(bytes(pad))

    def finish(self) -> DiffResult:
        self._w(bytes(2 * _BLOCK))
        return DiffResult(Digest("sha256:" + self.hash.hexdigest()), self.size)


def _sorted_entries(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: os.fsencode(e.name))


def _walk_tree(tw: _TarOut, path: str, prefix: str) -> None:
    for e in _sorted_entries(path):
        st = e.stat(follow_symlinks=False)
        name = prefix + e.name
        tw.entry(name, e.path, st)
        if stat.S_ISDIR(st.st_mode):
            _walk_tree(tw, e.path, name + "/")


def _is_whiteout_dev(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _walk_overlay(tw: _TarOut, path: str, prefix: str) -> None:
    for e in _sorted_entries(path):
        st = e.stat(follow_symlinks=False)
        name = prefix + e.name
        if _is_whiteout_dev(st):
            tw.marker(prefix + WHITEOUT_PREFIX + e.name, st)
            continue
        tw.entry(name, e.path, st)
        if stat.S_ISDIR(st.st_mode):
            try:
                opaque = os.getxattr(e.path, OVERLAY_OPAQUE_XATTR) == b"y"
            except OSError:
                opaque = False
            if opaque:
                tw.marker(name + "/" + OPAQUE_MARKER, st, stat.S_IMODE(st.st_mode))
            _walk_overlay(tw, e.path, name + "/")


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _changed(upath: str, ust: os.stat_result, lpath: str, lst: os.stat_result) -> bool:
    if stat.S_IFMT(ust.st_mode) != stat.S_IFMT(lst.st_mode):
        return True
    if (ust.st_mode, ust.st_uid, ust.st_gid) != (lst.st_mode, lst.st_uid, lst.st_gid):
        return True
    if stat.S_ISDIR(ust.st_mode):
        return _xattrs(upath) != _xattrs(lpath)
    if ust.st_size != lst.st_size or ust.st_mtime_ns != lst.st_mtime_ns or ust.st_rdev != lst.st_rdev:
        return True
    if stat.S_ISLNK(ust.st_mode) and os.readlink(upath) != os.readlink(lpath):
        return True
    return _xattrs(upath) != _xattrs(lpath)


def _lower_names(lowers: list[str]) -> set[str]:
    names: set[str] = set()
    for d in lowers:
        try:
            names.update(os.listdir(d))
        except (FileNotFoundError, NotADirectoryError):
            continue
    return names


def _child_lowers(lowers: list[str], name: str) -> Iterator[tuple[str, os.stat_result]]:
    """The lower entries for ``name``, top first, stopping at the first non-directory."""
    for d in lowers:
        p = os.path.join(d, name)
        st = _lstat(p)
        if st is None:
            continue
        yield p, st
        if not stat.S_ISDIR(st.st_mode):
            return


def _walk_native(tw: _TarOut, path: str, lowers: list[str], prefix: str) -> None:
    entries = _sorted_entries(path)
    present = {e.name for e in entries}
    for gone in sorted(_lower_names(lowers) - present, key=os.fsencode):
        st = os.lstat(path)
        tw.marker(prefix + WHITEOUT_PREFIX + gone, st)
    for e in entries:
        st = e.stat(follow_symlinks=False)
        name = prefix + e.name
        below = list(_child_lowers(lowers, e.name))
        if not below or _changed(e.path, st, below[0][0], below[0][1]):
            tw.entry(name, e.path, st)
        if stat.S_ISDIR(st.st_mode):
            sub = [p for p, s in below if stat.S_ISDIR(s.st_mode)]
            if below and not stat.S_ISDIR(below[0][1].st_mode):
                sub = []
            _walk_native(tw, e.path, sub, name + "/")


def write_diff(
    upper: Path,
    out: BinaryIO,
    *,
    whiteouts: str = "overlay",
    lower: list[Path] | None = None,
    epoch: int | None = None,
) -> DiffResult:
    """The changes of ``upper`` as a layer tar written to ``out``.

    ``"overlay"``: ``upper`` is an overlay upper dir (only the changes, with overlay
    whiteouts). ``"native"``: ``upper`` is a full tree and ``lower`` the parent's dirs,
    top first; the changes are found by comparing them.
    """
    tw = _TarOut(out, epoch)
    if whiteouts == "overlay":
        top = os.fspath(upper)
        try:
            if os.getxattr(top, OVERLAY_OPAQUE_XATTR) == b"y":
                tw.marker(OPAQUE_MARKER, os.lstat(top), 0o755)
        except OSError:
            pass
        _walk_overlay(tw, top, "")
    elif whiteouts == "native":
        _walk_native(tw, os.fspath(upper), [os.fspath(p) for p in (lower or [])], "")
    else:
        raise InvalidParameter(f"unknown whiteout format {whiteouts!r}: use 'overlay' or 'native'")
    return tw.finish()


def write_tree(root: Path, out: BinaryIO, *, epoch: int | None = None) -> DiffResult:
    """A whole directory as a tar (``docker export``, ``docker import`` round trips)."""
    tw = _TarOut(out, epoch)
    _walk_tree(tw, os.fspath(root), "")
    return tw.finish()
