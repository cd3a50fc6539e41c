"""One repository on one registry, over aiohttp: manifests, blobs, uploads.

Shared by pull, push, login and (later) the build cache exporter/importer:
everything registry-specific that is not about images lives here. Each call
carries the scopes it needs; a 401 is answered once by the Authorizer (token
or Basic) and the request retried. Registry error bodies
(``{"errors":[{code,message}]}``) become our error kinds with Docker's words.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp

from ..errors import (
    DockwrightError,
    FailedPrecondition,
    Forbidden,
    InvalidParameter,
    NotFound,
    Unauthorized,
    Unavailable,
)
from ..oci import mediatypes
from ..oci.digest import Digest
from .auth import Authorizer, Credentials, repo_scope
from .resolver import Endpoint

MANIFEST_ACCEPT = ", ".join([
    mediatypes.DOCKER_MANIFEST, mediatypes.DOCKER_MANIFEST_LIST, mediatypes.OCI_MANIFEST, mediatypes.OCI_INDEX,
])


def registry_error(body: bytes) -> tuple[str, str]:
    """(code, message) of a registry error body, or ('', '') when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return "", ""
    errs = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errs, list) and errs and isinstance(errs[0], dict):
        return str(errs[0].get("code", "")), str(errs[0].get("message", ""))
    return "", ""


def connection_error(method: str, url: str, exc: BaseException) -> DockwrightError:
    """Docker's wording for a registry it cannot reach (the CLI shows it verbatim)."""
    verb = method.capitalize()
    msg = str(exc) or exc.__class__.__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_err = exc.os_error
        if isinstance(os_err, ConnectionRefusedError) or "refused" in msg.lower():
            msg = f"dial tcp {exc.host}:{exc.port}: connect: connection refused"
        elif "name" in msg.lower() or "resolve" in msg.lower() or "nodename" in msg.lower():
            msg = f"dial tcp: lookup {exc.host}: no such host"
    return Unavailable(f'{verb} "{url}": {msg}')


