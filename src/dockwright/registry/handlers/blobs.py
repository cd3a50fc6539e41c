"""``/v2/<name>/blobs/<digest>``: GET and HEAD (with Range), DELETE."""

from __future__ import annotations

import re

from aiohttp import web

from ..errcode import BLOB_UNKNOWN, UNSUPPORTED, RegistryError
from ..names import check_digest
from .base import Ctx

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
READ = 1 << 20


def _range(header: str, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) of a single-range header; ``None`` for the whole blob."""
    if not header:
        return None
    m = _RANGE_RE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise RegistryError(
            BLOB_UNKNOWN, "unsupported Range header", status=416, headers={"Content-Range": f"bytes */{size}"}
        )
    if not m.group(1):
        n = int(m.group(2))
        start, end = max(0, size - n), size - 1
    else:
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if start >= size or end < start:
        raise RegistryError(
            BLOB_UNKNOWN,
            "requested range not satisfiable",
            status=416,
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


async def get(ctx: Ctx, digest: str) -> web.StreamResponse:
    d = check_digest(digest)
    ctx.note(digest=d)
    try:
        size = await ctx.run(ctx.repo.blobs.stat, d)
    except RegistryError:
        if ctx.state.proxy is None:
            raise
        resp: web.StreamResponse = await ctx.state.proxy.serve_blob(ctx, d)
        return resp
    headers = {
        "Docker-Content-Digest": d,
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": f'"{d}"',
        "Cache-Control": "max-age=31536000",
    }
    req = ctx.request
    if req.headers.get("If-None-Match", "").strip('"') == d:
        return web.Response(status=304, headers=headers)
    if req.method == "HEAD":
        headers["Content-Length"] = str(size)
        return web.Response(status=200, headers=headers)
    url = await ctx.run(ctx.state.registry.blobs.redirect_url, req.method, d)
    if url:
        return web.Response(status=307, headers={"Location": url, "Docker-Content-Digest": d})
    local = ctx.state.registry.blobs.local_path(d)
    if local is not None:
        del headers["ETag"]
        return web.FileResponse(local, headers=headers, chunk_size=READ)
    rng = _range(req.headers.get("Range", ""), size)
    start, end = rng if rng else (0, size - 1)
    status = 206 if rng else 200
    if rng:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = end - start + 1 if size else 0
    await resp.prepare(req)
    if size == 0:
        await resp.write_eof()
        return resp
    f = await ctx.run(ctx.state.registry.blobs.open, d, start)
    try:
        remaining = end - start + 1
        while remaining > 0:
            chunk = await ctx.run(f.read, min(READ, remaining))
            if not chunk:
                break
            await resp.write(chunk)
            remaining -= len(chunk)
    finally:
        await ctx.run(f.close)
    await resp.write_eof()
    return resp


async def delete(ctx: Ctx, digest: str) -> web.StreamResponse:
    d = check_digest(digest)
    ctx.note(digest=d)
    if not ctx.state.cfg.delete_enabled:
        raise RegistryError(UNSUPPORTED, "deletion is disabled (storage.delete.enabled is false)")
    await ctx.run(ctx.repo.blobs.unlink, d)
    return web.Response(status=202, headers={"Content-Length": "0"})
