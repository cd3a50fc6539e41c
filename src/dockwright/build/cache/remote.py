"""The build cache shared through a registry: buildkit's cache export shape, keyed by our step keys.

What is pushed under ``ref`` (one OCI image manifest, tagged)::

    manifest  config: application/vnd.buildkit.cacheconfig.v0  -> cacheconfig JSON (below)
              layers: every layer blob any exported step needs (compressed once, as push does)

    cacheconfig = {
      "layers":  [{"blob": digest, "parent": index | -1, "diffID": ..., "size": content bytes}],
      "records": [{"digest": step key, "parent": parent step key,
                   "layers": [{"layer": index of the step's top layer}] (empty: no filesystem),
                   "inputs": [[{"selector": "", "link": index of the parent record}]],
                   "config": the step's image config}]
    }

A step key is already a content hash of everything the step reads, so an imported record is
trusted exactly as a local one. Layers are fetched lazily: a hit only yields layer *records*;
their blobs are downloaded and unpacked when a later step must run on them or the final image
needs them (``ensure``). At the end of a build, the hits whose layers are then here become
entries of the daemon's own cache (``keep_hits``): the next build needs no ``--cache-from``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from dockwright.build.cache.s3 import S3Cache, gzip_file
from dockwright.build.cache.store import BuildCacheStore, StepRecord
from dockwright.distribution.pushed import PushedBlob
from dockwright.errors import AlreadyExists, InvalidParameter, NotFound
from dockwright.images.model import LayerRecord
from dockwright.images.unpack import chain_of, layer_from_blob, record_layer_blob
from dockwright.oci import mediatypes
from dockwright.oci.digest import Digest

CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"
INLINE_KEY = "moby.buildkit.cache.v0"  # image config field holding the inline cacheconfig (base64 JSON)


@dataclass(frozen=True)
class CacheSpec:
    """One ``--cache-from``/``--cache-to`` entry: ``type=registry,ref=...,mode=max``."""

    type: str
    attrs: dict[str, str]

    @property
    def ref(self) -> str:
        return self.attrs.get("ref", "")

    @property
    def mode(self) -> str:
        return self.attrs.get("mode", "min")


def parse_spec(text: str) -> CacheSpec | None:
    """None for a plain image name (the legacy ``--cache-from IMAGE`` rule handles those)."""
    if "=" not in text:
        return None
    attrs: dict[str, str] = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        if not sep:
            raise InvalidParameter(f"invalid cache option {part!r} in {text!r}: expected key=value")
        attrs[k.strip()] = v.strip()
    kind = attrs.pop("type", "registry")
    if kind not in ("registry", "inline", "s3"):
        raise InvalidParameter(f"cache type {kind!r} is not supported: use type=registry, s3 or inline")
    if kind == "registry" and not attrs.get("ref"):
        raise InvalidParameter(f"cache option {text!r} needs ref=REPOSITORY:TAG")
    if attrs.get("mode", "min") not in ("min", "max"):
        raise InvalidParameter(f"cache mode {attrs['mode']!r} is invalid: use mode=min or mode=max")
    return CacheSpec(kind, attrs)


@dataclass
class ExportStep:
    key: str
    parent_key: str
    cfg: dict[str, Any]
    layers: list[LayerRecord]
    alias: str = ""  # COPY --from a stage: the key with the stage's key in place of its files' digest


@dataclass
class _Imported:
    spec: CacheSpec
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Hit:
    rec: StepRecord
    layers: list[LayerRecord]
    parent_layers: int  # how many of ``layers`` the step's parent already had
    description: str


Emit = Callable[[str], Awaitable[None]]


class RemoteCache:
    """Imported records for one build, and the export of its steps."""

    def __init__(self, daemon: Any, lease: Any, auth_for: Callable[[str], str | None]) -> None:
        self.d = daemon
        self.lease = lease
        self.auth_for = auth_for
        self.imports: list[_Imported] = []
        self.fetch_count = 0
        self._blob_of: dict[str, tuple[str, CacheSpec]] = {}  # chain id -> (blob digest, where)
        self._s3: dict[tuple[tuple[str, str], ...], S3Cache] = {}
        self._ensure_lock = asyncio.Lock()
        self._hits: list[_Hit] = []

    # -- import -----------------------------------------------------------------------------
    def s3(self, spec: CacheSpec) -> S3Cache:
        key = tuple(sorted(spec.attrs.items()))
        if key not in self._s3:
            self._s3[key] = S3Cache(spec.attrs)
        return self._s3[key]

    async def load(self, spec: CacheSpec, out: Emit) -> None:
        if spec.type == "s3":
            await self._load_s3(spec, out)
            return
        await out(f"importing cache manifest from {spec.ref}\n")
        async with self.d.distribution.repository(spec.ref, self.auth_for(spec.ref)) as client:
            ref_tag = _tag_of(spec.ref)
            try:
                body, _, _ = await client.get_manifest(ref_tag)
            except NotFound:
                await out(f"cache manifest {spec.ref} not found: building without it\n")
                return
            manifest = json.loads(body)
            cfg_desc = manifest.get("config") or {}
            if cfg_desc.get("mediaType") != CACHE_CONFIG:
                raise InvalidParameter(f"{spec.ref} is not a build cache manifest (config is "
                                       f"{cfg_desc.get('mediaType')!r})")
            data = await client.fetch_blob_bytes(cfg_desc["digest"])
        self._add(spec, data, cfg_desc["digest"])

    async def _load_s3(self, spec: CacheSpec, out: Emit) -> None:
        s3 = self.s3(spec)
        await out(f"importing cache manifest from s3://{s3.bucket}/{s3.manifest_key()}\n")
        try:
            body = await asyncio.to_thread(s3.get, s3.manifest_key())
        except NotFound:
            await out("cache manifest not found: building without it\n")
            return
        cfg_desc = json.loads(body).get("config") or {}
        if cfg_desc.get("mediaType") != CACHE_CONFIG:
            raise InvalidParameter(f"s3://{s3.bucket}/{s3.manifest_key()} is not a build cache manifest")
        data = await asyncio.to_thread(s3.get, s3.blob_key(cfg_desc["digest"]))
        self._add(spec, data, cfg_desc["digest"])

    def load_inline(self, name: str, cfg: dict[str, Any]) -> bool:
        """A local image built with inline cache: its records point at its own (present) layers."""
        raw = cfg.get(INLINE_KEY)
        if not isinstance(raw, str):
            return False
        try:
            data = base64.b64decode(raw)
            json.loads(data)
        except ValueError:
            return False
        self._add(CacheSpec("inline", {"ref": name}), data, "")
        return True

    def _add(self, spec: CacheSpec, data: bytes, digest: str) -> None:
        if digest and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise InvalidParameter(f"cache config {digest} does not match its digest")
        doc = json.loads(data)
        imp = _Imported(spec, layers=list(doc.get("layers") or []))
        for rec in doc.get("records") or []:
            imp.records[str(rec["digest"])] = rec
            if rec.get("alias"):
                imp.aliases[str(rec["alias"])] = str(rec["digest"])
        self.imports.append(imp)

    def lookup_alias(self, alias: str) -> tuple[str, dict[str, Any], list[LayerRecord]] | None:
        """A COPY --from a stage that was itself a hit: found without fetching the stage's layers."""
        for imp in self.imports:
            key = imp.aliases.get(alias)
            if key is not None:
                found = self.lookup(key)
                if found is not None:
                    return key, *found
        return None

    def lookup(self, key: str) -> tuple[dict[str, Any], list[LayerRecord]] | None:
        """The step's config and layer chain, without downloading anything."""
        for imp in self.imports:
            rec = imp.records.get(key)
            if rec is None or "config" not in rec:
                continue
            top = (rec.get("layers") or [{"layer": -1}])[0].get("layer", -1)
            chain_idx: list[int] = []
            while top is not None and top >= 0:
                chain_idx.append(top)
                top = imp.layers[top].get("parent", -1)
            chain_idx.reverse()
            layers: list[LayerRecord] = []
            parent = ""
            for i in chain_idx:
                ent = imp.layers[i]
                chain = chain_of(parent, ent["diffID"])
                layers.append(LayerRecord(chain, ent["diffID"], parent, int(ent.get("size", 0))))
                self._blob_of.setdefault(chain, (ent["blob"], imp.spec))
                parent = chain
            return dict(rec["config"]), layers
        return None

    async def ensure(self, layers: list[LayerRecord]) -> None:
        """Download and unpack whatever of ``layers`` is not here yet, bottom first (a step runs on them)."""
        async with self._ensure_lock:
            for layer in layers:
                self.lease.snapshots.add(layer.chain_id)
                if await asyncio.to_thread(self._unpacked, layer.chain_id):
                    continue
                blob = await self._blob_here(layer)
                await asyncio.to_thread(layer_from_blob, self.d.image_store, self.d.content, self.d.snapshotter,
                                        Digest(blob), layer.parent, layer.diff_id)

    async def fetch(self, layers: list[LayerRecord]) -> None:
        """Make ``layers`` part of this daemon without unpacking them (the final image's: its files
        are needed only when a container or a later build runs on it, which unpack on first use)."""
        async with self._ensure_lock:
            for layer in layers:
                self.lease.snapshots.add(layer.chain_id)
                if await asyncio.to_thread(self._recorded, layer.chain_id):
                    continue
                blob = await self._blob_here(layer)
                await asyncio.to_thread(record_layer_blob, self.d.image_store, self.d.content, Digest(blob),
                                        layer.parent, layer.diff_id)

    async def _blob_here(self, layer: LayerRecord) -> str:
        """The layer's blob digest, downloaded from its imported cache unless it is already here."""
        blob, where = self._blob_of.get(layer.chain_id, ("", CacheSpec("", {})))
        if not blob:
            local = [b[0] for b in await asyncio.to_thread(self.d.image_store.layer_blobs, layer.diff_id)
                     if await asyncio.to_thread(self.d.content.exists, Digest(b[0]))]
            if not local:
                raise NotFound(f"layer {layer.diff_id} is neither local nor in an imported cache")
            blob = local[0]
        self.lease.blobs.add(blob)
        if not await asyncio.to_thread(self.d.content.exists, Digest(blob)):
            if not where.type:
                raise NotFound(f"layer {layer.diff_id}: its blob {blob} is missing: pull its image again")
            await self._download(where, blob)
        return blob

    def adopt(self, rec: StepRecord, layers: list[LayerRecord], parent_layers: int, description: str) -> None:
        """Remember an imported hit, to become a local cache entry once its layers are here."""
        self._hits.append(_Hit(rec, list(layers), parent_layers, description))

    async def keep_hits(self, cache: BuildCacheStore) -> None:
        """Record the imported hits whose layers this build brought in as the daemon's own cache, so the
        next build hits without ``--cache-from``. Hits on layers nothing needed stay remote: recording
        them would mean downloading what the build did not use."""
        hits, self._hits = self._hits, []
        for hit in hits:
            if not all([await asyncio.to_thread(self._recorded, layer.chain_id) for layer in hit.layers]):
                continue
            size = hit.layers[-1].size if len(hit.layers) > hit.parent_layers else 0
            await asyncio.to_thread(cache.put, hit.rec, size=size, description=hit.description)

    def _unpacked(self, chain: str) -> bool:
        if self.d.image_store.layer(chain) is None:
            return False
        try:
            self.d.snapshotter.stat(chain)
        except Exception:  # noqa: BLE001 - any failure means "unpack it again"
            return False
        return True

    def _recorded(self, chain: str) -> bool:
        """Known here, unpacked or as a verified blob (a lazy layer)."""
        if self._unpacked(chain):
            return True
        layer = self.d.image_store.layer(chain)
        return layer is not None and any(self.d.content.exists(Digest(b[0]))
                                         for b in self.d.image_store.layer_blobs(layer.diff_id))

    async def _download(self, spec: CacheSpec, blob: str) -> None:
        self.fetch_count += 1
        content = self.d.content
        writer = await asyncio.to_thread(content.writer, f"cache-import-{uuid.uuid4().hex}")
        try:
            size = 0
            if spec.type == "s3":
                s3 = self.s3(spec)
                size = await asyncio.to_thread(s3.download, s3.blob_key(blob), writer)
            else:
                async with (self.d.distribution.repository(spec.ref, self.auth_for(spec.ref)) as client,
                            client.open_blob(blob) as resp):
                    async for chunk in resp.content.iter_chunked(1 << 20):
                        size += len(chunk)
                        await asyncio.to_thread(writer.write, chunk)
            try:
                await asyncio.to_thread(writer.commit, size, Digest(blob))
            except AlreadyExists:
                pass
        except BaseException:
            await asyncio.to_thread(_abort, content, writer)
            raise

    # -- export -----------------------------------------------------------------------------
    async def export(self, spec: CacheSpec, steps: list[ExportStep], out: Emit) -> str:
        # an export needs the layers' blobs, not their files: imported layers stay lazy
        await self.fetch([layer for s in steps for layer in s.layers])
        if spec.type == "s3":
            return await self._export_s3(spec, steps, out)
        from dockwright.distribution.push import Pusher, PushOptions

        await out(f"exporting cache to {spec.ref}\n")

        async def noop(_: dict[str, Any]) -> None:
            return None

        async with self.d.distribution.repository(spec.ref, self.auth_for(spec.ref)) as client:
            pusher = Pusher(client, self.d.image_store, self.d.content, self.d.distribution.sums,
                            asyncio.Semaphore(3), noop, PushOptions(compression="gzip", oci=True))

            async def push_layer(diff_id: str) -> dict[str, Any]:
                desc = await pusher.layer(diff_id)
                return {"mediaType": desc.media_type, "digest": str(desc.digest), "size": desc.size}

            data, descs, n_rec = await _cache_doc(steps, push_layer)
            cfg_digest = Digest("sha256:" + hashlib.sha256(data).hexdigest())
            await client.upload_bytes(data, cfg_digest)
            body = _manifest(data, cfg_digest, descs)
            digest = await client.put_manifest(_tag_of(spec.ref), body, mediatypes.OCI_MANIFEST)
        await out(f"exported cache {spec.ref}@{digest} ({n_rec} steps, {len(descs)} layers)\n")
        return str(digest)

    async def _export_s3(self, spec: CacheSpec, steps: list[ExportStep], out: Emit) -> str:
        """Layers go up compressed: a compressed blob we keep (pulled) as is, else the build's tar
        gzipped once; which blob a layer became is remembered per bucket and prefix, as push does."""
        s3 = self.s3(spec)
        await out(f"exporting cache to s3://{s3.bucket}/{s3.manifest_key()}\n")
        sums = self.d.distribution.sums
        where = s3.location()

        async def put_layer(diff_id: str) -> dict[str, Any]:
            for known in await asyncio.to_thread(sums.lookup, where, diff_id):
                if await asyncio.to_thread(s3.exists, s3.blob_key(known.digest)):
                    return {"mediaType": known.media_type, "digest": known.digest, "size": known.size}
            blobs = await asyncio.to_thread(self.d.image_store.layer_blobs, diff_id)
            blobs = [b for b in blobs if await asyncio.to_thread(self.d.content.exists, Digest(b[0]))]
            if not blobs:
                raise NotFound(f"layer {diff_id} has no stored tar to export")
            blobs.sort(key=lambda b: mediatypes.layer_compression(b[1]) not in ("gzip", "zstd"))
            digest, mt, size = blobs[0]
            path = self.d.content.path(Digest(digest))
            tmp = None
            if mediatypes.layer_compression(mt) not in ("gzip", "zstd"):
                tmp = self.d.root / "tmp" / f"cache-export-{uuid.uuid4().hex}.gz"
                digest, size = await asyncio.to_thread(gzip_file, path, tmp)
                mt, path = mediatypes.OCI_LAYER_GZIP, tmp
            try:
                if not await asyncio.to_thread(s3.exists, s3.blob_key(digest)):
                    await asyncio.to_thread(s3.put_file, s3.blob_key(digest), path)
            finally:
                if tmp is not None:
                    await asyncio.to_thread(tmp.unlink, missing_ok=True)
            await asyncio.to_thread(sums.add, where, diff_id, PushedBlob(digest, mt, size, s3.prefix))
            return {"mediaType": mt, "digest": digest, "size": size}

        data, descs, n_rec = await _cache_doc(steps, put_layer)
        cfg_digest = Digest("sha256:" + hashlib.sha256(data).hexdigest())
        await asyncio.to_thread(s3.put, s3.blob_key(str(cfg_digest)), data)
        body = _manifest(data, cfg_digest, descs)
        await asyncio.to_thread(s3.put, s3.manifest_key(), body)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        await out(f"exported cache s3://{s3.bucket}/{s3.manifest_key()}@{digest} ({n_rec} steps, "
                  f"{len(descs)} layers)\n")
        return digest


