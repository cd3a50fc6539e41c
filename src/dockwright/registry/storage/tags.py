"""Tags of one repository: ``current/link`` names the digest, ``index/`` keeps history."""

from __future__ import annotations

import re

from dockwright.oci.digest import Digest

from ..errcode import MANIFEST_UNKNOWN, RegistryError
from . import paths
from .blobs import read_link
from .driver.base import PathNotFound, StorageDriver

TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")


class TagStore:
    def __init__(self, driver: StorageDriver, repo: str) -> None:
        self.driver = driver
        self.repo = repo

    def get(self, tag: str) -> Digest:
        try:
            return read_link(self.driver, paths.tag_current(self.repo, tag))
        except PathNotFound as exc:
            raise RegistryError(
                MANIFEST_UNKNOWN, f"manifest tagged by {tag!r} is not found", {"tag": tag}
            ) from exc

    def tag(self, tag: str, digest: str) -> None:
        self.driver.put_content(paths.tag_index_link(self.repo, tag, digest), digest.encode())
        self.driver.put_content(paths.tag_current(self.repo, tag), digest.encode())

    def untag(self, tag: str) -> None:
        try:
            self.driver.delete(paths.tag_dir(self.repo, tag))
        except PathNotFound as exc:
            raise RegistryError(MANIFEST_UNKNOWN, f"tag {tag!r} is not found", {"tag": tag}) from exc

    def all(self) -> list[str]:
        try:
            names = [p.rsplit("/", 1)[1] for p in self.driver.list(paths.tags(self.repo))]
        except PathNotFound:
            return []
        return sorted(n for n in names if TAG_RE.match(n))

    def lookup(self, digest: str) -> list[str]:
        """Tags currently pointing at ``digest``."""
        out = []
        for t in self.all():
            try:
                if self.get(t) == digest:
                    out.append(t)
            except RegistryError:
                continue
        return out
