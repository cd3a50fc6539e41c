"""What both snapshotters share: their own small metadata database and directory life cycle.

Layout under ``<root>`` (``<data-root>/snapshots/<driver>``)::

    metadata.db              SQLite (WAL), one table:
      snapshots(id INTEGER PK, key TEXT UNIQUE, parent TEXT, kind TEXT,
                labels TEXT (json), created REAL, updated REAL, size INTEGER, inodes INTEGER)
    <id>/
      fs/                    the snapshot's files: overlay upper dir, or a full copy (native)
      work/                  overlayfs work dir (overlay, active snapshots only)
    new-<random>/            being prepared; renamed to <id> in the row's transaction
    rm-<id>-<random>/        being removed: its row is already gone

Crash safety: directories are created under ``new-*`` and renamed to ``<id>`` inside the
transaction that inserts the row; removal deletes the row first, then renames the
directory to ``rm-*`` and deletes it. A crash therefore leaves only directories
without rows, which ``orphans()`` lists and ``cleanup()`` deletes; never a row without
its directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dockwright.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidParameter,
    NotFound,
    Unavailable,
)
from dockwright.snapshots.mount import Mount
from dockwright.snapshots.types import Kind, SnapshotInfo, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    parent TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT -1,
    inodes INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent);
"""
_COLS = "id, key, parent, kind, labels, created, updated, size, inodes"


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    parent: str
    kind: Kind
    labels: dict[str, str]
    created: float
    updated: float
    size: int
    inodes: int

    def info(self) -> SnapshotInfo:
        return SnapshotInfo(self.key, self.parent, self.kind, dict(self.labels), self.created, self.updated)