class RegistryClient:
    """Speaks OCI distribution to one repository of one endpoint."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: Endpoint, repo: str, creds: Credentials,
                 authorizer: Authorizer | None = None) -> None:
        self.session = session
        self.endpoint = endpoint
        self.repo = repo
        self.auth = authorizer or Authorizer(creds, session, endpoint.ssl_context)

    def url(self, path: str) -> str:
        return f"{self.endpoint.base}/v2/{self.repo}/{path}" if path else f"{self.endpoint.base}/v2/"

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        *,
        scopes: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        data: Any = None,
        retry_auth: bool = True,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        scopes = scopes or (repo_scope(self.repo, "pull"),)
        for attempt in (0, 1):
            h = dict(headers or {})
            auth = self.auth.header(scopes)
            if auth:
                h["Authorization"] = auth
            try:
                cm = self.session.request(method, url, headers=h, data=data, ssl=self.endpoint.ssl_arg(),
                                          timeout=timeout or aiohttp.ClientTimeout(sock_connect=30, sock_read=120))
                resp = await cm.__aenter__()
            except aiohttp.ClientConnectorError as exc:
                raise connection_error(method, url, exc) from exc
            except aiohttp.ClientError as exc:
                raise connection_error(method, url, exc) from exc
            try:
                if resp.status == 401 and attempt == 0 and retry_auth:
                    challenge = resp.headers.get("WWW-Authenticate", "")
                    await resp.read()
                    if challenge and await self.auth.on_unauthorized(challenge, scopes):
                        continue
                yield resp
                return
            finally:
                await cm.__aexit__(None, None, None)

    async def fail(self, resp: aiohttp.ClientResponse, what: str) -> DockwrightError:
        """The error kind for a failed response, Docker's words where clients match on them."""
        body = await resp.read()
        code, msg = registry_error(body)
        detail = f"{code.lower().replace('_', ' ')}: {msg}" if code else (body.decode(errors="replace")[:200]
                                                                         or resp.reason or str(resp.status))
        if resp.status == 401:
            if self.auth.creds.anonymous:
                return Unauthorized(f"{what}: unauthorized: authentication required "
                                    f"(log in with docker login {self.endpoint.domain})")
            return Unauthorized(f"{what}: unauthorized: incorrect username or password ({detail})")
        if resp.status == 403:
            return Forbidden(f"{what}: denied: {msg or 'requested access to the resource is denied'}")
        if resp.status == 404:
            return NotFound(f"{what}: {detail}")
        if resp.status in (400, 416):
            return InvalidParameter(f"{what}: {detail}")
        if resp.status == 429:
            return Unavailable(f"{what}: toomanyrequests: {msg or 'rate limited'}")
        return Unavailable(f"{what}: registry answered {resp.status}: {detail}")

    # -- manifests ------------------------------------------------------------------------
    async def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, Docker-Content-Digest header) of a tag or digest."""
        url = self.url(f"manifests/{reference}")
        async with self.request("GET", url, headers={"Accept": MANIFEST_ACCEPT}) as resp:
            if resp.status != 200:
                raise await self.fail(resp, f"manifest {self.endpoint.domain}/{self.repo}:{reference}")
            body = await resp.read()
            mt = resp.headers.get("Content-Type", "").split(";")[0].strip()
            return body, mt, resp.headers.get("Docker-Content-Digest", "")

    async def head_manifest(self, reference: str) -> tuple[str, int] | None:
        url = self.url(f"manifests/{reference}")
        async with self.request("HEAD", url, headers={"Accept": MANIFEST_ACCEPT}) as resp:
            if resp.status == 404:
                return None
            if resp.status != 200:
                raise await self.fail(resp, f"manifest {reference}")
            return resp.headers.get("Docker-Content-Digest", ""), int(resp.headers.get("Content-Length", "0"))

    async def put_manifest(self, reference: str, body: bytes, media_type: str) -> str:
        url = self.url(f"manifests/{reference}")
        scopes = (repo_scope(self.repo, "pull,push"),)
        async with self.request("PUT", url, scopes=scopes, data=body,
                                headers={"Content-Type": media_type}) as resp:
            if resp.status not in (200, 201, 202):
                raise await self.fail(resp, f"push manifest {reference}")
            return resp.headers.get("Docker-Content-Digest", "")

    async def list_tags(self) -> list[str]:
        """Every tag of the repository, following ``Link: <...>; rel="next"`` pages."""
        url: str | None = self.url("tags/list")
        tags: list[str] = []
        while url:
            async with self.request("GET", url) as resp:
                if resp.status != 200:
                    raise await self.fail(resp, f"tags of {self.endpoint.domain}/{self.repo}")
                try:
                    data = json.loads(await resp.read())
                except ValueError as exc:
                    raise Unavailable(f"tags of {self.repo}: registry sent no JSON") from exc
                tags += [str(t) for t in (data.get("tags") or [])]
                link = resp.headers.get("Link", "")
                url = urljoin(str(resp.url), link[link.index("<") + 1 : link.index(">")]) if (
                    'rel="next"' in link and "<" in link) else None
        return tags

    # -- blobs ----------------------------------------------------------------------------
    async def head_blob(self, digest: str, scopes: tuple[str, ...] = ()) -> int | None:
        """The blob's size if the repository has it."""
        async with self.request("HEAD", self.url(f"blobs/{digest}"), scopes=scopes) as resp:
            if resp.status in (200, 307):
                return int(resp.headers.get("Content-Length", "0") or 0)
            if resp.status == 404:
                return None
            raise await self.fail(resp, f"blob {digest}")

    @asynccontextmanager
    async def open_blob(self, digest: str, offset: int = 0) -> AsyncIterator[aiohttp.ClientResponse]:
        """The blob body from ``offset`` (a 206 when the registry honoured the Range)."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        async with self.request("GET", self.url(f"blobs/{digest}"), headers=headers) as resp:
            if resp.status not in (200, 206):
                raise await self.fail(resp, f"blob {digest}")
            yield resp

    async def fetch_blob_bytes(self, digest: str, limit: int = 32 << 20) -> bytes:
        """A small blob (config, cache metadata), verified by the caller."""
        async with self.open_blob(digest) as resp:
            data = await resp.content.read(limit + 1)
            if len(data) > limit:
                raise InvalidParameter(f"blob {digest} is larger than {limit} bytes")
            return data

    # -- uploads --------------------------------------------------------------------------
    def push_scopes(self, mount_from: str = "") -> tuple[str, ...]:
        s = [repo_scope(self.repo, "pull,push")]
        if mount_from and mount_from != self.repo:
            s.append(repo_scope(mount_from, "pull"))
        return tuple(s)

    async def start_upload(self, mount: str = "", mount_from: str = "") -> str | None:
        """Open an upload session; None when the blob was mounted from ``mount_from``."""
        q = {"mount": mount, "from": mount_from} if mount and mount_from else {}
        url = self.url("blobs/uploads/") + (("?" + urlencode(q)) if q else "")
        async with self.request("POST", url, scopes=self.push_scopes(mount_from),
                                headers={"Content-Length": "0"}) as resp:
            if resp.status == 201 and q:
                return None
            if resp.status != 202:
                raise await self.fail(resp, "start blob upload")
            return self._location(resp)

    def _location(self, resp: aiohttp.ClientResponse) -> str:
        loc = resp.headers.get("Location", "")
        if not loc:
            raise Unavailable("registry answered an upload without a Location header")
        return urljoin(str(resp.url), loc)

    async def patch_upload(self, location: str, body: Any) -> str:
        async with self.request("PATCH", location, scopes=self.push_scopes(), data=body, retry_auth=False,
                                headers={"Content-Type": "application/octet-stream"},
                                timeout=aiohttp.ClientTimeout(sock_connect=30, sock_read=600)) as resp:
            if resp.status not in (202, 204):
                raise await self.fail(resp, "upload blob")
            return self._location(resp)

    async def finish_upload(self, location: str, digest: Digest, body: Any = None) -> None:
        sep = "&" if "?" in location else "?"
        async with self.request("PUT", f"{location}{sep}digest={digest}", scopes=self.push_scopes(),
                                data=body if body is not None else b"", retry_auth=body is None,
                                headers={"Content-Type": "application/octet-stream"}) as resp:
            if resp.status not in (201, 204):
                err = await self.fail(resp, f"commit blob {digest}")
                if resp.status == 400:
                    raise FailedPrecondition(str(err))
                raise err

    async def upload_bytes(self, data: bytes, digest: Digest) -> None:
        """A small blob (config, cache metadata) in one POST + PUT, unless the registry has it."""
        if await self.head_blob(digest, self.push_scopes()) is not None:
            return
        location = await self.start_upload()
        assert location is not None
        await self.finish_upload(location, digest, data)

    async def ping(self, scopes: tuple[str, ...] = ()) -> aiohttp.ClientResponse:
        """GET /v2/ (login): learns the scheme, buys a token when Bearer."""
        async with self.request("GET", self.url(""), scopes=scopes or ("registry:catalog:*",)) as resp:
            await resp.read()
            return resp


async def pick_endpoint(session: aiohttp.ClientSession, candidates: list[Endpoint]) -> Endpoint:
    """The first candidate that answers HTTP at all on ``/v2/`` (any status: 401 is an answer)."""
    if len(candidates) == 1:
        return candidates[0]
    for ep in candidates[:-1]:
        try:
            async with session.get(f"{ep.base}/v2/", ssl=ep.ssl_arg(),
                                   timeout=aiohttp.ClientTimeout(total=10)) as resp:
                await resp.read()
                return ep
        except (TimeoutError, aiohttp.ClientError):
            continue
    return candidates[-1]
