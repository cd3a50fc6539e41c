"""The image store: images by ID (config digest), references, layers.

An image is a config blob in the content store plus an ordered list of
layers; a layer is a committed snapshot named by its chain ID, shared by
every image whose rootfs starts with the same chain. References (tags and
repo digests) are rows in ``refs`` keyed by their normalised name. Sync and
pure: the daemon calls it from worker threads.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterable

from ..content.store import ContentStore
from ..errors import Conflict, InvalidParameter, NotFound
from ..metadata.db import MetadataDB
from ..oci.digest import Digest
from ..oci.reference import Reference, ReferenceError, parse_reference
from .model import ImageRecord, LayerRecord

_HEX_PREFIX = re.compile(r"^(?:sha256:)?([a-f0-9]{1,64})$")


class ImageStore:
    def __init__(self, db: MetadataDB, content: ContentStore) -> None:
        self.db = db
        self.content = content
        self._config_cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # -- reading -------------------------------------------------------------
    def _config(self, image_id: str) -> bytes:
        data = self._config_cache.get(image_id)
        if data is None:
            data = self.content.read_bytes(Digest(image_id))
            with self._lock:
                self._config_cache[image_id] = data
        return data

    def _records(self, conn: sqlite3.Connection, rows: Iterable[sqlite3.Row]) -> list[ImageRecord]:
        rows = list(rows)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        layers: dict[str, list[LayerRecord]] = {i: [] for i in ids}
        for lr in conn.execute(
            f"SELECT il.image_id, l.chain_id, l.diff_id, l.parent, l.size FROM image_layers il "
            f"JOIN layers l ON l.chain_id = il.chain_id WHERE il.image_id IN ({marks}) "
            f"ORDER BY il.image_id, il.idx",
            ids,
        ):
            layers[lr["image_id"]].append(LayerRecord(lr["chain_id"], lr["diff_id"], lr["parent"], lr["size"]))
        refs: dict[str, list[str]] = {i: [] for i in ids}
        for rr in conn.execute(
            f"SELECT name, image_id FROM refs WHERE image_id IN ({marks}) ORDER BY created, name", ids
        ):
            refs[rr["image_id"]].append(rr["name"])
        return [
            ImageRecord(
                id=r["id"],
                config_bytes=self._config(r["id"]),
                layers=tuple(layers[r["id"]]),
                refs=tuple(refs[r["id"]]),
                created=r["created"],
                size=r["size"],
                parent=r["parent"],
                source=r["source"],
                added_at=r["added_at"],
                last_tag_time=r["last_tag_time"],
                manifest_digest=r["manifest_digest"],
                manifest_media_type=r["manifest_media_type"],
            )
            for r in rows
        ]

    def by_id(self, image_id: str) -> ImageRecord:
        with self.db.tx() as conn:
            recs = self._records(conn, conn.execute("SELECT * FROM images WHERE id = ?", (image_id,)))
        if not recs:
            raise NotFound(f"No such image: {image_id}")
        return recs[0]

    def exists(self, image_id: str) -> bool:
        with self.db.tx() as conn:
            return conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is not None

    def all(self) -> list[ImageRecord]:
        with self.db.tx() as conn:
            return self._records(conn, conn.execute("SELECT * FROM images ORDER BY added_at DESC"))

    def resolve_id(self, ref_or_id: str) -> str:
        """Docker's lookup order: full ID, then reference (``:latest`` added), then short ID prefix."""
        name = ref_or_id.strip()
        if not name:
            raise InvalidParameter("image name cannot be blank")
        with self.db.tx() as conn:
            m = _HEX_PREFIX.match(name)
            if m and len(m.group(1)) == 64:
                full = "sha256:" + m.group(1)
                if conn.execute("SELECT 1 FROM images WHERE id = ?", (full,)).fetchone():
                    return full
            ref: Reference | None
            ref_error = ""
            try:
                ref = parse_reference(name)
            except ReferenceError as exc:
                ref = None
                ref_error = str(exc)
            if ref is not None:
                row = conn.execute("SELECT image_id FROM refs WHERE name = ?", (str(ref),)).fetchone()
                if row:
                    return str(row["image_id"])
                if ref.digest:
                    row = conn.execute(
                        "SELECT id FROM images WHERE manifest_digest = ?", (ref.digest,)
                    ).fetchone()
                    if row:
                        return str(row["id"])
            if m and not name.startswith("sha256:") or (m and name.startswith("sha256:")):
                prefix = "sha256:" + m.group(1)
                rows = conn.execute(
                    "SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "g")
                ).fetchall()
                if len(rows) == 1:
                    return str(rows[0]["id"])
                if len(rows) > 1:
                    raise InvalidParameter(f"short image ID {name!r} is ambiguous: give more characters")
        if ref is None and not m:
            raise InvalidParameter(ref_error or "invalid reference format")
        raise NotFound(f"No such image: {ref.familiar() if ref is not None and not m else name}")

    def get(self, ref_or_id: str) -> ImageRecord:
        return self.by_id(self.resolve_id(ref_or_id))

    def image_for_ref(self, ref: Reference) -> str | None:
        with self.db.tx() as conn:
            row = conn.execute("SELECT image_id FROM refs WHERE name = ?", (str(ref),)).fetchone()
        return str(row["image_id"]) if row else None

    def children(self, image_id: str) -> list[str]:
        with self.db.tx() as conn:
            return [r["id"] for r in conn.execute("SELECT id FROM images WHERE parent = ?", (image_id,))]

    def layer(self, chain_id: str) -> LayerRecord | None:
        with self.db.tx() as conn:
            r = conn.execute("SELECT * FROM layers WHERE chain_id = ?", (chain_id,)).fetchone()
        return LayerRecord(r["chain_id"], r["diff_id"], r["parent"], r["size"]) if r else None

    def layer_blobs(self, diff_id: str) -> list[tuple[str, str, int]]:
        """(digest, media type, size) of the content blobs holding this layer's tar."""
        with self.db.tx() as conn:
            return [
                (r["digest"], r["media_type"], r["size"])
                for r in conn.execute("SELECT * FROM layer_blobs WHERE diff_id = ?", (diff_id,))
            ]

    def layers_in_use(self) -> dict[str, int]:
        """chain id -> number of images using it."""
        with self.db.tx() as conn:
            return {
                r["chain_id"]: r["n"]
                for r in conn.execute(
                    "SELECT chain_id, COUNT(DISTINCT image_id) AS n FROM image_layers GROUP BY chain_id"
                )
            }

    # -- writing -------------------------------------------------------------
    def record_layer(self, layer: LayerRecord, blob: tuple[str, str, int] | None) -> None:
        """Remember an unpacked layer (its snapshot is already committed) and the blob it came from."""
        with self.db.tx(write=True) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, created) VALUES (?,?,?,?,?)",
                (layer.chain_id, layer.diff_id, layer.parent, layer.size, time.time()),
            )
            if blob is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO layer_blobs(diff_id, digest, media_type, size) VALUES (?,?,?,?)",
                    (layer.diff_id, blob[0], blob[1], blob[2]),
                )

    def add(
        self,
        image_id: str,
        layers: list[LayerRecord],
        *,
        created: str,
        source: str,
        parent: str = "",
        manifest_digest: str = "",
        manifest_media_type: str = "",
        refs: Iterable[Reference] = (),
    ) -> tuple[bool, list[tuple[str, str | None]]]:
        """Add an image (its config blob and layers already stored) and point ``refs`` at it.

        Returns whether the image is new, and for each ref the image it pointed at before.
        """
        now = time.time()
        size = sum(layer.size for layer in layers)
        with self.db.tx(write=True) as conn:
            new = conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None
            if new:
                conn.execute(
                    "INSERT INTO images(id, manifest_digest, manifest_media_type, created, size, parent, source,"
                    " added_at, last_tag_time) VALUES (?,?,?,?,?,?,?,?,?)",
                    (image_id, manifest_digest, manifest_media_type, created, size, parent, source, now, 0),
                )
                conn.executemany(
                    "INSERT INTO image_layers(image_id, idx, chain_id) VALUES (?,?,?)",
                    [(image_id, i, layer.chain_id) for i, layer in enumerate(layers)],
                )
            elif manifest_digest:
                conn.execute(
                    "UPDATE images SET manifest_digest = ?, manifest_media_type = ? WHERE id = ? "
                    "AND manifest_digest = ''",
                    (manifest_digest, manifest_media_type, image_id),
                )
            moved = [(str(ref), self._set_ref(conn, ref, image_id, now)) for ref in refs]
        return new, moved

    def _set_ref(self, conn: sqlite3.Connection, ref: Reference, image_id: str, now: float) -> str | None:
        row = conn.execute("SELECT image_id FROM refs WHERE name = ?", (str(ref),)).fetchone()
        before = str(row["image_id"]) if row else None
        conn.execute(
            "INSERT INTO refs(name, image_id, created) VALUES (?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created = excluded.created",
            (str(ref), image_id, now),
        )
        conn.execute("UPDATE images SET last_tag_time = ? WHERE id = ?", (now, image_id))
        return before

    def tag(self, image_id: str, ref: Reference) -> str | None:
        with self.db.tx(write=True) as conn:
            if conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None:
                raise NotFound(f"No such image: {image_id}")
            return self._set_ref(conn, ref, image_id, time.time())

    def untag(self, ref: Reference) -> str | None:
        with self.db.tx(write=True) as conn:
            row = conn.execute("SELECT image_id FROM refs WHERE name = ?", (str(ref),)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM refs WHERE name = ?", (str(ref),))
            return str(row["image_id"])

    def delete(self, image_id: str) -> None:
        """Remove the image row (refs and layer links cascade); files go at the next GC."""
        with self.db.tx(write=True) as conn:
            n = conn.execute("SELECT COUNT(*) FROM containers WHERE image_id = ?", (image_id,)).fetchone()[0]
            if n:
                raise Conflict(f"image {image_id} is in use by {n} container(s)")
            conn.execute("DELETE FROM images WHERE id = ?", (image_id,))
            conn.execute("UPDATE images SET parent = '' WHERE parent = ?", (image_id,))
        with self._lock:
            self._config_cache.pop(image_id, None)
