"""``docker load``: image tarballs from ``docker save``, legacy and OCI layout.

The tar is read as a stream, once: every regular member goes straight into
the content store (named by its digest, whatever its path), so a large
tarball never sits in memory or in a temporary directory. Then the
``manifest.json`` (legacy and Docker 25+) or ``index.json`` (plain OCI
layout) says which blobs are configs and layers, and the layers are
unpacked bottom up. Nothing is tagged until every layer of an image is in.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..content.store import ContentStore
from ..errors import AlreadyExists, InvalidParameter
from ..metadata.leases import Lease
from ..oci import mediatypes
from ..oci.digest import Digest
from ..oci.reference import Reference, ReferenceError, parse_reference
from .store import ImageStore
from .unpack import LayerSnapshotter, layer_from_blob

_SMALL = 4 << 20


@dataclass
class _Member:
    digest: Digest
    size: int
    data: bytes | None  # kept for small members (JSON)


@dataclass(frozen=True)
class LoadedImage:
    image_id: str
    tags: list[str]
    replaced: list[tuple[str, str]]  # (tag, old image id)


class _Archive:
    def __init__(self) -> None:
        self.files: dict[str, _Member] = {}
        self.links: dict[str, str] = {}

    def resolve(self, name: str) -> _Member:
        name = posixpath.normpath(name.lstrip("/"))
        for _ in range(16):
            if name in self.files:
                return self.files[name]
            if name in self.links:
                name = self.links[name]
                continue
            break
        raise InvalidParameter(f"invalid tar archive: {name} is referenced but missing from the archive")

    def json(self, name: str) -> Any:
        m = self.resolve(name)
        if m.data is None:
            raise InvalidParameter(f"invalid tar archive: {name} is too large for a JSON file")
        try:
            return json.loads(m.data)
        except ValueError as exc:
            raise InvalidParameter(f"invalid tar archive: {name} is not valid JSON") from exc

    def has(self, name: str) -> bool:
        return name in self.files or name in self.links


def _read_archive(stream: BinaryIO, content: ContentStore, lease: Lease) -> _Archive:
    arc = _Archive()
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("/"))
                if member.issym():
                    arc.links[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                    continue
                if member.islnk():
                    arc.links[name] = posixpath.normpath(member.linkname.lstrip("/"))
                    continue
                if not member.isfile():
                    continue
                src = tar.extractfile(member)
                assert src is not None
                writer = content.writer(f"load-{uuid.uuid4().hex}")
                keep = b"" if member.size <= _SMALL else None
                try:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        writer.write(chunk)
                        if keep is not None:
                            keep += chunk
                    if writer.offset() != member.size:
                        raise InvalidParameter(f"invalid tar archive: {name} is truncated (unexpected EOF)")
                    digest = writer.digest()
                    try:
                        writer.commit(member.size, digest)
                    except AlreadyExists:
                        pass
                except BaseException:
                    writer.close()
                    content.abort(writer.ref)
                    raise
                lease.blobs.add(digest)
                arc.files[name] = _Member(digest, member.size, keep)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidParameter(f"invalid tar archive: {exc or 'unexpected EOF'}") from exc
    return arc


@dataclass
class _ImageEntry:
    config: Digest
    layers: list[Digest]
    tags: list[str]
    manifest_digest: str = ""
    manifest_media_type: str = ""


def _entries_from_manifest_json(arc: _Archive) -> list[_ImageEntry]:
    data = arc.json("manifest.json")
    if not isinstance(data, list):
        raise InvalidParameter("invalid tar archive: manifest.json must be a list")
    out = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
            raise InvalidParameter("invalid tar archive: manifest.json entry without Config")
        layers = item.get("Layers") or []
        tags = item.get("RepoTags") or []
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise InvalidParameter("invalid tar archive: manifest.json Layers must be a list of paths")
        if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
            raise InvalidParameter("invalid tar archive: manifest.json RepoTags must be a list of strings")
        out.append(
            _ImageEntry(
                arc.resolve(item["Config"]).digest, [arc.resolve(p).digest for p in layers], list(tags)
            )
        )
    return out


def _blob_path(digest: str) -> str:
    alg, _, hexpart = digest.partition(":")
    return f"blobs/{alg}/{hexpart}"


def _entries_from_index(arc: _Archive) -> list[_ImageEntry]:
    index = arc.json("index.json")
    out: list[_ImageEntry] = []

    def walk(desc: dict[str, Any], tag: str) -> None:
        mt = desc.get("mediaType", "")
        digest = str(desc.get("digest", ""))
        if mt in mediatypes.INDEXES:
            sub = arc.json(_blob_path(digest))
            for d in sub.get("manifests") or []:
                plat = d.get("platform") or {}
                if plat and plat.get("os") not in (None, "linux"):
                    continue
                walk(d, tag)
                return
        elif mt in mediatypes.MANIFESTS:
            man = arc.json(_blob_path(digest))
            cfg = man.get("config") or {}
            layers = [arc.resolve(_blob_path(str(x.get("digest", "")))).digest for x in man.get("layers") or []]
            out.append(
                _ImageEntry(
                    arc.resolve(_blob_path(str(cfg.get("digest", "")))).digest,
                    layers,
                    [tag] if tag else [],
                    digest,
                    mt,
                )
            )

    for desc in index.get("manifests") or []:
        ann = desc.get("annotations") or {}
        name = ann.get("io.containerd.image.name") or ""
        if not name and ann.get("org.opencontainers.image.ref.name"):
            name = ann["org.opencontainers.image.ref.name"]
        walk(desc, name)
    return out


def load_archive(
    stream: BinaryIO,
    store: ImageStore,
    content: ContentStore,
    snapshotter: LayerSnapshotter,
    lease: Lease,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[LoadedImage]:
    arc = _read_archive(stream, content, lease)
    if arc.has("manifest.json"):
        entries = _entries_from_manifest_json(arc)
    elif arc.has("index.json"):
        entries = _entries_from_index(arc)
    else:
        raise InvalidParameter(
            "invalid tar archive: no manifest.json or index.json found; is this a file made by docker save?"
        )
    loaded: list[LoadedImage] = []
    for entry in entries:
        refs: list[Reference] = []
        for tag in entry.tags:
            try:
                ref = parse_reference(tag)
            except ReferenceError as exc:
                raise InvalidParameter(f"invalid tar archive: bad tag {tag!r}: {exc}") from exc
            refs.append(ref)
        config_bytes = content.read_bytes(entry.config)
        try:
            cfg = json.loads(config_bytes)
            diff_ids = list(cfg["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidParameter(f"invalid image config {entry.config}: {exc}") from exc
        if len(diff_ids) != len(entry.layers):
            raise InvalidParameter(
                f"invalid tar archive: image {entry.config} has {len(diff_ids)} diff IDs "
                f"but {len(entry.layers)} layers"
            )
        parent = ""
        layer_records = []
        for blob, diff_id in zip(entry.layers, diff_ids, strict=True):
            layer = layer_from_blob(store, content, snapshotter, blob, parent, str(diff_id))
            lease.snapshots.add(layer.chain_id)
            layer_records.append(layer)
            parent = layer.chain_id
            progress(f"Loading layer {diff_id[7:19]}")
        if entry.manifest_digest:
            lease.blobs.add(entry.manifest_digest)
        _, moved = store.add(
            str(entry.config),
            layer_records,
            created=str(cfg.get("created", "")),
            source="load",
            manifest_digest="",
            refs=refs,
        )
        replaced = [(name, old) for name, old in moved if old and old != str(entry.config)]
        loaded.append(LoadedImage(str(entry.config), [r.familiar() for r in refs], replaced))
    return loaded
