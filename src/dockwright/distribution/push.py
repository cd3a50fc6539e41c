"""Push: layers (skip, mount, reuse or compress once), config, manifest.

For each layer, cheapest first: a blob the registry already has for this
repository (HEAD on what ``BlobSums`` or the local layer blobs name) ->
"Layer already exists"; a blob it has under another repository -> cross-repo
mount; a compressed blob we keep locally (pulled layers) -> uploaded as is;
otherwise the layer tar is compressed (ISA-L gzip by default, zstd on request)
in a worker thread straight into the upload body, hashed on the way, and the
result remembered so the next push compresses nothing. Uploads run
``max-concurrent-uploads`` at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..content.store import ContentStore
from ..diff.compression import compressing_writer, decompressing_reader
from ..errors import DockwrightError, InvalidParameter, NotFound, Unavailable
from ..images.model import ImageRecord
from ..images.store import ImageStore
from ..oci import mediatypes
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest, sha256_bytes
from . import manifest as mf
from .client import RegistryClient
from .progress import Progress, Throttle, detail, layer_id, status
from .pushed import BlobSums, PushedBlob

_CHUNK = 1 << 20
RETRIES = 3


@dataclass
class PushOptions:
    compression: str = "gzip"  # gzip | zstd
    oci: bool = False  # OCI manifest instead of Docker schema 2
    level: int | None = None


@dataclass
class PushResult:
    digest: str
    size: int
    media_type: str


def _flavour(media_type: str, oci: bool) -> str:
    """A layer media type in the manifest's own vocabulary."""
    kind = mediatypes.layer_compression(media_type)
    if oci:
        return {"gzip": mediatypes.OCI_LAYER_GZIP, "zstd": mediatypes.OCI_LAYER_ZSTD}.get(kind, mediatypes.OCI_LAYER)
    return {"gzip": mediatypes.DOCKER_LAYER_GZIP, "zstd": mediatypes.OCI_LAYER_ZSTD}.get(
        kind, mediatypes.DOCKER_LAYER)


