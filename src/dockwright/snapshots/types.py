"""The snapshotter's vocabulary, after containerd's.

* A **key** names an *active* snapshot (writable) or a *view* (read-only); a **name**
  names a *committed* one (immutable). Keys and names share one namespace.
* A **parent** is always a committed snapshot; its chain down to the root makes the
  lower layers of the mounts.

Importing a layer::

    mounts = sn.prepare("extract-<random> <chainID>", parent=<parent chainID>)
    apply_layer(sn.upper_dir(key), blob, whiteouts=sn.whiteout_format())
    sn.commit(<chainID>, key)        # on error: sn.remove(key)

Running a container::

    mounts = sn.prepare(<container id>, parent=<top chainID>)
    mount_all(mounts, rootfs)         # the snapshotter itself never mounts
    ...; unmount(rootfs); sn.remove(<container id>)
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dockwright.snapshots.mount import Mount


class Kind(enum.Enum):
    ACTIVE = "active"
    VIEW = "view"
    COMMITTED = "committed"


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    parent: str
    kind: Kind
    labels: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True)
class Usage:
    size: int  # bytes on disk (allocated blocks), hardlinks counted once
    inodes: int


class Snapshotter(Protocol):
    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]: ...
    def view(self, key: str, parent: str, labels: dict[str, str] | None = None) -> list[Mount]: ...
    def mounts(self, key: str) -> list[Mount]: ...
    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None: ...
    def remove(self, key: str) -> None: ...
    def stat(self, key: str) -> SnapshotInfo: ...
    def usage(self, key: str) -> Usage: ...
    def walk(self) -> Iterator[SnapshotInfo]: ...
    def upper_dir(self, key: str) -> Path: ...
    def parents(self, key: str) -> list[str]: ...
    def whiteout_format(self) -> str: ...
    def cleanup(self) -> None: ...
    def orphans(self) -> list[Path]: ...
