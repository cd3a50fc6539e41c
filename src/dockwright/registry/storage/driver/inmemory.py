"""In-memory driver: for tests and throwaway registries; nothing survives the process."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO

from .base import FileInfo, InvalidOffset, PathNotFound, WriterClosed, check_path

NAME = "inmemory"


class _File:
    __slots__ = ("data", "mtime")

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)
        self.mtime = time.time()


class InMemoryWriter:
    def __init__(self, drv: InMemoryDriver, path: str, append: bool) -> None:
        self._drv = drv
        self._path = path
        self._done = False
        with drv._lock:
            f = drv._files.get(path)
            if append:
                if f is None:
                    raise PathNotFound(NAME, path)
            else:
                f = _File()
                drv._files[path] = f
            self._file = f

    def write(self, data: bytes) -> int:
        if self._done:
            raise WriterClosed(NAME)
        with self._drv._lock:
            self._file.data += data
            self._file.mtime = time.time()
        return len(data)

    def size(self) -> int:
        return len(self._file.data)

    def cancel(self) -> None:
        if self._done:
            raise WriterClosed(NAME)
        self._done = True
        with self._drv._lock:
            if self._drv._files.get(self._path) is self._file:
                del self._drv._files[self._path]

    def commit(self) -> None:
        if self._done:
            raise WriterClosed(NAME)
        self._done = True

    def close(self) -> None:
        self._done = True


class InMemoryDriver:
    name = NAME

    def __init__(self) -> None:
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()

    def get_content(self, path: str) -> bytes:
        check_path(NAME, path)
        with self._lock:
            f = self._files.get(path)
            if f is None:
                raise PathNotFound(NAME, path)
            return bytes(f.data)

    def put_content(self, path: str, data: bytes) -> None:
        check_path(NAME, path)
        with self._lock:
            self._files[path] = _File(data)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        data = self.get_content(path)
        if offset < 0 or offset > len(data):
            raise InvalidOffset(NAME, path, offset)
        r = io.BytesIO(data)
        r.seek(offset)
        return r

    def writer(self, path: str, *, append: bool = False) -> InMemoryWriter:
        check_path(NAME, path)
        return InMemoryWriter(self, path, append)

    def _children(self, path: str) -> list[str]:
        prefix = "/" if path == "/" else path + "/"
        return [p for p in self._files if p.startswith(prefix)]

    def stat(self, path: str) -> FileInfo:
        check_path(NAME, path, root_ok=True)
        with self._lock:
            f = self._files.get(path)
            if f is not None:
                return FileInfo(path, len(f.data), f.mtime, False)
            kids = self._children(path)
            if not kids and path != "/":
                raise PathNotFound(NAME, path)
            mtime = max((self._files[k].mtime for k in kids), default=time.time())
            return FileInfo(path, 0, mtime, True)

    def list(self, path: str) -> list[str]:
        check_path(NAME, path, root_ok=True)
        prefix = "/" if path == "/" else path + "/"
        with self._lock:
            kids = self._children(path)
        if not kids and path != "/":
            raise PathNotFound(NAME, path)
        return sorted({prefix + k[len(prefix) :].split("/", 1)[0] for k in kids})

    def move(self, src: str, dst: str) -> None:
        check_path(NAME, src)
        check_path(NAME, dst)
        with self._lock:
            f = self._files.pop(src, None)
            if f is None:
                raise PathNotFound(NAME, src)
            for k in self._children(dst):
                del self._files[k]
            self._files[dst] = f

    def delete(self, path: str) -> None:
        check_path(NAME, path)
        with self._lock:
            keys = self._children(path)
            if path in self._files:
                keys.append(path)
            if not keys:
                raise PathNotFound(NAME, path)
            for k in keys:
                del self._files[k]

    def walk(self, path: str, *, start_after: str | None = None) -> Iterator[FileInfo]:
        check_path(NAME, path, root_ok=True)
        with self._lock:
            kids = sorted(self._children(path))
            if not kids and path != "/":
                raise PathNotFound(NAME, path)
            infos = [FileInfo(k, len(self._files[k].data), self._files[k].mtime, False) for k in kids]
        for fi in infos:
            if start_after is None or fi.path > start_after:
                yield fi

    def redirect_url(self, method: str, path: str) -> str | None:
        return None