def force_rmtree(path: Path) -> None:
    """rmtree that also gets through directories a layer made read-only (0555) when not root."""
    try:
        shutil.rmtree(path)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    for dirpath, dirnames, _ in os.walk(path):  # top-down: each child is opened up before the visit
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                with contextlib.suppress(OSError):
                    os.chmod(p, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def disk_usage(path: Path) -> Usage:
    """Allocated bytes and inodes under ``path``, each hardlinked inode counted once."""
    seen: set[int] = set()
    size = 0
    stack = [os.fspath(path)]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for e in it:
                st = e.stat(follow_symlinks=False)
                if st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
                size += st.st_blocks * 512
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
    return Usage(size, len(seen))


class BaseSnapshotter:
    """Metadata and directories; subclasses decide the mounts and how a snapshot is filled."""

    _format = ""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "metadata.db", timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL, as the metadata DB: a commit survives kill -9 (the WAL is in the page cache) and
        # costs no fsync (one per container create and remove before); only a power loss can lose the last ones
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- metadata ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise Unavailable(f"snapshot metadata is locked: {exc}") from exc
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _row(self, key: str) -> Row | None:
        with self._lock:
            r = self._db.execute(
                f"SELECT {_COLS} FROM snapshots WHERE key=?",
                (key,),
            ).fetchone()
        return None if r is None else self._to_row(r)

    @staticmethod
    def _to_row(r: tuple[object, ...]) -> Row:
        return Row(
            int(r[0]),  # type: ignore[call-overload]
            str(r[1]),
            str(r[2]),
            Kind(r[3]),
            json.loads(str(r[4])),
            float(r[5]),  # type: ignore[arg-type]
            float(r[6]),  # type: ignore[arg-type]
            int(r[7]),  # type: ignore[call-overload]
            int(r[8]),  # type: ignore[call-overload]
        )

    def _get(self, key: str) -> Row:
        row = self._row(key)
        if row is None:
            raise NotFound(f"snapshot {key} does not exist")
        return row

    def dir(self, row: Row) -> Path:
        return self.root / str(row.id)

    def fs(self, row: Row) -> Path:
        return self.root / str(row.id) / "fs"

    # -- hooks ------------------------------------------------------------------------------------
    def _fill(self, staging: Path, kind: Kind, parent: Row | None) -> None:
        (staging / "fs").mkdir()

    def _mounts(self, row: Row) -> list[Mount]:
        raise NotImplementedError

    def whiteout_format(self) -> str:
        return self._format

    # -- API --------------------------------------------------------------------------------------
    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(key, parent, labels, Kind.ACTIVE)

    def view(self, key: str, parent: str, labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(key, parent, labels, Kind.VIEW)

    def _create(self, key: str, parent: str, labels: dict[str, str] | None, kind: Kind) -> list[Mount]:
        if not key:
            raise InvalidParameter("snapshot key must not be empty")
        if self._row(key) is not None:
            raise AlreadyExists(f"snapshot {key}: already exists")
        prow = self._parent(parent)
        staging = self.root / f"new-{secrets.token_hex(8)}"
        staging.mkdir()
        try:
            self._fill(staging, kind, prow)
            now = time.time()
            with self._tx() as db:
                if self._row(key) is not None:
                    raise AlreadyExists(f"snapshot {key}: already exists")
                if parent and self._parent(parent).id != prow.id:  # type: ignore[union-attr]
                    raise NotFound(f"parent snapshot {parent} does not exist")
                cur = db.execute(
                    "INSERT INTO snapshots(key, parent, kind, labels, created, updated) VALUES (?,?,?,?,?,?)",
                    (key, parent, kind.value, json.dumps(labels or {}, sort_keys=True), now, now),
                )
                rid = int(cur.lastrowid or 0)
                os.rename(staging, self.root / str(rid))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self._mounts(self._get(key))

    def _parent(self, parent: str) -> Row | None:
        if not parent:
            return None
        prow = self._row(parent)
        if prow is None:
            raise NotFound(f"parent snapshot {parent} does not exist")
        if prow.kind is not Kind.COMMITTED:
            raise NotFound(f"parent snapshot {parent} does not exist: it is not committed")
        return prow

    def mounts(self, key: str) -> list[Mount]:
        return self._mounts(self._get(key))

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None:
        row = self._get(key)
        if row.kind is not Kind.ACTIVE:
            raise FailedPrecondition(f"snapshot {key} is not active: only active snapshots can be committed")
        if not name:
            raise InvalidParameter("snapshot name must not be empty")
        usage = self._commit_usage(row)
        with self._tx() as db:
            if self._row(name) is not None:
                raise AlreadyExists(f"snapshot {name}: already exists")
            new_labels = row.labels if labels is None else labels
            n = db.execute(
                "UPDATE snapshots SET key=?, kind=?, labels=?, updated=?, size=?, inodes=? WHERE id=? AND kind=?",
                (
                    name,
                    Kind.COMMITTED.value,
                    json.dumps(new_labels, sort_keys=True),
                    time.time(),
                    usage.size,
                    usage.inodes,
                    row.id,
                    Kind.ACTIVE.value,
                ),
            ).rowcount
            if n != 1:
                raise NotFound(f"snapshot {key} does not exist")
        self._after_commit(self._get(name))

    def _commit_usage(self, row: Row) -> Usage:
        return disk_usage(self.fs(row))

    def _after_commit(self, row: Row) -> None:
        """Hook: the overlay snapshotter drops the work dir a committed snapshot never needs."""

    def remove(self, key: str) -> None:
        with self._tx() as db:
            row = self._get(key)
            (children,) = db.execute("SELECT COUNT(*) FROM snapshots WHERE parent=?", (key,)).fetchone()
            if children:
                raise Conflict(f"snapshot {key} has {children} children: remove them first")
            db.execute("DELETE FROM snapshots WHERE id=?", (row.id,))
        self._drop_dir(self.dir(row), row.id)

    def _drop_dir(self, d: Path, rid: int | str) -> None:
        gone = self.root / f"rm-{rid}-{secrets.token_hex(4)}"
        try:
            os.rename(d, gone)
        except FileNotFoundError:
            return
        force_rmtree(gone)

    def stat(self, key: str) -> SnapshotInfo:
        return self._get(key).info()

    def update_labels(self, key: str, labels: dict[str, str]) -> SnapshotInfo:
        """Replace the labels of ``key`` (containerd's ``Update`` with a labels field path)."""
        with self._tx() as db:
            row = self._get(key)
            db.execute(
                "UPDATE snapshots SET labels=?, updated=? WHERE id=?",
                (json.dumps(labels, sort_keys=True), time.time(), row.id),
            )
        return self.stat(key)

    def usage(self, key: str) -> Usage:
        row = self._get(key)
        if row.kind is Kind.COMMITTED and row.size >= 0:
            return Usage(row.size, row.inodes)
        if row.kind is Kind.VIEW:
            return Usage(0, 0)
        return disk_usage(self.fs(row))

    def walk(self) -> Iterator[SnapshotInfo]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLS} FROM snapshots ORDER BY id").fetchall()
        for r in rows:
            yield self._to_row(r).info()

    def upper_dir(self, key: str) -> Path:
        row = self._get(key)
        if row.kind is not Kind.ACTIVE:
            raise FailedPrecondition(f"snapshot {key} is {row.kind.value}: only an active snapshot is writable")
        return self.fs(row)

    def diff_dir(self, key: str) -> Path:
        """The snapshot's own tree, any kind but a view: read it to export a committed layer again.

        Overlay: exactly the layer's changes (with overlay whiteouts); native: the full tree.
        Never write to it unless the snapshot is active.
        """
        row = self._get(key)
        if row.kind is Kind.VIEW:
            raise FailedPrecondition(f"snapshot {key} is a view: it has no tree of its own")
        return self.fs(row)

    def lower_dirs(self, key: str) -> list[Path]:
        """The parents' trees, top first: ``write_diff(..., lower=...)`` for the native format."""
        return [self.fs(r) for r in self._chain_rows(self._get(key))]

    def parents(self, key: str) -> list[str]:
        chain: list[str] = []
        row = self._get(key)
        while row.parent:
            chain.append(row.parent)
            row = self._get(row.parent)
        return chain

    def _chain_rows(self, row: Row) -> list[Row]:
        out: list[Row] = []
        while row.parent:
            row = self._get(row.parent)
            out.append(row)
        return out

    # -- crash recovery ---------------------------------------------------------------------------
    def orphans(self) -> list[Path]:
        """Directories no row points at: leftovers of a crash mid-prepare or mid-remove."""
        with self._lock:
            ids = {str(r[0]) for r in self._db.execute("SELECT id FROM snapshots").fetchall()}
        out: list[Path] = []
        for e in sorted(self.root.iterdir()):
            if not e.is_dir() or e.is_symlink():
                continue
            n = e.name
            if n.startswith(("new-", "rm-")) or (n.isdigit() and n not in ids):
                out.append(e)
        return out

    def cleanup(self) -> None:
        """Delete the orphans; call at start-up, before any prepare is in flight."""
        for p in self.orphans():
            if p.name.startswith("rm-"):
                force_rmtree(p)
            else:
                self._drop_dir(p, p.name)
