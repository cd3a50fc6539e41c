"""Unpack a layer stream into a snapshot while keeping its blob.

One pass over the stream: the bytes are teed into a content-store writer
(the layer blob, kept for ``save`` and ``push``) while the differ extracts
them into a fresh snapshot. The snapshot is committed under the layer's
chain ID; if another unpack got there first, ours is dropped and theirs
reused, so a layer shared by several images is stored once.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from ..content.store import ContentStore, ContentWriter
from ..diff.apply import apply_layer, measure_layer
from ..diff.compression import detect
from ..errors import AlreadyExists, DockwrightError, InvalidParameter, NotFound
from ..oci import mediatypes
from ..oci.digest import Digest, sha256_bytes
from .model import LayerRecord
from .store import ImageStore


class LayerSnapshotter(Protocol):
    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[object]: ...
    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None: ...
    def remove(self, key: str) -> None: ...
    def upper_dir(self, key: str) -> Path: ...
    def whiteout_format(self) -> str: ...
    def stat(self, key: str) -> object: ...


class _Tee(io.RawIOBase):
    """Reads from ``src`` and writes every byte read into ``sink``; remembers the first bytes."""

    def __init__(self, src: BinaryIO, sink: ContentWriter) -> None:
        self.src = src
        self.sink = sink
        self.head = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        data = self.src.read(len(b))
        if not data:
            return 0
        if len(self.head) < 16:
            self.head += data[: 16 - len(self.head)]
        self.sink.write(data)
        n = len(data)
        b[:n] = data
        return n

    def drain(self) -> None:
        while True:
            data = self.src.read(1 << 20)
            if not data:
                return
            self.sink.write(data)


def media_type_for(head: bytes) -> str:
    kind = detect(head)
    if kind == "gzip":
        return mediatypes.DOCKER_LAYER_GZIP
    if kind == "zstd":
        return mediatypes.OCI_LAYER_ZSTD
    return mediatypes.DOCKER_LAYER


def chain_of(parent_chain: str, diff_id: str) -> str:
    return diff_id if not parent_chain else sha256_bytes(f"{parent_chain} {diff_id}".encode())


def _snapshot_exists(sn: LayerSnapshotter, name: str) -> bool:
    try:
        sn.stat(name)
    except DockwrightError:
        return False
    return True


def commit_or_drop(snapshotter: LayerSnapshotter, key: str, chain: str) -> None:
    """Commit the active snapshot ``key`` as layer ``chain``, or drop it when another unpack, pull or
    build step committed the same layer first: a layer shared by several images is stored once."""
    if _snapshot_exists(snapshotter, chain):
        snapshotter.remove(key)
        return
    try:
        snapshotter.commit(chain, key)
    except AlreadyExists:
        snapshotter.remove(key)


def unpack_layer(
    store: ImageStore,
    content: ContentStore,
    snapshotter: LayerSnapshotter,
    stream: BinaryIO,
    parent_chain: str = "",
    *,
    expected_diff_id: str = "",
    known_blob: tuple[str, str, int] | None = None,
) -> tuple[LayerRecord, tuple[str, str, int]]:
    """Unpack one layer on top of ``parent_chain``; returns the layer and its blob.

    Without ``known_blob`` the stream is also stored as the layer's blob; with
    it, the stream is that blob, already in the content store.
    """
    key = f"extract-{uuid.uuid4().hex}"
    writer = None if known_blob else content.writer(f"unpack-{uuid.uuid4().hex}")
    snapshotter.prepare(key, parent_chain)
    committed = False
    try:
        tee = _Tee(stream, writer) if writer is not None else None
        reader = io.BufferedReader(tee, 1 << 20) if tee is not None else stream
        applied = apply_layer(snapshotter.upper_dir(key), reader, whiteouts=snapshotter.whiteout_format())
        if expected_diff_id and applied.diff_id != expected_diff_id:
            raise InvalidParameter(
                f"layer content does not match its diff ID: expected {expected_diff_id}, got {applied.diff_id}"
            )
        if writer is not None and tee is not None:
            reader.read()  # tar padding after the end-of-archive marker still belongs to the blob
            tee.drain()
            blob_size = writer.offset()
            try:
                blob_digest = str(writer.commit(blob_size, None))
            except AlreadyExists:
                blob_digest = str(applied.compressed_digest)
            blob = (blob_digest, media_type_for(tee.head), blob_size)
        else:
            assert known_blob is not None
            blob = known_blob
        chain = chain_of(parent_chain, applied.diff_id)
        commit_or_drop(snapshotter, key, chain)
        committed = True
        layer = LayerRecord(chain, applied.diff_id, parent_chain, applied.size)
        store.record_layer(layer, blob)
        return layer, blob
    finally:
        if not committed:
            try:
                snapshotter.remove(key)
            except DockwrightError:
                pass
            if writer is not None:
                try:
                    writer.close()
                    content.abort(writer.ref)
                except DockwrightError:
                    pass


def layer_from_blob(
    store: ImageStore,
    content: ContentStore,
    snapshotter: LayerSnapshotter,
    digest: Digest,
    parent_chain: str,
    expected_diff_id: str = "",
) -> LayerRecord:
    """Unpack a layer whose blob is already in the content store (load, pull), unless already unpacked."""
    if expected_diff_id:
        chain = chain_of(parent_chain, expected_diff_id)
        existing = store.layer(chain)
        if existing is not None and _snapshot_exists(snapshotter, chain):
            return existing
    with content.open(digest) as f:
        head = f.read(16)
        f.seek(0)
        blob = (str(digest), media_type_for(head), content.info(digest).size)
        layer, _ = unpack_layer(
            store, content, snapshotter, f, parent_chain, expected_diff_id=expected_diff_id, known_blob=blob
        )
    return layer


def record_layer_blob(store: ImageStore, content: ContentStore, digest: Digest, parent_chain: str,
                      expected_diff_id: str) -> LayerRecord:
    """Record a layer from its blob without unpacking it (a "lazy" layer).

    A build that imports a remote cache needs the final image's layers as blobs (to push or save
    them) but their files only when something runs on them: the blob is verified here (diff ID,
    by reading it once, which costs no file creation) and ``ensure_unpacked`` makes the snapshot
    on first use. Unpacking 20,000 small files is most of a pull on a slow disk.
    """
    with content.open(digest) as f:
        head = f.read(16)
        f.seek(0)
        measured = measure_layer(f)
    if measured.diff_id != expected_diff_id:
        raise InvalidParameter(
            f"layer content does not match its diff ID: expected {expected_diff_id}, got {measured.diff_id}"
        )
    layer = LayerRecord(chain_of(parent_chain, expected_diff_id), expected_diff_id, parent_chain, measured.size)
    store.record_layer(layer, (str(digest), media_type_for(head), content.info(digest).size))
    return layer


def ensure_unpacked(store: ImageStore, content: ContentStore, snapshotter: LayerSnapshotter, chain: str) -> int:
    """Unpack ``chain`` and its parents where only their blobs are here (see ``record_layer_blob``),
    bottom first; returns how many were unpacked (0 for the usual, already unpacked, case)."""
    missing: list[LayerRecord] = []
    while chain and not _snapshot_exists(snapshotter, chain):
        layer = store.layer(chain)
        if layer is None:
            raise NotFound(f"layer {chain} is not known: pull or load its image again")
        missing.append(layer)
        chain = layer.parent
    for layer in reversed(missing):
        blobs = [b for b in store.layer_blobs(layer.diff_id) if content.exists(Digest(b[0]))]
        if not blobs:
            raise NotFound(f"layer {layer.diff_id} is neither unpacked nor its blob here: pull its image again")
        layer_from_blob(store, content, snapshotter, Digest(blobs[0][0]), layer.parent, layer.diff_id)
    return len(missing)

