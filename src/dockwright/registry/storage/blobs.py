"""Blobs stored once by digest, and the per-repository links that expose them.

A repository serves only what it has linked (see ``paths``); the global store
knows nothing of repositories and is touched only by committed uploads,
manifest puts and GC.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from dockwright.oci.digest import Digest, DigestError, parse_digest

from ..errcode import BLOB_UNKNOWN, RegistryError
from . import paths
from .driver.base import FileInfo, LocalFiles, PathNotFound, StorageDriver


def read_link(driver: StorageDriver, path: str) -> Digest:
    """The digest a link file names; a missing or corrupt link reads as absent."""
    try:
        return parse_digest(driver.get_content(path).decode().strip())
    except (DigestError, UnicodeDecodeError) as exc:
        raise PathNotFound(driver.name, path) from exc


class BlobStore:
    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    def stat(self, digest: str) -> int:
        try:
            info = self.driver.stat(paths.blob_data(digest))
        except PathNotFound as exc:
            raise RegistryError(BLOB_UNKNOWN, detail={"digest": digest}) from exc
        return info.size

    def exists(self, digest: str) -> bool:
        try:
            self.stat(digest)
            return True
        except RegistryError:
            return False

    def get(self, digest: str) -> bytes:
        try:
            return self.driver.get_content(paths.blob_data(digest))
        except PathNotFound as exc:
            raise RegistryError(BLOB_UNKNOWN, detail={"digest": digest}) from exc

    def put(self, digest: str, data: bytes) -> None:
        """Store bytes whose digest the caller has just computed (manifests)."""
        if not self.exists(digest):
            self.driver.put_content(paths.blob_data(digest), data)

    def open(self, digest: str, offset: int = 0) -> BinaryIO:
        try:
            return self.driver.reader(paths.blob_data(digest), offset)
        except PathNotFound as exc:
            raise RegistryError(BLOB_UNKNOWN, detail={"digest": digest}) from exc

    def local_path(self, digest: str) -> str | None:
        if isinstance(self.driver, LocalFiles):
            return self.driver.local_path(paths.blob_data(digest))
        return None

    def redirect_url(self, method: str, digest: str) -> str | None:
        return self.driver.redirect_url(method, paths.blob_data(digest))

    def delete(self, digest: str) -> None:
        try:
            self.driver.delete(paths.blob_dir(digest))
        except PathNotFound:
            pass

    def walk(self) -> Iterator[tuple[Digest, FileInfo]]:
        try:
            for fi in self.driver.walk(paths.BLOBS):
                parts = fi.path.split("/")
                if parts[-1] != "data" or len(parts) < 4:
                    continue
                try:
                    yield parse_digest(f"{parts[-4]}:{parts[-2]}"), fi
                except DigestError:
                    continue
        except PathNotFound:
            return


class LinkedBlobStore:
    """One repository's view of the blob store, through ``_layers`` links."""

    def __init__(self, blobs: BlobStore, repo: str) -> None:
        self.blobs = blobs
        self.driver = blobs.driver
        self.repo = repo

    def linked(self, digest: str) -> bool:
        try:
            self.driver.stat(paths.layer_link(self.repo, digest))
            return True
        except PathNotFound:
            return False

    def stat(self, digest: str) -> int:
        if not self.linked(digest):
            raise RegistryError(BLOB_UNKNOWN, detail={"digest": digest})
        return self.blobs.stat(digest)

    def link(self, digest: str) -> None:
        self.driver.put_content(paths.layer_link(self.repo, digest), digest.encode())

    def unlink(self, digest: str) -> None:
        try:
            self.driver.delete(paths.layer_link(self.repo, digest).rsplit("/", 1)[0])
        except PathNotFound as exc:
            raise RegistryError(BLOB_UNKNOWN, detail={"digest": digest}) from exc

    def all(self) -> Iterator[Digest]:
        try:
            for fi in self.driver.walk(paths.layers(self.repo)):
                if fi.path.endswith("/link"):
                    try:
                        yield parse_digest(paths.digest_from_parts(fi.path.split("/")))
                    except DigestError:
                        continue
        except PathNotFound:
            return
