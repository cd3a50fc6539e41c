"""``/v2/<name>/blobs/uploads/[<uuid>]``: start, mount, chunk, status, finish, cancel."""

from __future__ import annotations

import re

from aiohttp import web

from ..auth.base import Access, Anonymous
from ..errcode import BLOB_UPLOAD_INVALID, DIGEST_INVALID, SIZE_INVALID, UNSUPPORTED, RegistryError
from ..names import check_digest, check_name
from ..storage.blobwriter import BlobWriter, new_upload, upload_offset
from .base import Ctx, receive

_CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/\d+|/\*)?$")
ALGORITHMS = ("sha256", "sha512")


def _upload_headers(ctx: Ctx, upload_id: str, offset: int) -> dict[str, str]:
    return {
        "Location": f"/v2/{ctx.name}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(offset - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
        "Content-Length": "0",
    }


def _created(ctx: Ctx, digest: str) -> web.Response:
    return web.Response(
        status=201,
        headers={
            "Location": f"/v2/{ctx.name}/blobs/{digest}",
            "Docker-Content-Digest": digest,
            "Content-Length": "0",
        },
    )


def _content_length(ctx: Ctx) -> int | None:
    raw = ctx.request.headers.get("Content-Length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise RegistryError(SIZE_INVALID, "Content-Length is not an integer") from exc


async def start(ctx: Ctx) -> web.StreamResponse:
    q = ctx.request.query
    mount, src = q.get("mount", ""), q.get("from", "")
    if mount:
        d = check_digest(mount)
        ctx.note(digest=d)
        if src:
            check_name(src)
            other = ctx.state.registry.repository(src)
            if (
                await ctx.may([Access("repository", src, "pull")])
                and await ctx.run(other.blobs.linked, d)
                and await ctx.run(ctx.state.registry.blobs.exists, d)
            ):
                await ctx.run(ctx.repo.blobs.link, d)
                return _created(ctx, d)
        elif isinstance(ctx.state.access, Anonymous) and await ctx.run(ctx.state.registry.blobs.exists, d):
            # Automatic mount: only where every repository is readable anyway, so a
            # digest never becomes a key to a blob of a repository the caller cannot pull.
            await ctx.run(ctx.repo.blobs.link, d)
            return _created(ctx, d)
    alg = q.get("digest-algorithm", "sha256")
    if alg not in ALGORITHMS:
        raise RegistryError(UNSUPPORTED, f"digest algorithm {alg!r} is not supported; use sha256 or sha512")
    digest = q.get("digest", "")
    if digest:
        d = check_digest(digest)
        ctx.note(digest=d)
        upload_id = await ctx.run(new_upload, ctx.repo.driver, ctx.name)
        bw = await ctx.run(
            lambda: BlobWriter(ctx.repo.blobs, upload_id, ctx.repo.hash_states, alg=d.split(":")[0])
        )
        return await _finish(ctx, bw, d, _content_length(ctx))
    upload_id = await ctx.run(new_upload, ctx.repo.driver, ctx.name)
    bw = await ctx.run(lambda: BlobWriter(ctx.repo.blobs, upload_id, ctx.repo.hash_states, alg=alg))
    await ctx.run(bw.close)
    return web.Response(status=202, headers=_upload_headers(ctx, upload_id, 0))


async def _writer(ctx: Ctx, upload_id: str) -> BlobWriter:
    return await ctx.run(BlobWriter, ctx.repo.blobs, upload_id, ctx.repo.hash_states)


def _check_range(ctx: Ctx, bw: BlobWriter, length: int | None) -> None:
    raw = ctx.request.headers.get("Content-Range", "")
    if not raw:
        return
    m = _CONTENT_RANGE_RE.match(raw.strip())
    if not m:
        raise RegistryError(
            BLOB_UPLOAD_INVALID,
            f"invalid Content-Range {raw!r}",
            status=416,
            headers=_upload_headers(ctx, bw.id, bw.offset),
        )
    first, last = int(m.group(1)), int(m.group(2))
    if first != bw.offset or last < first:
        raise RegistryError(
            BLOB_UPLOAD_INVALID,
            f"chunk {first}-{last} is out of order: the upload has {bw.offset} bytes, send from {bw.offset}",
            status=416,
            headers=_upload_headers(ctx, bw.id, bw.offset),
        )
    if length is not None and length != last - first + 1:
        raise RegistryError(SIZE_INVALID, f"Content-Length {length} does not match Content-Range {raw}")


async def patch(ctx: Ctx, uuid: str) -> web.StreamResponse:
    async with ctx.state.upload_lock(uuid):
        bw = await _writer(ctx, uuid)
        length = _content_length(ctx)
        _check_range(ctx, bw, length)
        try:
            got = await receive(ctx, bw)
        finally:
            await ctx.run(bw.close)
        if length is not None and got != length:
            raise RegistryError(
                BLOB_UPLOAD_INVALID,
                f"received {got} of {length} bytes; GET the upload for its offset and resume",
                headers=_upload_headers(ctx, uuid, bw.offset),
            )
        return web.Response(status=202, headers=_upload_headers(ctx, uuid, bw.offset))


async def _finish(ctx: Ctx, bw: BlobWriter, digest: str, length: int | None) -> web.StreamResponse:
    d = check_digest(digest)
    try:
        got = await receive(ctx, bw)
    except BaseException:
        await ctx.run(bw.close)
        raise
    if length is not None and got != length:
        await ctx.run(bw.close)
        raise RegistryError(SIZE_INVALID, f"received {got} of {length} bytes")
    await ctx.run(bw.commit, d)
    ctx.state.upload_locks.pop(bw.id, None)
    return _created(ctx, d)


async def put(ctx: Ctx, uuid: str) -> web.StreamResponse:
    digest = ctx.request.query.get("digest", "")
    if not digest:
        raise RegistryError(DIGEST_INVALID, "the closing PUT needs ?digest=<digest of the whole blob>")
    d = check_digest(digest)
    ctx.note(digest=d)
    async with ctx.state.upload_lock(uuid):
        bw = await _writer(ctx, uuid)
        length = _content_length(ctx)
        if length:
            _check_range(ctx, bw, length)
        return await _finish(ctx, bw, d, length)


async def status(ctx: Ctx, uuid: str) -> web.StreamResponse:
    offset = await ctx.run(upload_offset, ctx.repo.driver, ctx.name, uuid)
    return web.Response(status=204, headers=_upload_headers(ctx, uuid, offset))


async def cancel(ctx: Ctx, uuid: str) -> web.StreamResponse:
    async with ctx.state.upload_lock(uuid):
        bw = await _writer(ctx, uuid)
        await ctx.run(bw.cancel)
    ctx.state.upload_locks.pop(uuid, None)
    return web.Response(status=204, headers={"Content-Length": "0"})
