"""Offline-style mark and sweep that is safe to run next to a serving registry.

Mark: in every repository, start from the tagged manifests (or from every
manifest revision, unless ``delete_untagged``), follow index children, and
add each manifest whose ``subject`` is already reached (referrers), until
nothing changes; every reached manifest marks itself, its config and layers.
Sweep: delete blobs that are not marked, untagged manifests that were not
reached (with ``delete_untagged``), and upload sessions idle for longer than
the grace period.

Why it is safe while serving: a blob younger than ``grace`` is never swept,
so the layers of an image whose manifest is still being pushed survive;
uploads in progress touch their data file, so they stay young.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from dockwright.oci.digest import Digest

from ..errcode import RegistryError
from . import paths
from .blobwriter import last_activity
from .driver.base import PathNotFound, StorageDriver
from .manifests import Parsed, parse_manifest
from .registry import Registry


@dataclass
class GCStats:
    marked: int = 0
    blobs: list[Digest] = field(default_factory=list)
    manifests: list[tuple[str, Digest]] = field(default_factory=list)
    uploads: list[tuple[str, str]] = field(default_factory=list)


def _say(out: TextIO | None, line: str) -> None:
    if out is not None:
        print(line, file=out)


def mark_and_sweep(
    driver: StorageDriver,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    grace: float = 3600.0,
    out: TextIO | None = None,
    now: float | None = None,
) -> GCStats:
    reg = Registry(driver)
    cutoff = (time.time() if now is None else now) - grace
    stats = GCStats()
    marked: set[str] = set()
    for name in list(reg.repositories()):
        repo = reg.repository(name)
        parsed: dict[Digest, Parsed] = {}
        for d in repo.manifests.all():
            try:
                parsed[d] = parse_manifest(reg.blobs.get(d))
            except RegistryError:
                continue
        if delete_untagged:
            roots: set[str] = set()
            for t in repo.tags.all():
                try:
                    roots.add(repo.tags.get(t))
                except RegistryError:
                    continue
        else:
            roots = set(parsed)
        reached: set[str] = set()
        todo: list[str] = [d for d in roots if d in parsed]
        while True:
            while todo:
                cur = todo.pop()
                if cur in reached:
                    continue
                reached.add(cur)
                cp = parsed.get(Digest(cur))
                if cp is not None:
                    todo += [c for c in cp.children if c not in reached]
            todo = [k for k, v in parsed.items() if k not in reached and v.subject in reached]
            if not todo:
                break
        _say(out, f"{name}: {len(reached)} manifests reachable of {len(parsed)}")
        for r in reached:
            marked.add(r)
            rp = parsed.get(Digest(r))
            if rp is not None:
                marked.update(rp.references)
        if delete_untagged:
            for d in parsed:
                if d in reached:
                    continue
                stats.manifests.append((name, d))
                _say(out, f"{name}: {'would delete' if dry_run else 'deleting'} manifest {d}")
                if not dry_run:
                    try:
                        repo.manifests.delete(d)
                    except RegistryError:
                        pass
        _sweep_uploads(driver, name, cutoff, dry_run, stats, out)
    stats.marked = len(marked)
    for d, fi in list(reg.blobs.walk()):
        if d in marked or fi.mod_time >= cutoff:
            continue
        stats.blobs.append(d)
        _say(out, f"{'would delete' if dry_run else 'deleting'} blob {d}")
    if not dry_run:
        swept = set(stats.blobs)
        for d in stats.blobs:
            reg.blobs.delete(d)
        for name in list(reg.repositories()):
            for d in list(reg.repository(name).blobs.all()):
                if d in swept:
                    try:
                        reg.repository(name).blobs.unlink(d)
                    except RegistryError:
                        pass
    return stats


def _sweep_uploads(
    driver: StorageDriver, name: str, cutoff: float, dry_run: bool, stats: GCStats, out: TextIO | None
) -> None:
    try:
        sessions = [p.rsplit("/", 1)[1] for p in driver.list(paths.uploads(name))]
    except PathNotFound:
        return
    for sid in sessions:
        if last_activity(driver, name, sid) >= cutoff:
            continue
        stats.uploads.append((name, sid))
        _say(out, f"{name}: {'would delete' if dry_run else 'deleting'} stale upload {sid}")
        if not dry_run:
            try:
                driver.delete(paths.upload_dir(name, sid))
            except PathNotFound:
                pass
