"""The local content store: blobs addressed by digest, written through resumable ingests.

Layout under ``<data-root>/content``::

    blobs/
      sha256/
        <hex>                 verified blob, read-only (0444); the file name is its digest
    ingest/
      <sha256(ref)>/          one partial write per ref, resumable after a crash or a cancelled pull
        data                  bytes received so far (its size is the ingest offset)
        ref                   the ref as the caller gave it
        expected              digest the caller announced, if any
        startedat             unix time the ingest began (float, text)
        lock                  flock'ed by the one writer holding the ref

Lifecycle (containerd's): ``writer(ref)`` -> ``write()``... -> ``commit(size, expected)``.
Commit fsyncs the data, checks size and digest, renames the file into ``blobs/`` and
fsyncs the directory, so a blob is only ever visible once verified. Labels and
references are not kept here: the metadata database owns them, and it deletes blobs
only through garbage collection.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

from dockwright.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidParameter,
    NotFound,
    Unavailable,
)
from dockwright.oci.digest import Digest, DigestError, parse_digest

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    digest: Digest
    size: int
    created_at: float


@dataclass(frozen=True)
class IngestStatus:
    ref: str
    offset: int
    expected: Digest | None
    started_at: float


def _check_digest(d: str) -> Digest:
    try:
        return parse_digest(d)
    except DigestError as exc:
        raise InvalidParameter(str(exc)) from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path, alg: str) -> hashlib._Hash:
    h = hashlib.new(alg)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h


class ContentWriter:
    """One open ingest. ``commit`` always closes it; ``close`` keeps the ingest to resume later."""

    def __init__(self, store: ContentStore, ref: str, directory: Path, expected: Digest | None) -> None:
        self.ref = ref
        self._store = store
        self._dir = directory
        self._expected = expected
        self._lock_fd: int | None = None
        self._file: IO[bytes] | None = None
        self._closed = False
        alg = expected.partition(":")[0] if expected else "sha256"
        self._alg = alg
        self._lock()
        try:
            self._open()
        except BaseException:
            self._unlock()
            raise

    # -- setup -------------------------------------------------------------------------------
    def _lock(self) -> None:
        fd = os.open(self._dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise Unavailable(f"ref {self.ref} locked: another writer is ingesting it") from exc
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def _open(self) -> None:
        data = self._dir / "data"
        stored = self._read_meta("expected")
        if data.exists() and self._expected and stored and stored != self._expected:
            # The ref was reused for another blob: the old bytes are useless for this one.
            data.unlink()
        if not data.exists():
            (self._dir / "ref").write_text(self.ref)
            (self._dir / "startedat").write_text(repr(time.time()))
            (self._dir / "expected").write_text(self._expected or "")
            self._hash = hashlib.new(self._alg)
            self._file = data.open("wb")
            self._offset = 0
            return
        if self._expected is None and stored:
            self._expected = Digest(stored)
            self._alg = stored.partition(":")[0]
        elif self._expected:
            (self._dir / "expected").write_text(self._expected)
        # Resuming: the hash state is not persisted, so re-read what is already there.
        self._hash = _hash_file(data, self._alg)
        self._file = data.open("ab")
        self._offset = self._file.tell()

    def _read_meta(self, name: str) -> str:
        try:
            return (self._dir / name).read_text().strip()
        except FileNotFoundError:
            return ""

    # -- API -----------------------------------------------------------------------------------
    def _live(self) -> IO[bytes]:
        if self._closed or self._file is None:
            raise FailedPrecondition(f"content writer for ref {self.ref} is closed")
        return self._file

    def write(self, data: bytes) -> int:
        f = self._live()
        f.write(data)
        self._hash.update(data)
        self._offset += len(data)
        return len(data)

    def offset(self) -> int:
        return self._offset

    def digest(self) -> Digest:
        return Digest(f"{self._alg}:{self._hash.hexdigest()}")

    def status(self) -> IngestStatus:
        started = self._read_meta("startedat")
        return IngestStatus(self.ref, self._offset, self._expected, float(started or 0.0))

    def commit(self, size: int = 0, expected: Digest | None = None) -> Digest:
        f = self._live()
        try:
            f.flush()
            os.fsync(f.fileno())
            f.close()
            self._file = None
            want = expected or self._expected
            if want is not None:
                want = _check_digest(want)
                if want.partition(":")[0] != self._alg:
                    self._hash = _hash_file(self._dir / "data", want.partition(":")[0])
                    self._alg = want.partition(":")[0]
            if size > 0 and size != self._offset:
                self._discard()
                raise FailedPrecondition(f"unexpected commit size {self._offset} for ref {self.ref}, expected {size}")
            got = self.digest()
            if want is not None and got != want:
                self._discard()
                raise FailedPrecondition(f"unexpected commit digest {got} for ref {self.ref}, expected {want}")
            target = self._store._blob_path(got)
            if target.exists():
                self._discard()
                raise AlreadyExists(f"content {got}: already exists")
            target.parent.mkdir(parents=True, exist_ok=True)
            src = self._dir / "data"
            os.chmod(src, 0o444)
            os.rename(src, target)
            _fsync_dir(target.parent)
            self._discard()
            return got
        finally:
            self._close()

    def _discard(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._unlock()
        self._closed = True

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
        self._close()

    def __enter__(self) -> ContentWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class ContentStore:
    """Blobs by digest under ``root``; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs"
        self._ingest = self.root / "ingest"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._ingest.mkdir(parents=True, exist_ok=True)

    def _blob_path(self, d: Digest) -> Path:
        d = _check_digest(d)
        alg, _, hexpart = d.partition(":")
        return self._blobs / alg / hexpart

    def _ingest_dir(self, ref: str) -> Path:
        return self._ingest / hashlib.sha256(ref.encode()).hexdigest()

    # -- readers ---------------------------------------------------------------------------------
    def info(self, d: Digest) -> BlobInfo:
        p = self._blob_path(d)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise NotFound(f"blob {d} not found") from None
        return BlobInfo(Digest(d), st.st_size, st.st_mtime)

    def exists(self, d: Digest) -> bool:
        return self._blob_path(d).is_file()

    def open(self, d: Digest) -> BinaryIO:
        try:
            return self._blob_path(d).open("rb")
        except FileNotFoundError:
            raise NotFound(f"blob {d} not found") from None

    def path(self, d: Digest) -> Path:
        p = self._blob_path(d)
        if not p.is_file():
            raise NotFound(f"blob {d} not found")
        return p

    def read_bytes(self, d: Digest) -> bytes:
        with self.open(d) as f:
            return f.read()

    def walk(self) -> Iterator[BlobInfo]:
        for algdir in sorted(self._blobs.iterdir()):
            if not algdir.is_dir():
                continue
            for entry in sorted(os.scandir(algdir), key=lambda e: e.name):
                try:
                    d = parse_digest(f"{algdir.name}:{entry.name}")
                    st = entry.stat(follow_symlinks=False)
                except (DigestError, FileNotFoundError):
                    continue
                yield BlobInfo(d, st.st_size, st.st_mtime)

    def usage(self) -> int:
        return sum(b.size for b in self.walk())

    def verify(self, d: Digest) -> bool:
        p = self.path(d)
        return f"{d.partition(':')[0]}:{_hash_file(p, d.partition(':')[0]).hexdigest()}" == d

    # -- writers ---------------------------------------------------------------------------------
    def writer(self, ref: str, *, expected: Digest | None = None) -> ContentWriter:
        if not ref:
            raise InvalidParameter("content writer needs a non-empty ref")
        if expected is not None:
            expected = _check_digest(expected)
            if self.exists(expected):
                raise AlreadyExists(f"content {expected}: already exists")
        d = self._ingest_dir(ref)
        for _ in range(5):
            d.mkdir(parents=True, exist_ok=True)
            try:
                return ContentWriter(self, ref, d, expected)
            except FileNotFoundError:
                continue  # a writer of the same ref committed and removed the dir meanwhile
        raise Unavailable(f"ref {ref} locked: it keeps being committed or aborted concurrently")

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        alg = expected.partition(":")[0] if expected else "sha256"
        if expected is not None:
            expected = _check_digest(expected)
        got = Digest(f"{alg}:{hashlib.new(alg, data).hexdigest()}")
        if expected is not None and got != expected:
            raise FailedPrecondition(f"unexpected content digest {got}, expected {expected}")
        if self.exists(got):
            return got
        ref = f"put-{got}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            w = self.writer(ref, expected=got)
        except AlreadyExists:
            return got
        try:
            w.write(data)
        except BaseException:
            w.close()
            self.abort(ref)
            raise
        try:
            return w.commit(len(data), got)
        except AlreadyExists:
            return got

    def ingests(self) -> list[IngestStatus]:
        out: list[IngestStatus] = []
        for entry in sorted(self._ingest.iterdir()):
            try:
                ref = (entry / "ref").read_text()
                started = float((entry / "startedat").read_text() or 0)
                exp = (entry / "expected").read_text().strip() if (entry / "expected").exists() else ""
                offset = (entry / "data").stat().st_size
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue
            out.append(IngestStatus(ref, offset, Digest(exp) if exp else None, started))
        return out

    def status(self, ref: str) -> IngestStatus:
        for st in self.ingests():
            if st.ref == ref:
                return st
        raise NotFound(f"ingest {ref} not found")

    def abort(self, ref: str) -> None:
        d = self._ingest_dir(ref)
        if not d.is_dir():
            raise NotFound(f"ingest {ref} not found")
        fd = os.open(d / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise Unavailable(f"ref {ref} locked: a writer is still using it") from exc
            shutil.rmtree(d, ignore_errors=True)
        finally:
            os.close(fd)

    def delete(self, d: Digest) -> None:
        p = self._blob_path(d)
        try:
            p.unlink()
        except FileNotFoundError:
            raise NotFound(f"blob {d} not found") from None

    def fsck(self) -> list[Digest]:
        """Digests of blobs whose bytes no longer match their name (for ``system check``)."""
        bad: list[Digest] = []
        for b in self.walk():
            with contextlib.suppress(NotFound):
                if not self.verify(b.digest):
                    bad.append(b.digest)
        return bad


__all__ = ["BlobInfo", "ContentStore", "ContentWriter", "IngestStatus"]
