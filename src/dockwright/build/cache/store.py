"""Where step results live: one ``build_cache`` row (the GC root and ``system df`` line) plus
one ``build_steps`` row holding what the next build needs to reuse the step and to explain a miss.

Rows are written after the step's layer is committed and recorded, in one
transaction, so a crash never leaves a row pointing at a half layer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from dockwright.metadata.db import MetadataDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_steps (
    key TEXT PRIMARY KEY,
    parent_key TEXT NOT NULL DEFAULT '',
    chain_id TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    op TEXT NOT NULL DEFAULT '',
    args TEXT NOT NULL DEFAULT '{}',
    files TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS build_steps_parent ON build_steps(parent_key);
"""


@dataclass(frozen=True)
class StepRecord:
    key: str
    parent_key: str
    chain_id: str
    config: bytes
    op: str
    args: dict[str, str]
    files: dict[str, str]
    created: float


def _record(r: Any) -> StepRecord:
    return StepRecord(r["key"], r["parent_key"], r["chain_id"], r["config"].encode(), r["op"],
                      json.loads(r["args"]), json.loads(r["files"]), r["created"])


class BuildCacheStore:
    def __init__(self, db: MetadataDB) -> None:
        self.db = db
        with db.tx(write=True) as conn:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    conn.execute(stmt)

    def get(self, key: str) -> StepRecord | None:
        with self.db.tx() as conn:
            r = conn.execute("SELECT * FROM build_steps WHERE key = ?", (key,)).fetchone()
        return _record(r) if r else None

    def touch(self, key: str) -> None:
        with self.db.tx(write=True) as conn:
            conn.execute("UPDATE build_cache SET last_used = ? WHERE key = ?", (time.time(), key))

    def siblings(self, parent_key: str) -> list[StepRecord]:
        """Earlier results on the same parent: what a miss is compared against."""
        with self.db.tx() as conn:
            rows = conn.execute("SELECT * FROM build_steps WHERE parent_key = ? ORDER BY created DESC",
                                (parent_key,)).fetchall()
        return [_record(r) for r in rows]

    def put(self, rec: StepRecord, *, size: int, description: str) -> None:
        now = time.time()
        with self.db.tx(write=True) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO build_steps(key, parent_key, chain_id, config, op, args, files, created)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (rec.key, rec.parent_key, rec.chain_id, rec.config.decode(), rec.op, json.dumps(rec.args),
                 json.dumps(rec.files), now),
            )
            conn.execute(
                "INSERT OR REPLACE INTO build_cache(key, chain_id, created, last_used, size, description)"
                " VALUES (?,?,?,?,?,?)",
                (rec.key, rec.chain_id, now, now, size, description[:200]),
            )

    def entries(self) -> list[dict[str, Any]]:
        with self.db.tx() as conn:
            rows = conn.execute(
                "SELECT c.*, s.parent_key FROM build_cache c LEFT JOIN build_steps s ON s.key = c.key"
                " ORDER BY c.created").fetchall()
            used = {r[0] for r in conn.execute("SELECT DISTINCT chain_id FROM image_layers")}
        return [dict(r) | {"in_image": r["chain_id"] in used} for r in rows]

    def delete(self, keys: list[str]) -> None:
        with self.db.tx(write=True) as conn:
            for k in keys:
                conn.execute("DELETE FROM build_cache WHERE key = ?", (k,))
                conn.execute("DELETE FROM build_steps WHERE key = ?", (k,))
