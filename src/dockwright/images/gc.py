"""Garbage collection by reachability over images, layers, containers and leases.

Roots are image rows, container rows, build-cache rows and live leases.
Everything reachable from them stays: layers (and their parent chains),
the snapshots named by those layers, layer blobs, configs and manifests.
Everything else under the data root is removed: that is what makes a crash
safe (files are written before the rows that point at them) and what lets
``system df`` account for every byte.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ..content.store import ContentStore
from ..errors import DockwrightError
from ..metadata.db import MetadataDB
from ..metadata.leases import LeaseManager
from ..oci.digest import Digest

log = logging.getLogger(__name__)


class GCSnapshotter(Protocol):
    def walk(self) -> Any: ...
    def remove(self, key: str) -> None: ...
    def usage(self, key: str) -> Any: ...


@dataclass
class GCStats:
    blobs: int = 0
    snapshots: int = 0
    layers: int = 0
    bytes: int = 0


def live_chains(db: MetadataDB, pinned: set[str]) -> set[str]:
    with db.tx() as conn:
        parents = {r["chain_id"]: r["parent"] for r in conn.execute("SELECT chain_id, parent FROM layers")}
        roots = {r[0] for r in conn.execute("SELECT chain_id FROM image_layers")}
        roots |= {r[0] for r in conn.execute("SELECT chain_id FROM build_cache WHERE chain_id != ''")}
        roots |= {r[0] for r in conn.execute("SELECT snapshot FROM containers WHERE snapshot != ''")}
    live: set[str] = set()
    for c in roots | pinned:
        while c and c not in live:
            live.add(c)
            c = parents.get(c, "")
    return live


def collect(
    db: MetadataDB,
    content: ContentStore,
    snapshotter: GCSnapshotter,
    leases: LeaseManager,
    *,
    startup: bool = False,
) -> GCStats:
    stats = GCStats()
    pinned_blobs, pinned_snaps = leases.pinned()
    live = live_chains(db, pinned_snaps)
    with db.tx(write=True) as conn:
        dead = [r[0] for r in conn.execute("SELECT chain_id FROM layers") if r[0] not in live]
        for chain in dead:
            conn.execute("DELETE FROM layers WHERE chain_id = ?", (chain,))
        stats.layers = len(dead)
        conn.execute("DELETE FROM layer_blobs WHERE diff_id NOT IN (SELECT diff_id FROM layers)")
        live_blobs = {r[0] for r in conn.execute("SELECT id FROM images")}
        live_blobs |= {r[0] for r in conn.execute("SELECT manifest_digest FROM images WHERE manifest_digest != ''")}
        live_blobs |= {r[0] for r in conn.execute("SELECT digest FROM layer_blobs")}
        live_blobs |= {r[0] for r in conn.execute("SELECT digest FROM blobs_extra")}
    live_blobs |= pinned_blobs
    for info in list(content.walk()):
        if info.digest not in live_blobs:
            try:
                content.delete(Digest(info.digest))
                stats.blobs += 1
                stats.bytes += info.size
            except DockwrightError as exc:
                log.warning("gc: cannot remove blob %s: %s", info.digest, exc)
    # Remove snapshots children first: a parent with children refuses removal.
    for _ in range(64):
        progress = False
        candidates = []
        for info in snapshotter.walk():
            kind = getattr(info.kind, "name", str(info.kind))
            unused = kind == "COMMITTED" and info.name not in live and info.name not in pinned_snaps
            crashed_extract = startup and kind != "COMMITTED" and info.name.startswith("extract-")
            if unused or crashed_extract:
                candidates.append(info.name)
        if not candidates:
            break
        for name in candidates:
            try:
                snapshotter.remove(name)
                stats.snapshots += 1
                progress = True
            except DockwrightError:
                continue
        if not progress:
            break
    if startup:
        for ing in content.ingests():
            content.abort(ing.ref)
    return stats
