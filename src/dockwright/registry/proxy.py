"""Pull-through cache of a remote registry (registry:2's ``proxy`` mode).

Manifests by tag are re-checked upstream once their local copy is older than
``ttl`` (the tag link's mtime is the fetch time); when the remote is down, the
cached copy is served. Manifests by digest and blobs never change, so a local
copy is final. A blob missing locally is streamed to the client while it is
written to an upload session, and committed only if its digest verifies.
Pushes and deletes are refused (the dispatcher does that).
"""

from __future__ import annotations

import base64
import re
import time

import aiohttp
from aiohttp import web

from .config import ProxyConfig
from .errcode import BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN, UNAVAILABLE, RegistryError
from .handlers.base import Ctx
from .names import check_digest, check_tag, is_digest
from .storage import paths
from .storage.blobwriter import BlobWriter, new_upload
from .storage.driver.base import PathNotFound
from .storage.manifests import SUPPORTED, digest_of, parse_manifest

_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')
READ = 1 << 20


class Proxy:
    def __init__(self, cfg: ProxyConfig) -> None:
        self.cfg = cfg
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[str, tuple[str, float]] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _basic(self) -> str:
        raw = f"{self.cfg.username}:{self.cfg.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    async def _authorize(self, repo: str, challenge: str) -> str:
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() == "basic":
            return self._basic()
        params = dict(_PARAM_RE.findall(rest))
        query = {"service": params.get("service", ""), "scope": f"repository:{repo}:pull"}
        headers = {"Authorization": self._basic()} if self.cfg.username else {}
        async with self._client().get(params.get("realm", ""), params=query, headers=headers) as r:
            if r.status != 200:
                raise RegistryError(UNAVAILABLE, f"upstream token service answered {r.status}")
            body = await r.json(content_type=None)
        token = str(body.get("token") or body.get("access_token") or "")
        expires = time.time() + float(body.get("expires_in") or 60) - 10
        self._tokens[repo] = (f"Bearer {token}", expires)
        return f"Bearer {token}"

    async def request(
        self, method: str, repo: str, path: str, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        """A request upstream, answering one auth challenge; the caller releases the response."""
        hdrs = dict(headers or {})
        tok = self._tokens.get(repo)
        if tok and tok[1] > time.time():
            hdrs["Authorization"] = tok[0]
        url = f"{self.cfg.remoteurl}{path}"
        try:
            r = await self._client().request(method, url, headers=hdrs, allow_redirects=True)
            if r.status == 401 and "WWW-Authenticate" in r.headers:
                challenge = r.headers["WWW-Authenticate"]
                r.release()
                hdrs["Authorization"] = await self._authorize(repo, challenge)
                r = await self._client().request(method, url, headers=hdrs, allow_redirects=True)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RegistryError(UNAVAILABLE, f"upstream registry unreachable: {exc}") from exc
        return r

    async def manifest(self, ctx: Ctx, reference: str) -> tuple[str, bytes, str]:
        repo = ctx.repo
        if is_digest(reference):
            d = check_digest(reference)
            if await ctx.run(repo.manifests.exists, d):
                data = await ctx.run(repo.manifests.get, d)
                return d, data, parse_manifest(data).media_type
            return await self._fetch_manifest(ctx, d, d)
        tag = check_tag(reference)
        try:
            info = await ctx.run(repo.driver.stat, paths.tag_current(ctx.name, tag))
            fresh = time.time() - info.mod_time < self.cfg.ttl
        except PathNotFound:
            info, fresh = None, False
        if fresh:
            d = await ctx.run(repo.tags.get, tag)
            data = await ctx.run(repo.manifests.get, d)
            return d, data, parse_manifest(data).media_type
        try:
            return await self._fetch_manifest(ctx, tag, None)
        except RegistryError as err:
            if info is None or err.code is MANIFEST_UNKNOWN:
                raise
            d = await ctx.run(repo.tags.get, tag)  # upstream down: serve the stale copy
            data = await ctx.run(repo.manifests.get, d)
            return d, data, parse_manifest(data).media_type

    async def _fetch_manifest(self, ctx: Ctx, reference: str, digest: str | None) -> tuple[str, bytes, str]:
        accept = ", ".join(sorted(SUPPORTED))
        r = await self.request("GET", ctx.name, f"/v2/{ctx.name}/manifests/{reference}", {"Accept": accept})
        try:
            if r.status == 404:
                raise RegistryError(MANIFEST_UNKNOWN, f"upstream has no manifest {ctx.name}:{reference}")
            if r.status != 200:
                raise RegistryError(UNAVAILABLE, f"upstream answered {r.status} for manifest {reference}")
            data = await r.read()
            ctype = r.headers.get("Content-Type", "")
        finally:
            r.release()
        alg = digest.split(":")[0] if digest else "sha256"
        actual = digest_of(data, alg)
        if digest and actual != digest:
            raise RegistryError(UNAVAILABLE, f"upstream sent a manifest whose digest is not {digest}")
        d, parsed = await ctx.run(lambda: ctx.repo.manifests.put(data, ctype, alg=alg, verify=False))
        if digest is None:
            await ctx.run(ctx.repo.tags.tag, reference, d)
        return d, data, parsed.media_type

    async def tags(self, ctx: Ctx) -> list[str]:
        out: list[str] = []
        path: str | None = f"/v2/{ctx.name}/tags/list"
        try:
            while path:
                r = await self.request("GET", ctx.name, path)
                try:
                    if r.status == 404:
                        raise RegistryError(NAME_UNKNOWN, f"upstream has no repository {ctx.name}")
                    if r.status != 200:
                        raise RegistryError(UNAVAILABLE, f"upstream answered {r.status} for the tag list")
                    body = await r.json(content_type=None)
                    link = r.headers.get("Link", "")
                finally:
                    r.release()
                out += [str(t) for t in body.get("tags") or []]
                m = re.match(r"<([^>]+)>", link)
                path = m.group(1) if m else None
        except RegistryError as err:
            if err.code is NAME_UNKNOWN or not await ctx.run(ctx.repo.exists):
                raise
            return await ctx.run(ctx.repo.tags.all)
        return out

    async def serve_blob(self, ctx: Ctx, digest: str) -> web.StreamResponse:
        req = ctx.request
        r = await self.request(req.method, ctx.name, f"/v2/{ctx.name}/blobs/{digest}")
        try:
            if r.status == 404:
                raise RegistryError(BLOB_UNKNOWN, detail={"digest": digest})
            if r.status != 200:
                raise RegistryError(UNAVAILABLE, f"upstream answered {r.status} for blob {digest}")
            headers = {"Docker-Content-Digest": digest, "Content-Type": "application/octet-stream"}
            length = r.headers.get("Content-Length")
            if req.method == "HEAD":
                if length:
                    headers["Content-Length"] = length
                return web.Response(status=200, headers=headers)
            resp = web.StreamResponse(status=200, headers=headers)
            if length and length.isdigit():
                resp.content_length = int(length)
            upload_id = await ctx.run(new_upload, ctx.repo.driver, ctx.name)
            bw = await ctx.run(
                lambda: BlobWriter(ctx.repo.blobs, upload_id, ctx.repo.hash_states, alg=digest.split(":")[0])
            )
            await resp.prepare(req)
            ok = False
            try:
                async for chunk in r.content.iter_chunked(READ):
                    await resp.write(chunk)
                    await ctx.run(bw.write, chunk)
                ok = True
            finally:
                if ok:
                    try:
                        await ctx.run(bw.commit, check_digest(digest))
                    except RegistryError:
                        await ctx.run(bw.cancel)
                else:
                    await ctx.run(bw.close)
                    try:
                        await ctx.run(bw.cancel)
                    except RegistryError:
                        pass
            await resp.write_eof()
            return resp
        finally:
            r.release()
