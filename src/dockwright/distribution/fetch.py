"""Pull: manifest (platform picked from an index), config, layers; one pass per layer.

Each layer streams network -> content writer (hashing, resumable ingest
``pull-<digest>``) -> decompressor -> tar applier into a fresh snapshot, in a
worker thread fed through a ``Pipe``. A snapshot needs its parent committed,
so only a layer whose parent is ready when its download starts is extracted
while downloading; the others (downloads run ``max-concurrent-downloads`` at a
time) go to the content store and are extracted from there once their parent
is in place. A dropped connection is resumed with ``Range`` from the offset
reached. Nothing becomes visible before its digest checked out: the blob
commit verifies it, the snapshot is committed after that, and the image row
is written last; a lease keeps GC away meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from ..content.store import ContentStore, ContentWriter
from ..diff.apply import apply_layer
from ..errors import (
    AlreadyExists,
    Cancelled,
    DataLoss,
    DockwrightError,
    FailedPrecondition,
    InvalidParameter,
    Unavailable,
)
from ..images.model import LayerRecord
from ..images.store import ImageStore
from ..images.unpack import chain_of, commit_or_drop, layer_from_blob
from ..metadata.leases import Lease
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, Platform
from ..oci.digest import Digest, sha256_bytes
from ..oci.reference import Reference
from . import manifest as mf
from .client import RegistryClient
from .pipe import Pipe
from .progress import Progress, Throttle, detail, layer_id, status
from .xfer import Deduper

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RESUMES = 5
_DROPS = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError,
          asyncio.TimeoutError, ConnectionError)


@dataclass
class PullStores:
    store: ImageStore
    content: ContentStore
    snapshotter: Any


@dataclass
class Resolved:
    """What a tag or digest resolves to on the registry."""

    top_digest: str  # what the reference points at (index or manifest): the RepoDigest
    top_media_type: str
    top_body: bytes
    manifest: mf.ImageManifest
    manifest_body: bytes
    manifest_digest: str


@dataclass
class PullResult:
    image_id: str
    resolved: Resolved
    config: bytes
    layers: list[LayerRecord]


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``to_thread`` that, when cancelled, still waits for the thread: the work it does (a layer row,
    a committed snapshot) must be over before the caller's lease is released."""
    fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    return await settle(fut)


async def settle(fut: asyncio.Future[T]) -> T:
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await fut
        raise


def _verify(body: bytes, want: str, what: str) -> str:
    got = sha256_bytes(body)
    if want and want.startswith("sha256:") and got != want:
        raise FailedPrecondition(f"{what}: digest mismatch: expected {want}, got {got}")
    return got


async def resolve(client: RegistryClient, ref: Reference, platform: Platform) -> Resolved:
    reference = ref.digest or ref.tag or "latest"
    body, header_mt, _ = await client.get_manifest(reference)
    top_digest = _verify(body, ref.digest, f"manifest {ref}")
    top_mt = mf.media_type_of(body, header_mt)
    if top_mt in mediatypes.INDEXES:
        chosen = mf.choose(mf.parse_index(body), platform)
        mbody, mheader, _ = await client.get_manifest(chosen.digest)
        mdigest = _verify(mbody, chosen.digest, f"manifest {chosen.digest}")
        mt = mf.media_type_of(mbody, mheader)
        if mt in mediatypes.INDEXES:
            raise InvalidParameter(f"manifest {chosen.digest} is a nested index: not supported")
        return Resolved(top_digest, top_mt, body, mf.parse_manifest(mbody, mt), mbody, mdigest)
    return Resolved(top_digest, top_mt, body, mf.parse_manifest(body, top_mt), body, top_digest)


class _Download:
    """A blob body that survives dropped connections by resuming with Range."""

    def __init__(self, client: RegistryClient, desc: Descriptor, progress: Progress, ident: str) -> None:
        self.client = client
        self.desc = desc
        self.progress = progress
        self.ident = ident
        self.offset = 0
        self.resumes = 0

    async def run(self, pipe: Pipe) -> None:
        throttle = Throttle()
        size = self.desc.size
        try:
            while True:
                try:
                    async with self.client.open_blob(self.desc.digest, self.offset) as resp:
                        skip = self.offset if (self.offset and resp.status == 200) else 0
                        while True:
                            chunk = await resp.content.readany()
                            if not chunk:
                                break
                            if skip:
                                if len(chunk) <= skip:
                                    skip -= len(chunk)
                                    continue
                                chunk, skip = chunk[skip:], 0
                            self.offset += len(chunk)
                            if size and self.offset > size:
                                raise FailedPrecondition(
                                    f"blob {self.desc.digest} is larger than its descriptor says ({size} bytes)")
                            await pipe.put(chunk)
                            if throttle.due():
                                await self.progress(detail("Downloading", self.ident, self.offset, size))
                    if size and self.offset < size:
                        raise aiohttp.ClientPayloadError(f"connection closed at {self.offset} of {size} bytes")
                    break
                except _DROPS as exc:
                    if self.resumes >= MAX_RESUMES:
                        raise Unavailable(f"downloading {self.desc.digest}: connection dropped "
                                          f"{self.resumes + 1} times, last: {exc}") from exc
                    self.resumes += 1
                    log.info("blob %s: connection dropped at %d (%s); resuming", self.desc.digest, self.offset, exc)
                    await asyncio.sleep(0.2 * self.resumes)
            if size and self.offset > size:
                raise FailedPrecondition(f"blob {self.desc.digest} is larger than its descriptor says ({size})")
            await self.progress(detail("Downloading", self.ident, self.offset, size))
        except BaseException as exc:
            pipe.finish(exc if isinstance(exc, DockwrightError) else Unavailable(f"download failed: {exc}"))
            raise
        pipe.finish()