async def inline_value(steps: list[ExportStep]) -> str:
    """The cacheconfig for the image config: layers by diff ID only (the image carries the blobs)."""
    async def no_blob(diff_id: str) -> dict[str, Any]:
        return {"digest": ""}

    data, _, _ = await _cache_doc(steps, no_blob)
    return base64.b64encode(data).decode()


async def _cache_doc(steps: list[ExportStep], put_layer: Callable[[str], Awaitable[dict[str, Any]]]
                     ) -> tuple[bytes, list[dict[str, Any]], int]:
    """The cacheconfig bytes and the layer descriptors, each layer stored once through ``put_layer``."""
    index: dict[str, int] = {}
    layers: list[dict[str, Any]] = []
    descs: list[dict[str, Any]] = []
    for s in steps:
        for layer in s.layers:
            if layer.chain_id in index:
                continue
            desc = await put_layer(layer.diff_id)
            index[layer.chain_id] = len(layers)
            layers.append({"blob": desc["digest"], "parent": index.get(layer.parent, -1),
                           "diffID": layer.diff_id, "size": layer.size})
            descs.append(desc)
    rec_index = {s.key: i for i, s in enumerate(steps)}
    records = []
    for s in steps:
        top = index[s.layers[-1].chain_id] if s.layers else -1
        link = rec_index.get(s.parent_key)
        records.append({"digest": s.key, "parent": s.parent_key,
                        "layers": [{"layer": top}] if top >= 0 else [],
                        "inputs": [[{"selector": "", "link": link}]] if link is not None else [],
                        "config": s.cfg} | ({"alias": s.alias} if s.alias else {}))
    data = json.dumps({"layers": layers, "records": records}, sort_keys=True, separators=(",", ":")).encode()
    return data, descs, len(records)


def _manifest(data: bytes, cfg_digest: Digest, descs: list[dict[str, Any]]) -> bytes:
    manifest = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
                "config": {"mediaType": CACHE_CONFIG, "digest": str(cfg_digest), "size": len(data)},
                "layers": descs}
    return json.dumps(manifest, separators=(",", ":")).encode()


def _tag_of(ref: str) -> str:
    from dockwright.oci.reference import parse_reference

    r = parse_reference(ref)
    return str(getattr(r, "digest", "") or getattr(r, "tag", "") or "latest")


def _abort(content: Any, writer: Any) -> None:
    try:
        writer.close()
        content.abort(writer.ref)
    except Exception:  # noqa: BLE001 - cleanup after the real error
        pass
