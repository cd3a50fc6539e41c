"""The build context kept as one spooled tar plus an in-memory index, never unpacked.

Creating thousands of inodes is the slowest part of a rebuild on many disks,
and a rebuild whose steps all hit the cache needs none: the index has each
entry's metadata and content digest (hashed while the tar streams in), and a
COPY that misses reads file data from the spool by offset. Names are cleaned
so nothing can point outside the context; symlinks are just data here and are
resolved inside the index.
"""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dockwright.build.context.dockerignore import go_clean
from dockwright.errors import InvalidParameter


@dataclass
class Entry:
    mode: int  # full st_mode (type bits included)
    uid: int
    gid: int
    size: int
    mtime_ns: int
    offset: int = 0
    linkname: str = ""
    sha: str = ""
    children: list[str] = field(default_factory=list)


def _members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Like iterating ``tf``, but a stream cut right after a member's data ends the archive: the
    docker CLI sends such a tar when it appends a Dockerfile from outside the context."""
    seen = False
    while True:
        try:
            m = tf.next()
        except tarfile.ReadError as exc:
            if seen and "unexpected end of data" in str(exc):
                return
            raise
        if m is None:
            return
        seen = True
        yield m


class TarContext:
    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.entries: dict[str, Entry] = {"": Entry(stat.S_IFDIR | 0o755, 0, 0, 0, 0)}
        self._fh: BinaryIO | None = None

    # -- building the index ----------------------------------------------------------------
    @classmethod
    def receive(cls, stream: BinaryIO, spool: Path) -> TarContext:
        ctx = cls(spool)
        spool.parent.mkdir(parents=True, exist_ok=True)
        links: list[tuple[str, str]] = []
        with open(spool, "wb") as out:
            try:
                tf = tarfile.open(fileobj=stream, mode="r|*")  # noqa: SIM115 - closed by the with below
            except tarfile.ReadError as exc:
                raise InvalidParameter(f"the build context is not a valid tar archive: {exc}") from None
            with tf:
                try:
                    for m in _members(tf):
                        name = go_clean("/" + m.name).lstrip("/")
                        if not name:
                            continue
                        mtime_ns = int(m.mtime * 1_000_000_000)
                        if m.isreg():
                            src = tf.extractfile(m)
                            h = hashlib.sha256()
                            offset = out.tell()
                            if src is not None:
                                while chunk := src.read(1 << 20):
                                    h.update(chunk)
                                    out.write(chunk)
                            e = Entry(stat.S_IFREG | (m.mode & 0o7777), m.uid, m.gid, m.size, mtime_ns, offset,
                                      sha=h.hexdigest())
                        elif m.isdir():
                            old = ctx.entries.get(name)
                            e = Entry(stat.S_IFDIR | (m.mode & 0o7777), m.uid, m.gid, 0, mtime_ns)
                            if old is not None and stat.S_ISDIR(old.mode):
                                e.children = old.children
                                ctx.entries[name] = e
                                continue
                        elif m.issym():
                            e = Entry(stat.S_IFLNK | 0o777, m.uid, m.gid, 0, mtime_ns, linkname=m.linkname)
                        elif m.islnk():
                            links.append((name, go_clean("/" + m.linkname).lstrip("/")))
                            continue
                        else:
                            continue  # devices and fifos have no business in a context
                        ctx._add(name, e)
                except tarfile.TarError as exc:
                    raise InvalidParameter(f"the build context is not a valid tar archive: {exc}") from None
        for name, target in links:
            t = ctx.entries.get(target)
            if t is not None and stat.S_ISREG(t.mode):
                ctx._add(name, Entry(t.mode, t.uid, t.gid, t.size, t.mtime_ns, t.offset, sha=t.sha))
        for e in ctx.entries.values():
            e.children.sort()
        return ctx

    def _add(self, name: str, e: Entry) -> None:
        parent, _, base = name.rpartition("/")
        if parent not in self.entries:
            self._add(parent, Entry(stat.S_IFDIR | 0o755, 0, 0, 0, 0))
        p = self.entries[parent]
        if not stat.S_ISDIR(p.mode):  # a file replaced by a directory later in the stream
            p = Entry(stat.S_IFDIR | 0o755, 0, 0, 0, p.mtime_ns)
            self.entries[parent] = p
        if name not in self.entries:
            p.children.append(base)
        self.entries[name] = e

    # -- reading ---------------------------------------------------------------------------
    def get(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def read(self, name: str) -> bytes:
        e = self.entries[name]
        if self._fh is None:
            self._fh = open(self.spool, "rb")  # noqa: SIM115 - closed by close()
        self._fh.seek(e.offset)
        return self._fh.read(e.size)

    def open(self, name: str) -> BinaryIO:
        return io.BytesIO(self.read(name))

    def text(self, name: str) -> str:
        return self.read(name).decode("utf-8", "surrogateescape")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
