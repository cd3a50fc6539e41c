"""``/v2/<name>/manifests/<reference>``: GET/HEAD with Accept negotiation, PUT, DELETE."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from dockwright.oci import mediatypes as mt

from ..errcode import DIGEST_INVALID, MANIFEST_INVALID, MANIFEST_UNKNOWN, UNSUPPORTED, RegistryError
from ..names import check_digest, check_tag, is_digest
from ..storage.manifests import MAX_MANIFEST, SUPPORTED, digest_of, parse_manifest
from .base import Ctx

KNOWN = SUPPORTED


def accepted(ctx: Ctx) -> set[str]:
    out: set[str] = set()
    for h in ctx.request.headers.getall("Accept", []):
        for part in h.split(","):
            t = part.split(";", 1)[0].strip()
            if t:
                out.add(t)
    return out


def _negotiate(ctx: Ctx, media_type: str, data: bytes, by_tag: bool) -> Any:
    """The child digest to serve instead, ``None`` to serve as is; 404 if nothing fits."""
    acc = accepted(ctx)
    if not acc or media_type in acc or "*/*" in acc or not (acc & KNOWN):
        return None
    if media_type in mt.INDEXES and by_tag:
        doc = json.loads(data)
        for m in doc.get("manifests", []):
            p = m.get("platform") or {}
            if p.get("os") == "linux" and p.get("architecture") == "amd64" and m.get("mediaType") in acc:
                return m["digest"]
    raise RegistryError(
        MANIFEST_UNKNOWN,
        f"the manifest is a {media_type}, which the client does not accept "
        f"(Accept: {', '.join(sorted(acc))})",
    )


async def _resolve(ctx: Ctx, reference: str) -> str:
    if is_digest(reference):
        return check_digest(reference)
    check_tag(reference)
    return await ctx.run(ctx.repo.tags.get, reference)


async def get(ctx: Ctx, reference: str) -> web.StreamResponse:
    by_tag = not is_digest(reference)
    if ctx.state.proxy is not None:
        digest, data, media_type = await ctx.state.proxy.manifest(ctx, reference)
    else:
        digest = await _resolve(ctx, reference)
        data = await ctx.run(ctx.repo.manifests.get, digest)
        media_type = parse_manifest(data).media_type
    child = _negotiate(ctx, media_type, data, by_tag)
    if child is not None:
        digest = check_digest(child)
        data = await ctx.run(ctx.repo.manifests.get, digest)
        media_type = parse_manifest(data).media_type
    ctx.note(digest=digest)
    headers = {
        "Docker-Content-Digest": digest,
        "ETag": f'"{digest}"',
        "Content-Type": media_type,
        "Content-Length": str(len(data)),
    }
    if ctx.request.headers.get("If-None-Match", "").strip('"') == digest:
        return web.Response(status=304, headers=headers)
    if ctx.request.method == "HEAD":
        return web.Response(status=200, headers=headers)
    del headers["Content-Type"], headers["Content-Length"]
    return web.Response(body=data, headers=headers, content_type=media_type)


async def _read_body(ctx: Ctx) -> bytes:
    raw = ctx.request.headers.get("Content-Length")
    if raw and raw.isdigit() and int(raw) > MAX_MANIFEST:
        raise RegistryError(MANIFEST_INVALID, f"manifest is larger than {MAX_MANIFEST} bytes", status=413)
    buf = bytearray()
    while True:
        chunk = await ctx.request.content.readany()
        if not chunk:
            break
        buf += chunk
        if len(buf) > MAX_MANIFEST:
            raise RegistryError(MANIFEST_INVALID, f"manifest is larger than {MAX_MANIFEST} bytes", status=413)
    return bytes(buf)


async def put(ctx: Ctx, reference: str) -> web.StreamResponse:
    tags: list[str] = []
    expected = ""
    if is_digest(reference):
        expected = check_digest(reference)
        tags = [check_tag(t) for t in ctx.request.query.getall("tag", [])]
    else:
        tags = [check_tag(reference)]
    data = await _read_body(ctx)
    if expected and await ctx.run(digest_of, data, expected.split(":")[0]) != expected:
        raise RegistryError(DIGEST_INVALID, f"the manifest's digest is not {expected}", {"digest": expected})
    alg = expected.split(":")[0] if expected else "sha256"
    digest, parsed = await ctx.run(lambda: ctx.repo.manifests.put(data, ctx.request.content_type, alg=alg))
    for t in tags:
        await ctx.run(ctx.repo.tags.tag, t, digest)
    ctx.note(digest=digest)
    headers = {
        "Location": f"/v2/{ctx.name}/manifests/{digest}",
        "Docker-Content-Digest": digest,
        "Content-Length": "0",
    }
    if parsed.subject is not None:
        headers["OCI-Subject"] = parsed.subject
    resp = web.Response(status=201, headers=headers)
    if expected and tags:
        for t in tags:
            resp.headers.add("OCI-Tag", t)
    return resp


async def delete(ctx: Ctx, reference: str) -> web.StreamResponse:
    if not ctx.state.cfg.delete_enabled:
        raise RegistryError(UNSUPPORTED, "deletion is disabled (storage.delete.enabled is false)")
    if is_digest(reference):
        d = check_digest(reference)
        ctx.note(digest=d)
        await ctx.run(ctx.repo.manifests.delete, d)
        for t in await ctx.run(ctx.repo.tags.lookup, d):
            await ctx.run(ctx.repo.tags.untag, t)
    else:
        await ctx.run(ctx.repo.tags.untag, check_tag(reference))
    return web.Response(status=202, headers={"Content-Length": "0"})