class _Tee(io.RawIOBase):
    def __init__(self, src: Pipe, sink: ContentWriter) -> None:
        self.src = src
        self.sink = sink

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.src.readinto(b)
        if n:
            self.sink.write(bytes(memoryview(b)[:n]))
        return n or 0

    def drain(self) -> None:
        while data := self.src.read(1 << 20):
            self.sink.write(data)


def _digest_error(desc: Descriptor, exc: FailedPrecondition) -> FailedPrecondition:
    return FailedPrecondition(f"filesystem layer verification failed for digest {desc.digest}: {exc}")


class LayerFetcher:
    """Fetches and unpacks the layers of one image; shared state is per pull."""

    def __init__(self, stores: PullStores, client: RegistryClient, lease: Lease, dedupe: Deduper[str],
                 downloads: asyncio.Semaphore, progress: Progress) -> None:
        self.s = stores
        self.client = client
        self.lease = lease
        self.dedupe = dedupe
        self.downloads = downloads
        self.progress = progress

    # -- thread side -------------------------------------------------------------------------
    def _writer(self, desc: Descriptor) -> ContentWriter | None:
        ref = f"pull-{desc.digest}"
        with contextlib.suppress(DockwrightError):
            self.s.content.abort(ref)  # a failed earlier attempt: we restart from byte 0
        try:
            return self.s.content.writer(ref, expected=desc.digest)
        except AlreadyExists:
            return None

    def _stream_unpack(self, pipe: Pipe, writer: ContentWriter, desc: Descriptor, parent: str,
                       diff_id: str) -> LayerRecord:
        sn = self.s.snapshotter
        key = f"extract-{uuid.uuid4().hex}"
        tee = _Tee(pipe, writer)
        done = False
        try:
            sn.prepare(key, parent)
            try:
                applied = apply_layer(sn.upper_dir(key), io.BufferedReader(tee, 1 << 20),
                                      whiteouts=sn.whiteout_format())
                tee.drain()
            except Exception as exc:  # noqa: BLE001 - re-raised below, as the most telling kind
                # A corrupt stream is usually a wrong blob: say so when the digest confirms it.
                # (The ISA-L decoder's own error class is neither OSError nor ours.)
                tee.drain()
                if writer.digest() != desc.digest:
                    raise _digest_error(desc, FailedPrecondition(
                        f"got {writer.digest()}, expected {desc.digest}")) from exc
                if isinstance(exc, DockwrightError):
                    raise
                raise InvalidParameter(f"layer {desc.digest} is corrupt: {exc}") from exc
            self.lease.blobs.add(desc.digest)  # pinned before it exists: GC may run any time
            try:
                writer.commit(desc.size, Digest(desc.digest))
            except FailedPrecondition as exc:
                raise _digest_error(desc, exc) from exc
            except AlreadyExists:
                pass
            if diff_id and applied.diff_id != diff_id:
                raise DataLoss(f"layer {desc.digest} unpacks to {applied.diff_id}, but the image config "
                               f"says {diff_id}")
            chain = chain_of(parent, applied.diff_id)
            self.lease.snapshots.add(chain)
            commit_or_drop(sn, key, chain)
            done = True
            layer = LayerRecord(chain, applied.diff_id, parent, applied.size)
            self.s.store.record_layer(layer, (desc.digest, desc.media_type or mediatypes.DOCKER_LAYER_GZIP,
                                              desc.size))
            return layer
        finally:
            if not done:
                pipe.abandon()
                with contextlib.suppress(DockwrightError):
                    sn.remove(key)
                with contextlib.suppress(DockwrightError):
                    writer.close()
                    self.s.content.abort(writer.ref)

    def _store_only(self, pipe: Pipe, writer: ContentWriter, desc: Descriptor) -> None:
        ok = False
        try:
            while data := pipe.read(1 << 20):
                writer.write(data)
            self.lease.blobs.add(desc.digest)
            try:
                writer.commit(desc.size, Digest(desc.digest))
            except FailedPrecondition as exc:
                raise _digest_error(desc, exc) from exc
            except AlreadyExists:
                pass
            ok = True
        finally:
            if not ok:
                pipe.abandon()
                with contextlib.suppress(DockwrightError):
                    writer.close()
                    self.s.content.abort(writer.ref)

    def _unpack_blob(self, desc: Descriptor, parent: str, diff_id: str) -> LayerRecord:
        self.lease.blobs.add(desc.digest)
        if diff_id:
            self.lease.snapshots.add(chain_of(parent, diff_id))
        layer = layer_from_blob(self.s.store, self.s.content, self.s.snapshotter, Digest(desc.digest), parent,
                                diff_id)
        self.lease.snapshots.add(layer.chain_id)
        return layer

    # -- loop side ---------------------------------------------------------------------------
    async def _transfer(self, desc: Descriptor, ident: str,
                        consume: Callable[[Pipe, ContentWriter], Any]) -> Any:
        writer = await in_thread(self._writer, desc)
        if writer is None:
            return None
        pipe = Pipe(asyncio.get_running_loop())
        dl = _Download(self.client, desc, self.progress, ident)
        thread = asyncio.ensure_future(asyncio.to_thread(consume, pipe, writer))
        try:
            await dl.run(pipe)
        except Cancelled:
            # The consumer stopped first (bad layer, disk full): its error is the one to report.
            await settle(thread)
            raise
        except BaseException:
            pipe.abandon()
            with contextlib.suppress(BaseException):
                await settle(thread)
            raise
        return await settle(thread)

    async def layer(self, i: int, desc: Descriptor, diff_id: str, parents: list[asyncio.Event],
                    chains: list[str]) -> LayerRecord:
        ident = layer_id(desc.digest)
        parent = chains[i - 1] if i else ""
        if self.downloads.locked():
            await self.progress(status("Waiting", ident))
        streamed: LayerRecord | None = None
        async with self.downloads:
            if i == 0 or parents[i - 1].is_set():
                async def stream() -> str:
                    nonlocal streamed
                    streamed = await self._transfer(
                        desc, ident, lambda p, w: self._stream_unpack(p, w, desc, parent, diff_id))
                    return desc.digest

                await self.dedupe.run(desc.digest, stream)
            else:
                async def fetch() -> str:
                    await self._transfer(desc, ident, lambda p, w: self._store_only(p, w, desc))
                    return desc.digest

                await self.dedupe.run(desc.digest, fetch)
        await self.progress(status("Verifying Checksum", ident))
        await self.progress(status("Download complete", ident))
        if i:
            await parents[i - 1].wait()
        if streamed is None:
            streamed = await in_thread(self._unpack_blob, desc, parent, diff_id)
        await self.progress(detail("Extracting", ident, desc.size, desc.size))
        await self.progress(status("Pull complete", ident))
        parents[i].set()
        return streamed


