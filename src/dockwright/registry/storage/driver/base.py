"""The storage driver seam: everything the registry keeps goes through it.

Vocabulary and lifecycle, after CNCF Distribution's ``storagedriver.go``:

* A *path* is absolute and matches ``^(/[A-Za-z0-9._-]+)+$`` (``/`` alone is the
  root, accepted only by ``list``, ``stat`` and ``walk``). Directories are
  implied by the files below them and vanish with their last file.
* ``put_content`` and a committed ``writer`` replace a file whole; readers never
  see a half-written ``put_content``.
* ``writer(path)`` starts a file afresh, ``writer(path, append=True)`` resumes the
  bytes already there (a blob upload spans several HTTP requests). ``commit``
  makes the bytes durable; ``close`` keeps what was written for a later append;
  ``cancel`` throws the file away. Each of the three ends the writer.
* Drivers are synchronous and thread-safe for distinct paths; the server calls
  them from worker threads.

Errors are the project's kinds so handlers need no driver-specific mapping:
``PathNotFound`` is a ``NotFound``, ``InvalidPath`` and ``InvalidOffset`` are
``InvalidParameter``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from dockwright.errors import FailedPrecondition, InvalidParameter, NotFound

PATH_RE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")


class PathNotFound(NotFound):
    def __init__(self, driver: str, path: str) -> None:
        super().__init__(f"{driver}: path not found: {path}")
        self.driver = driver
        self.path = path


class InvalidPath(InvalidParameter):
    def __init__(self, driver: str, path: str) -> None:
        super().__init__(f"{driver}: invalid path: {path!r}")
        self.driver = driver
        self.path = path


class InvalidOffset(InvalidParameter):
    def __init__(self, driver: str, path: str, offset: int) -> None:
        super().__init__(f"{driver}: invalid offset {offset} for {path}")
        self.driver = driver
        self.path = path
        self.offset = offset


class WriterClosed(FailedPrecondition):
    def __init__(self, driver: str) -> None:
        super().__init__(f"{driver}: writer already closed, committed or cancelled")


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    mod_time: float
    is_dir: bool


class FileWriter(Protocol):
    def write(self, data: bytes) -> int: ...
    def size(self) -> int: ...
    def cancel(self) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class StorageDriver(Protocol):
    name: str

    def get_content(self, path: str) -> bytes: ...
    def put_content(self, path: str, data: bytes) -> None: ...
    def reader(self, path: str, offset: int = 0) -> BinaryIO: ...
    def writer(self, path: str, *, append: bool = False) -> FileWriter: ...
    def stat(self, path: str) -> FileInfo: ...
    def list(self, path: str) -> list[str]: ...
    def move(self, src: str, dst: str) -> None: ...
    def delete(self, path: str) -> None: ...
    def walk(self, path: str, *, start_after: str | None = None) -> Iterator[FileInfo]: ...
    def redirect_url(self, method: str, path: str) -> str | None: ...


@runtime_checkable
class LocalFiles(Protocol):
    """Optional: a driver whose files are local, so blobs can go out by sendfile."""

    def local_path(self, path: str) -> str: ...


def check_path(driver: str, path: str, *, root_ok: bool = False) -> str:
    if root_ok and path == "/":
        return path
    if not isinstance(path, str) or not PATH_RE.match(path) or "/../" in path + "/" or "/./" in path + "/":
        raise InvalidPath(driver, path)
    return path


def parent_dirs(path: str) -> Iterator[str]:
    """``/a/b/c`` → ``/a/b``, ``/a`` (not ``/``)."""
    while True:
        path = path.rsplit("/", 1)[0]
        if not path:
            return
        yield path
