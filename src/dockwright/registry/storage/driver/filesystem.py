"""Filesystem driver: driver paths map one-to-one under a root directory.

``put_content`` and ``move`` are atomic renames inside the root; a writer's
``commit`` fsyncs the file and its directory, so a blob moved into place after
verification survives a crash.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from .base import FileInfo, InvalidOffset, PathNotFound, WriterClosed, check_path

NAME = "filesystem"


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemWriter:
    def __init__(self, full: str, append: bool) -> None:
        self._full = full
        self._done = False
        if append:
            if not os.path.isfile(full):
                raise PathNotFound(NAME, full)
            self._f = open(full, "ab")  # noqa: SIM115 - owned by the writer
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            self._f = open(full, "wb")  # noqa: SIM115
        self._size = self._f.tell()

    def write(self, data: bytes) -> int:
        if self._done:
            raise WriterClosed(NAME)
        n = self._f.write(data)
        self._size += n
        return n

    def size(self) -> int:
        return self._size

    def cancel(self) -> None:
        if self._done:
            raise WriterClosed(NAME)
        self._done = True
        self._f.close()
        try:
            os.unlink(self._full)
        except FileNotFoundError:
            pass

    def commit(self) -> None:
        if self._done:
            raise WriterClosed(NAME)
        self._done = True
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        finally:
            self._f.close()
        _fsync_dir(os.path.dirname(self._full))

    def close(self) -> None:
        """Keep the bytes for a later append; durable, since a commit may follow without more writes."""
        if self._done:
            return
        self._done = True
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        finally:
            self._f.close()


class FilesystemDriver:
    name = NAME

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    def _full(self, path: str, *, root_ok: bool = False) -> str:
        check_path(NAME, path, root_ok=root_ok)
        return self.root if path == "/" else self.root + path

    def local_path(self, path: str) -> str:
        return self._full(path)

    def get_content(self, path: str) -> bytes:
        try:
            with open(self._full(path), "rb") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise PathNotFound(NAME, path) from exc

    def put_content(self, path: str, data: bytes) -> None:
        full = self._full(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        tmp = f"{full}.tmp-{uuid.uuid4().hex}"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, full)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        full = self._full(path)
        try:
            f = open(full, "rb")  # noqa: SIM115 - caller closes
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise PathNotFound(NAME, path) from exc
        size = os.fstat(f.fileno()).st_size
        if offset < 0 or offset > size:
            f.close()
            raise InvalidOffset(NAME, path, offset)
        f.seek(offset)
        return f

    def writer(self, path: str, *, append: bool = False) -> FilesystemWriter:
        full = self._full(path)
        try:
            return FilesystemWriter(full, append)
        except PathNotFound as exc:
            raise PathNotFound(NAME, path) from exc

    def stat(self, path: str) -> FileInfo:
        try:
            st = os.stat(self._full(path, root_ok=True))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise PathNotFound(NAME, path) from exc
        is_dir = os.path.isdir(self._full(path, root_ok=True))
        return FileInfo(path, 0 if is_dir else st.st_size, st.st_mtime, is_dir)

    def list(self, path: str) -> list[str]:
        full = self._full(path, root_ok=True)
        try:
            names = os.listdir(full)
        except (FileNotFoundError, NotADirectoryError) as exc:
            if path == "/":
                return []
            raise PathNotFound(NAME, path) from exc
        prefix = "" if path == "/" else path
        return sorted(f"{prefix}/{n}" for n in names if ".tmp-" not in n)

    def move(self, src: str, dst: str) -> None:
        fsrc, fdst = self._full(src), self._full(dst)
        if not os.path.exists(fsrc):
            raise PathNotFound(NAME, src)
        os.makedirs(os.path.dirname(fdst), exist_ok=True)
        os.replace(fsrc, fdst)
        _fsync_dir(os.path.dirname(fdst))
        self._prune(os.path.dirname(fsrc))

    def delete(self, path: str) -> None:
        full = self._full(path)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            try:
                os.unlink(full)
            except FileNotFoundError as exc:
                raise PathNotFound(NAME, path) from exc
        self._prune(os.path.dirname(full))

    def _prune(self, full_dir: str) -> None:
        """Remove directories left empty, as drivers without directories would."""
        while full_dir.startswith(self.root + "/"):
            try:
                os.rmdir(full_dir)
            except OSError:
                return
            full_dir = os.path.dirname(full_dir)

    def walk(self, path: str, *, start_after: str | None = None) -> Iterator[FileInfo]:
        full = self._full(path, root_ok=True)
        if not os.path.isdir(full):
            if path != "/":
                raise PathNotFound(NAME, path)
            return
        out: list[FileInfo] = []
        base = "" if path == "/" else path
        for dirpath, _dirs, files in os.walk(full):
            rel = dirpath[len(full) :]
            for name in files:
                if ".tmp-" in name:
                    continue
                p = f"{base}{rel}/{name}"
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                out.append(FileInfo(p, st.st_size, st.st_mtime, False))
        out.sort(key=lambda fi: fi.path)
        for fi in out:
            if start_after is None or fi.path > start_after:
                yield fi

    def redirect_url(self, method: str, path: str) -> str | None:
        return None
