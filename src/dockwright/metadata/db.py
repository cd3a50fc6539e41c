"""The daemon's metadata: one SQLite database in WAL mode.

Every object a user can create has a row here, and every byte the engine
keeps on disk is reachable from a row (or is garbage for GC). Files are
written before the rows that point at them, in one transaction, so a crash
leaves unreferenced files (collected at start-up), never a row pointing at
nothing.

    dockwright.db
    ├── meta(key, value)                          schema version
    ├── images(id, manifest_digest, manifest_media_type, created, size,
    │          parent, source, added_at, last_tag_time)
    │     id = config digest; the config blob lives in the content store;
    │     source is how it arrived: import | load | pull | build | commit
    ├── image_layers(image_id, idx, chain_id)     the image's rootfs, bottom first
    ├── layers(chain_id, diff_id, parent, size, created)
    │     one row per unpacked layer; the snapshot's name is the chain id;
    │     shared by every image whose rootfs starts with the same chain
    ├── layer_blobs(diff_id, digest, media_type, size)
    │     content-store blobs holding a layer's tar (as loaded or pulled)
    ├── refs(name, image_id, created)
    │     name = normalised reference, "docker.io/library/busybox:latest"
    │     or "...@sha256:..." for a repo digest
    ├── blobs_extra(digest, owner_kind, owner_id)  other blobs an object pins
    │     (manifests of pulled images, ...)
    ├── containers(id, name, image_id, created, snapshot, state, config)
    └── build_cache(key, chain_id, created, last_used, size, description)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL DEFAULT '',
    manifest_media_type TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    parent TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL,
    last_tag_time REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
CREATE TABLE IF NOT EXISTS layers (
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_blobs (
    diff_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (diff_id, digest)
);
CREATE TABLE IF NOT EXISTS refs (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_image ON refs(image_id);
CREATE TABLE IF NOT EXISTS blobs_extra (
    digest TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    PRIMARY KEY (digest, owner_kind, owner_id)
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    created REAL NOT NULL,
    snapshot TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'created',
    config TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS containers_image ON containers(image_id);
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    chain_id TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    in_use INTEGER NOT NULL DEFAULT 0,
    shared INTEGER NOT NULL DEFAULT 0,
    cache_type TEXT NOT NULL DEFAULT 'regular'
);
"""


class MetadataDB:
    """A connection per thread; writers take SQLite's write lock up front (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        conn = self._conn()
        with self._write_lock:
            conn.executescript(_SCHEMA)  # runs in its own transaction
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        conn = self._conn()
        if conn.in_transaction:  # nested use joins the outer transaction
            yield conn
            return
        if write:
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        else:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