async def fetch_config(client: RegistryClient, stores: PullStores, desc: Descriptor, lease: Lease) -> bytes:
    lease.blobs.add(desc.digest)
    if await asyncio.to_thread(stores.content.exists, Digest(desc.digest)):
        data = await asyncio.to_thread(stores.content.read_bytes, Digest(desc.digest))
    else:
        data = await client.fetch_blob_bytes(desc.digest)
        _verify(data, desc.digest, f"image config {desc.digest}")
        await asyncio.to_thread(stores.content.put_bytes, data, Digest(desc.digest))
    return data


def diff_ids_of(config: bytes, layers: int) -> list[str]:
    try:
        cfg = json.loads(config)
        ids = [str(x) for x in cfg["rootfs"]["diff_ids"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameter(f"image config has no rootfs.diff_ids: {exc}") from exc
    if len(ids) != layers:
        raise InvalidParameter(f"image config lists {len(ids)} layers but the manifest {layers}")
    return ids


async def pull_layers(fetcher: LayerFetcher, resolved: Resolved, config: bytes) -> list[LayerRecord]:
    descs = list(resolved.manifest.layers)
    diff_ids = diff_ids_of(config, len(descs))
    chains: list[str] = []
    for d in diff_ids:
        chains.append(chain_of(chains[-1] if chains else "", d))
    s = fetcher.s

    def present() -> list[LayerRecord | None]:
        out: list[LayerRecord | None] = []
        for c in chains:
            rec = s.store.layer(c)
            if rec is not None:
                try:
                    s.snapshotter.stat(c)
                except DockwrightError:
                    rec = None
            out.append(rec)
        return out

    have = await asyncio.to_thread(present)
    parents = [asyncio.Event() for _ in descs]
    results: list[LayerRecord | None] = list(have)
    todo: list[int] = []
    for i, desc in enumerate(descs):
        if have[i] is not None:
            fetcher.lease.snapshots.add(chains[i])
            parents[i].set()
            await fetcher.progress({"status": "Already exists", "progressDetail": {}, "id": layer_id(desc.digest)})
        else:
            todo.append(i)
            await fetcher.progress(status("Pulling fs layer", layer_id(descs[i].digest)))
    tasks = {i: asyncio.ensure_future(fetcher.layer(i, descs[i], diff_ids[i], parents, chains)) for i in todo}
    try:
        if tasks:
            await asyncio.gather(*tasks.values())
    except BaseException:
        for t in tasks.values():
            t.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    for i, t in tasks.items():
        results[i] = t.result()
    return [r for r in results if r is not None]
