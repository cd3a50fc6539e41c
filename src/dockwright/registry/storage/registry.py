"""The namespace: repositories over one driver, and the catalog."""

from __future__ import annotations

from collections.abc import Iterator

from . import paths
from .blobs import BlobStore, LinkedBlobStore
from .blobwriter import HashStates
from .driver.base import PathNotFound, StorageDriver
from .manifests import ManifestStore
from .tags import TagStore


class Repository:
    def __init__(self, reg: Registry, name: str) -> None:
        self.name = name
        self.driver = reg.driver
        self.blobs = LinkedBlobStore(reg.blobs, name)
        self.manifests = ManifestStore(reg.driver, reg.blobs, self.blobs, name)
        self.tags = TagStore(reg.driver, name)
        self.hash_states = reg.hash_states

    def exists(self) -> bool:
        try:
            self.driver.stat(paths.repo(self.name))
            return True
        except PathNotFound:
            return False


class Registry:
    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver
        self.blobs = BlobStore(driver)
        self.hash_states = HashStates()

    def repository(self, name: str) -> Repository:
        return Repository(self, name)

    def repositories(self) -> Iterator[str]:
        """Every repository name with manifests or layers, in lexical order."""
        yield from sorted(self._walk_repos(paths.REPOSITORIES, ""))

    def _walk_repos(self, path: str, prefix: str) -> Iterator[str]:
        try:
            children = self.driver.list(path)
        except PathNotFound:
            return
        names = [c.rsplit("/", 1)[1] for c in children]
        if prefix and any(n in ("_manifests", "_layers") for n in names):
            yield prefix
        for n in names:
            if not n.startswith("_"):
                yield from self._walk_repos(f"{path}/{n}", f"{prefix}/{n}" if prefix else n)
