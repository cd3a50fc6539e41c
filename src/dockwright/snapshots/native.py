"""The native (copying) snapshotter, for where overlayfs is missing (some rootless setups).

Layout under ``<root>`` (besides ``base.py``'s ``metadata.db``)::

    <id>/fs        a full copy of the parent's tree plus this snapshot's changes

An active snapshot starts as a copy of its parent (``cp -a --reflink=auto``: hardlinks,
xattrs, owners and times kept; reflinks make it cheap on btrfs/xfs). Layers are applied
with ``whiteouts="native"``: whiteouts delete for real. A view is a read-only bind of the
parent's tree, no copy. Mounts are always a single bind.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dockwright.errors import Internal
from dockwright.snapshots.base import BaseSnapshotter, Row
from dockwright.snapshots.mount import Mount
from dockwright.snapshots.types import Kind


class NativeSnapshotter(BaseSnapshotter):
    _format = "native"

    def _fill(self, staging: Path, kind: Kind, parent: Row | None) -> None:
        fs = staging / "fs"
        if kind is not Kind.ACTIVE or parent is None:
            fs.mkdir(mode=0o755)
            return
        src = self.fs(parent)
        proc = subprocess.run(
            ["cp", "-a", "--reflink=auto", "--", os.fspath(src), os.fspath(fs)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise Internal(f"copying snapshot {parent.key} failed: {proc.stderr.strip()[-500:]}")

    def _mounts(self, row: Row) -> list[Mount]:
        if row.kind is Kind.VIEW:
            src = self.fs(self._get(row.parent)) if row.parent else self.fs(row)
            return [Mount("bind", os.fspath(src), ("rbind", "ro"))]
        if row.kind is Kind.COMMITTED:
            return [Mount("bind", os.fspath(self.fs(row)), ("rbind", "ro"))]
        return [Mount("bind", os.fspath(self.fs(row)), ("rbind", "rw"))]
