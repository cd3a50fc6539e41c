"""Leases: pins on blobs and snapshots that no row references yet.

A load or pull writes blobs and snapshots before the image row that makes
them reachable; while it runs, a lease keeps GC away from them. Leases live
in memory on purpose: after a crash nothing is in flight any more, so what a
dead operation left behind is exactly what GC should take.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Lease:
    id: str
    blobs: set[str] = field(default_factory=set)
    snapshots: set[str] = field(default_factory=set)


class LeaseManager:
    def __init__(self) -> None:
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[Lease]:
        lease = Lease(uuid.uuid4().hex)
        with self._lock:
            self._leases[lease.id] = lease
        try:
            yield lease
        finally:
            with self._lock:
                self._leases.pop(lease.id, None)

    def pinned(self) -> tuple[set[str], set[str]]:
        """(blobs, snapshots) held by every live lease."""
        with self._lock:
            blobs: set[str] = set()
            snaps: set[str] = set()
            for lease in self._leases.values():
                blobs |= lease.blobs
                snaps |= lease.snapshots
            return blobs, snaps

    def active(self) -> bool:
        with self._lock:
            return bool(self._leases)