class _Producer:
    """Sync writes in a worker thread become an async iterator of upload chunks."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.q: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=8)
        self.buf = bytearray()
        self.hash = hashlib.sha256()
        self.size = 0
        self.stopped = False

    def write(self, b: Any) -> int:
        if self.stopped:
            raise BrokenPipeError("upload stopped")
        data = bytes(b)
        self.hash.update(data)
        self.size += len(data)
        self.buf += data
        if len(self.buf) >= _CHUNK:
            self._put(bytes(self.buf))
            self.buf.clear()
        return len(data)

    def flush(self) -> None:
        return None

    def _put(self, item: bytes | BaseException | None) -> None:
        asyncio.run_coroutine_threadsafe(self.q.put(item), self.loop).result()

    def finish(self, error: BaseException | None = None) -> None:
        if self.buf and error is None:
            self._put(bytes(self.buf))
            self.buf.clear()
        self._put(error)

    async def chunks(self, on_bytes: Any) -> AsyncIterator[bytes]:
        while True:
            item = await self.q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            await on_bytes(len(item))
            yield item

    def stop(self) -> None:
        self.stopped = True
        while not self.q.empty():
            self.q.get_nowait()


class Pusher:
    def __init__(self, client: RegistryClient, store: ImageStore, content: ContentStore, sums: BlobSums,
                 uploads: asyncio.Semaphore, progress: Progress, opts: PushOptions) -> None:
        self.client = client
        self.store = store
        self.content = content
        self.sums = sums
        self.uploads = uploads
        self.progress = progress
        self.opts = opts
        self.registry = client.endpoint.domain
        self._session = ""  # an upload session opened by a refused mount, used by the next upload

    def _remember(self, diff_id: str, digest: str, media_type: str, size: int) -> None:
        self.sums.add(self.registry, diff_id, PushedBlob(digest, media_type, size, self.client.repo))

    def _wanted(self, media_type: str) -> bool:
        return mediatypes.layer_compression(media_type) == self.opts.compression

    async def _start(self) -> str:
        """An upload session: the one a refused mount left open, else a new one."""
        location, self._session = self._session, ""
        if location:
            return location
        fresh = await self.client.start_upload()
        assert fresh is not None
        return fresh

    async def _progress_counter(self, ident: str, total: int) -> Any:
        done = 0
        throttle = Throttle()

        async def on_bytes(n: int) -> None:
            nonlocal done
            done += n
            if throttle.due():
                await self.progress(detail("Pushing", ident, done, total))

        return on_bytes

    async def _upload_file(self, digest: str, ident: str, total: int) -> None:
        on_bytes = await self._progress_counter(ident, total)
        f = await asyncio.to_thread(self.content.open, Digest(digest))

        async def body() -> AsyncIterator[bytes]:
            try:
                while data := await asyncio.to_thread(f.read, 4 * _CHUNK):
                    await on_bytes(len(data))
                    yield data
            finally:
                await asyncio.to_thread(f.close)

        location = await self._start()
        location = await self.client.patch_upload(location, body())
        await self.client.finish_upload(location, Digest(digest))

    def _compress(self, source: str, out: _Producer) -> None:
        try:
            with self.content.open(Digest(source)) as f:
                reader = decompressing_reader(f)
                w = compressing_writer(out, self.opts.compression, self.opts.level)  # type: ignore[arg-type]
                while data := reader.read(4 * _CHUNK):
                    w.write(data)
                w.close()
        except BaseException as exc:
            if not out.stopped:
                out.finish(exc if isinstance(exc, DockwrightError) else InvalidParameter(f"compressing: {exc}"))
            raise
        out.finish()

    async def _compress_upload(self, source: str, ident: str, total: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        prod = _Producer(loop)
        on_bytes = await self._progress_counter(ident, total)
        worker = asyncio.ensure_future(asyncio.to_thread(self._compress, source, prod))
        try:
            location = await self._start()
            location = await self.client.patch_upload(location, prod.chunks(on_bytes))
            await worker
        except BaseException:
            prod.stop()
            worker.cancel()
            raise
        digest = Digest("sha256:" + prod.hash.hexdigest())
        await self.client.finish_upload(location, digest)
        return digest, prod.size

    async def layer(self, diff_id: str) -> Descriptor:
        ident = layer_id(diff_id)
        if self.uploads.locked():
            await self.progress(status("Waiting", ident))
        async with self.uploads:
            for attempt in range(1, RETRIES + 1):
                try:
                    return await self._layer(diff_id, ident)
                except Unavailable:
                    if attempt == RETRIES:
                        raise
                    await self.progress(status(f"Retrying in {attempt} second{'s' if attempt > 1 else ''}",
                                               ident))
                    await asyncio.sleep(attempt)
        raise AssertionError("unreachable")

    async def _layer(self, diff_id: str, ident: str) -> Descriptor:
        repo = self.client.repo
        known = await asyncio.to_thread(self.sums.lookup, self.registry, diff_id)
        local = await asyncio.to_thread(self.store.layer_blobs, diff_id)
        local = [b for b in local if await asyncio.to_thread(self.content.exists, Digest(b[0]))]
        # 1. already there under this repository
        candidates = [(k.digest, k.media_type, k.size) for k in known if k.repository == repo]
        candidates += [b for b in local if self._wanted(b[1]) or not self.opts.compression]
        for digest, mt, size in candidates:
            if not self._wanted(mt):
                continue
            if await self.client.head_blob(digest, self.client.push_scopes()) is not None:
                await self.progress(status("Layer already exists", ident))
                await asyncio.to_thread(self._remember, diff_id, digest, mt, size)
                return Descriptor(_flavour(mt, self.opts.oci), Digest(digest), size)
        # 2. there under another repository: mount
        for k in known:
            if k.repository == repo or not self._wanted(k.media_type):
                continue
            try:
                mounted = await self.client.start_upload(mount=k.digest, mount_from=k.repository)
            except DockwrightError:
                continue
            if mounted is None:
                await self.progress(status(f"Mounted from {k.repository}", ident))
                await asyncio.to_thread(self._remember, diff_id, k.digest, k.media_type, k.size)
                return Descriptor(_flavour(k.media_type, self.opts.oci), Digest(k.digest), k.size)
            # The registry opened an upload session instead: the upload below uses it.
            self._session = mounted
            break
        # 3. a compressed blob we keep: upload as is
        for digest, mt, size in local:
            if self._wanted(mt):
                await self._upload_file(digest, ident, size)
                await self.progress(status("Pushed", ident))
                await asyncio.to_thread(self._remember, diff_id, digest, mt, size)
                return Descriptor(_flavour(mt, self.opts.oci), Digest(digest), size)
        # 4. compress once
        if not local:
            raise NotFound(f"layer {diff_id} has no stored tar to push: re-import or re-pull the image")
        source, _, src_size = local[0]
        digest, size = await self._compress_upload(source, ident, src_size)
        mt = mediatypes.OCI_LAYER_ZSTD if self.opts.compression == "zstd" else mediatypes.DOCKER_LAYER_GZIP
        await self.progress(status("Pushed", ident))
        await asyncio.to_thread(self._remember, diff_id, digest, mt, size)
        return Descriptor(_flavour(mt, self.opts.oci), Digest(digest), size)

    async def config(self, image: ImageRecord) -> Descriptor:
        data = image.config_bytes
        digest = sha256_bytes(data)
        mt = mediatypes.OCI_CONFIG if self.opts.oci else mediatypes.DOCKER_CONFIG
        await self.client.upload_bytes(data, digest)
        return Descriptor(mt, digest, len(data))

    async def push(self, image: ImageRecord, tag: str) -> PushResult:
        diff_ids = [layer.diff_id for layer in image.layers]
        for d in dict.fromkeys(diff_ids):
            await self.progress(status("Preparing", layer_id(d)))
        unique = list(dict.fromkeys(diff_ids))
        tasks = [asyncio.ensure_future(self.layer(d)) for d in unique]
        try:
            descs = await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        by_diff = dict(zip(unique, descs, strict=True))
        config = await self.config(image)
        oci = self.opts.oci or any(d.media_type == mediatypes.OCI_LAYER_ZSTD for d in descs)
        if oci and not self.opts.oci:
            config = Descriptor(mediatypes.OCI_CONFIG, config.digest, config.size)
            layers = [Descriptor(_flavour(by_diff[d].media_type, True), by_diff[d].digest, by_diff[d].size)
                      for d in diff_ids]
        else:
            layers = [by_diff[d] for d in diff_ids]
        mt = mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST
        body = mf.image_manifest_json(mt, config, layers)
        await self.client.put_manifest(tag, body, mt)
        digest = sha256_bytes(body)
        return PushResult(digest, len(body), mt)
