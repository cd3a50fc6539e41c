"""The overlay snapshotter: each snapshot's ``fs`` holds only its own changes.

Layout under ``<root>`` (besides ``base.py``'s ``metadata.db``)::

    <id>/fs        upper dir of an active snapshot; a lower dir once committed
    <id>/work      overlayfs work dir (created with the snapshot, same filesystem as fs)

Mounts returned:

=====================  =========================================================
active, no parent      bind of ``fs``, read-write
active, parents        overlay ``lowerdir=<parent fs>:<grandparent fs>:...,upperdir=fs,workdir=work``
view, one parent       bind of the parent's ``fs``, read-only
view, several          overlay with lowerdirs only (read-only by construction)
=====================  =========================================================

Layers are unpacked straight into the upper dir without mounting (as moby's overlay2
``ApplyDiff`` does), so whiteouts are written in overlay's own format.
Long lowerdir lists are made to fit a page by ``mount.mount_all``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from dockwright.errors import Unavailable
from dockwright.snapshots import mount as mnt
from dockwright.snapshots.base import BaseSnapshotter, Row
from dockwright.snapshots.mount import Mount
from dockwright.snapshots.types import Kind


class OverlaySnapshotter(BaseSnapshotter):
    _format = "overlay"

    @staticmethod
    def check(root: Path) -> None:
        """Raise ``Unavailable`` explaining why overlay cannot be used under ``root``.

        The daemon calls it at start-up and falls back to the native snapshotter, saying
        why in ``info``.
        """
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="overlay-check-", dir=root) as tmp:
            t = Path(tmp)
            for d in ("l1", "l2", "u", "w", "m"):
                (t / d).mkdir()
            try:
                os.mknod(t / "u" / "wh", 0o020000, os.makedev(0, 0))
            except OSError as exc:
                raise Unavailable(f"overlay: cannot create whiteout devices: {exc.strerror}") from exc
            opts = f"lowerdir={t / 'l1'}:{t / 'l2'},upperdir={t / 'u'},workdir={t / 'w'}"
            mnt.mount_all([Mount("overlay", "overlay", (opts,))], t / "m")
            mnt.unmount(t / "m")

    def _fill(self, staging: Path, kind: Kind, parent: Row | None) -> None:
        (staging / "fs").mkdir(mode=0o755)
        if kind is Kind.ACTIVE:
            (staging / "work").mkdir(mode=0o700)

    def _mounts(self, row: Row) -> list[Mount]:
        chain = self._chain_rows(row)
        fs = os.fspath(self.fs(row))
        if row.kind is Kind.VIEW:
            if not chain:
                return [Mount("bind", fs, ("rbind", "ro"))]
            if len(chain) == 1:
                return [Mount("bind", os.fspath(self.fs(chain[0])), ("rbind", "ro"))]
            lower = ":".join(os.fspath(self.fs(r)) for r in chain)
            return [Mount("overlay", "overlay", ("ro", f"lowerdir={lower}"))]
        if row.kind is Kind.COMMITTED:
            # Committed snapshots are not mounted by users; a read-only bind is the honest answer.
            return [Mount("bind", fs, ("rbind", "ro"))]
        if not chain:
            return [Mount("bind", fs, ("rbind", "rw"))]
        lower = ":".join(os.fspath(self.fs(r)) for r in chain)
        work = os.fspath(self.dir(row) / "work")
        return [Mount("overlay", "overlay", ("index=off", f"lowerdir={lower}", f"upperdir={fs}", f"workdir={work}"))]


def overlay_supported(root: Path) -> bool:
    with contextlib.suppress(Exception):
        OverlaySnapshotter.check(root)
        return True
    return False
