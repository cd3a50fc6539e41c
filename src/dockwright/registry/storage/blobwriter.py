"""Upload sessions: bytes land under ``_uploads/<uuid>`` and become a blob on commit.

``commit`` follows distribution's ``BlobWriter.Commit``: close the file,
check size and digest, move it to ``blobs/`` (or drop it if that blob already
exists), link it into the repository, remove the session. Until the move
nothing is visible. The running hash lives in memory (``HashStates``) while
one process serves a session; a session resumed elsewhere, or after a crash,
is re-hashed from its data at commit.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from dockwright.oci.digest import Digest, algorithm

from ..errcode import BLOB_UPLOAD_UNKNOWN, DIGEST_INVALID, SIZE_INVALID, RegistryError
from . import paths
from .blobs import LinkedBlobStore
from .driver.base import FileWriter, PathNotFound, StorageDriver

READ_CHUNK = 1 << 20
MAX_STATES = 4096
UPLOAD_ID_RE = re.compile(r"^[0-9a-fA-F-]{8,64}$")


@dataclass
class _HashState:
    offset: int
    alg: str
    h: hashlib._Hash


class HashStates:
    """Running digests of the sessions this process is receiving."""

    def __init__(self) -> None:
        self._states: dict[str, _HashState] = {}
        self._lock = threading.Lock()

    def get(self, upload_id: str) -> _HashState | None:
        with self._lock:
            return self._states.get(upload_id)

    def set(self, upload_id: str, st: _HashState) -> None:
        with self._lock:
            self._states.pop(upload_id, None)
            self._states[upload_id] = st
            while len(self._states) > MAX_STATES:  # abandoned sessions: forget the oldest
                del self._states[next(iter(self._states))]

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._states.pop(upload_id, None)


def new_upload(driver: StorageDriver, repo: str) -> str:
    upload_id = str(uuid.uuid4())
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    driver.put_content(paths.upload_started(repo, upload_id), started.encode())
    return upload_id


def upload_offset(driver: StorageDriver, repo: str, upload_id: str) -> int:
    """Bytes received so far; ``BLOB_UPLOAD_UNKNOWN`` if there is no such session."""
    if not UPLOAD_ID_RE.match(upload_id):
        raise RegistryError(BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id[:80]})
    try:
        driver.stat(paths.upload_started(repo, upload_id))
    except PathNotFound as exc:
        raise RegistryError(BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id}) from exc
    try:
        return driver.stat(paths.upload_data(repo, upload_id)).size
    except PathNotFound:
        return 0


class BlobWriter:
    def __init__(
        self, blobs: LinkedBlobStore, upload_id: str, states: HashStates, *, alg: str = "sha256"
    ) -> None:
        self.blobs = blobs
        self.driver = blobs.driver
        self.repo = blobs.repo
        self.id = upload_id
        self._states = states
        self.offset = upload_offset(self.driver, self.repo, upload_id)
        st = states.get(upload_id)
        if st is None or st.offset != self.offset:
            st = _HashState(0, alg, hashlib.new(alg)) if self.offset == 0 else None
        self._hash = st
        self._fw: FileWriter | None = None

    def _file(self) -> FileWriter:
        if self._fw is None:
            data = paths.upload_data(self.repo, self.id)
            try:
                self._fw = self.driver.writer(data, append=self.offset > 0)
            except PathNotFound:
                self._fw = self.driver.writer(data)
        return self._fw

    def write(self, data: bytes) -> None:
        self._file().write(data)
        self.offset += len(data)
        if self._hash is not None:
            self._hash.h.update(data)
            self._hash.offset = self.offset

    def close(self) -> None:
        """End this request's part of the session, keeping the bytes for the next."""
        if self._fw is not None:
            self._fw.close()
            self._fw = None
        if self._hash is not None:
            self._states.set(self.id, self._hash)

    def cancel(self) -> None:
        if self._fw is not None:
            self._fw.close()
            self._fw = None
        self._states.drop(self.id)
        try:
            self.driver.delete(paths.upload_dir(self.repo, self.id))
        except PathNotFound as exc:
            raise RegistryError(BLOB_UPLOAD_UNKNOWN, detail={"uuid": self.id}) from exc

    def _digest(self, alg: str) -> Digest:
        if self._hash is not None and self._hash.alg == alg and self._hash.offset == self.offset:
            return Digest(f"{alg}:{self._hash.h.hexdigest()}")
        h = hashlib.new(alg)
        if self.offset:
            with self.driver.reader(paths.upload_data(self.repo, self.id)) as r:
                while chunk := r.read(READ_CHUNK):
                    h.update(chunk)
        return Digest(f"{alg}:{h.hexdigest()}")

    def commit(self, expected: Digest, size: int | None = None) -> int:
        """Verify and publish the blob; returns its size. Always ends the session on success."""
        data = paths.upload_data(self.repo, self.id)
        if self._fw is not None:
            self._fw.commit()
            self._fw = None
        elif self.offset == 0:
            self.driver.put_content(data, b"")
        if size is not None and size != self.offset:
            raise RegistryError(SIZE_INVALID, f"upload has {self.offset} bytes, client said {size}")
        actual = self._digest(algorithm(expected))
        if actual != expected:
            self._states.drop(self.id)
            raise RegistryError(
                DIGEST_INVALID,
                f"content digest {actual} does not match the digest given, {expected}",
                detail={"digest": expected},
            )
        store = self.blobs.blobs
        if store.exists(expected):
            self.driver.delete(data)
        else:
            self.driver.move(data, paths.blob_data(expected))
        self.blobs.link(expected)
        self._states.drop(self.id)
        try:
            self.driver.delete(paths.upload_dir(self.repo, self.id))
        except PathNotFound:
            pass
        return self.offset


def started_at(driver: StorageDriver, repo: str, upload_id: str) -> float:
    """When a session began (seconds since the epoch); 0 when unreadable."""
    try:
        raw = driver.get_content(paths.upload_started(repo, upload_id)).decode().strip()
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    except (PathNotFound, ValueError):
        try:
            return driver.stat(paths.upload_dir(repo, upload_id)).mod_time
        except PathNotFound:
            return 0.0


def last_activity(driver: StorageDriver, repo: str, upload_id: str) -> float:
    try:
        return max(
            driver.stat(paths.upload_data(repo, upload_id)).mod_time, started_at(driver, repo, upload_id)
        )
    except PathNotFound:
        return started_at(driver, repo, upload_id) or time.time()
