"""Registry operations behind ``/images/create?fromImage``, ``/images/{name}/push``,
``/auth`` and ``/distribution/{name}/json``.

Credentials arrive per request (``X-Registry-Auth`` or the ``/auth`` body) and
are never stored by the daemon. Each operation opens its own HTTP session (so
nothing outlives the request) and holds a lease while it writes blobs and
snapshots that no image row references yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp

from ..distribution import fetch, search
from ..distribution import manifest as mf
from ..distribution.auth import ANONYMOUS, Credentials, creds_from_json, parse_registry_auth
from ..distribution.client import RegistryClient, pick_endpoint
from ..distribution.progress import Progress, status
from ..distribution.push import Pusher, PushOptions
from ..distribution.pushed import BlobSums, PushedBlob
from ..distribution.resolver import Endpoint, Resolver, login_domain
from ..distribution.xfer import Deduper
from ..errors import DockwrightError, InvalidParameter, NotFound, Unauthorized
from ..oci import mediatypes
from ..oci.digest import Digest
from ..oci.reference import Reference, ReferenceError, parse_reference

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)


def image_reference(image: str, tag: str = "") -> Reference:
    """``fromImage`` + ``tag`` as dockerd combines them (a digest may come in ``tag``)."""
    try:
        ref = parse_reference(image, default_tag=False)
        if tag:
            if ref.tag or ref.digest:
                raise InvalidParameter(f"both a tag in {image!r} and tag={tag!r} were given")
            ref = parse_reference(f"{image}@{tag}" if tag.startswith("sha256:") else f"{image}:{tag}")
        elif not ref.tag and not ref.digest:
            ref = ref.with_tag("latest")
    except ReferenceError as exc:
        raise InvalidParameter(str(exc)) from exc
    return ref


class DistributionService:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        cfg = daemon.config
        self.resolver = Resolver(cfg.registry_mirrors, cfg.insecure_registries)
        self.max_downloads = max(1, int(cfg.max_concurrent_downloads or 3))
        self.max_uploads = max(1, int(cfg.max_concurrent_uploads or 5))
        self.sums = BlobSums(daemon.root / "distribution" / "blobsums.json")
        self.dedupe: Deduper[str] = Deduper()
        self._downloads: asyncio.Semaphore | None = None
        self._uploads: asyncio.Semaphore | None = None
        self._picked: dict[str, tuple[Endpoint, float]] = {}

    def _stores(self) -> fetch.PullStores:
        return fetch.PullStores(self.d.image_store, self.d.content, self.d.snapshotter)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[aiohttp.ClientSession]:
        connector = aiohttp.TCPConnector(limit=32, limit_per_host=16)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            yield session

    async def _endpoint(self, session: aiohttp.ClientSession, domain: str) -> Endpoint:
        """The registry's endpoint; for insecure ones whether it speaks TLS is probed once a minute."""
        candidates = self.resolver.candidates(domain)
        if len(candidates) == 1:
            return candidates[0]
        cached = self._picked.get(domain)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        ep = await pick_endpoint(session, candidates)
        self._picked[domain] = (ep, time.monotonic() + 60)
        return ep

    @asynccontextmanager
    async def repository(self, name: str, auth: str | None = None) -> AsyncIterator[RegistryClient]:
        """A client for one repository, for callers beyond pull and push (the build cache's
        registry exporter/importer): manifests, blobs and uploads with auth already handled."""
        try:
            ref = parse_reference(name, default_tag=False)
        except ReferenceError as exc:
            raise InvalidParameter(str(exc)) from exc
        creds, _ = parse_registry_auth(auth)
        async with self._session() as session:
            yield RegistryClient(session, await self._endpoint(session, ref.domain), ref.path, creds)

    def _download_sem(self) -> asyncio.Semaphore:
        if self._downloads is None:
            self._downloads = asyncio.Semaphore(self.max_downloads)
        return self._downloads

    def _upload_sem(self) -> asyncio.Semaphore:
        if self._uploads is None:
            self._uploads = asyncio.Semaphore(self.max_uploads)
        return self._uploads

    # -- pull ----------------------------------------------------------------------------------
    async def pull(self, image: str, tag: str, platform: str, auth: str | None, progress: Progress) -> str:
        """Pull ``image[:tag]``; nothing is sent to ``progress`` before the manifest resolved."""
        ref = image_reference(image, tag)
        creds, _ = parse_registry_auth(auth)
        plat = mf.parse_platform(platform)
        async with self._session() as session:
            endpoints = [*self.resolver.mirrors_for(ref.domain), await self._endpoint(session, ref.domain)]
            resolved = None
            client: RegistryClient | None = None
            for i, ep in enumerate(endpoints):
                client = RegistryClient(session, ep, ref.path, ANONYMOUS if ep.mirror else creds)
                try:
                    resolved = await fetch.resolve(client, ref, plat)
                    break
                except DockwrightError as exc:
                    if i == len(endpoints) - 1:
                        raise self._pull_error(ref, exc) from exc
                    log.info("mirror %s failed for %s: %s", ep.base, ref, exc)
            assert resolved is not None and client is not None
            await progress(status(f"Pulling from {ref.path}", ref.digest or ref.tag))
            image_id = await self._pull_resolved(client, ref, resolved, progress)
        await progress(status(f"Digest: {resolved.top_digest}"))
        return image_id

    def _pull_error(self, ref: Reference, exc: DockwrightError) -> DockwrightError:
        if isinstance(exc, NotFound) and "manifest unknown" in str(exc):
            name = ref.familiar()
            return NotFound(f"manifest for {name} not found: manifest unknown: manifest unknown")
        if isinstance(exc, NotFound) and "name unknown" in str(exc):
            return NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist or may "
                            f"require 'docker login': {exc}")
        return exc

    async def _pull_resolved(self, client: RegistryClient, ref: Reference, resolved: fetch.Resolved,
                             progress: Progress) -> str:
        stores = self._stores()
        store = self.d.image_store
        with self.d.leases.hold() as lease:
            config = await fetch.fetch_config(client, stores, resolved.manifest.config, lease)
            image_id = resolved.manifest.config.digest
            fetcher = fetch.LayerFetcher(stores, client, lease, self.dedupe, self._download_sem(), progress)
            layers = await fetch.pull_layers(fetcher, resolved, config)

            def finish() -> None:
                # The manifest the RepoDigest names is kept (GC keeps it through manifest_digest).
                lease.blobs.add(resolved.top_digest)
                self.d.content.put_bytes(resolved.top_body)
                cfg = json.loads(config)
                refs = [ref.with_digest(resolved.top_digest)]
                if ref.tag:
                    refs.insert(0, ref)
                store.add(
                    image_id, layers, created=str(cfg.get("created") or ""), source="pull",
                    manifest_digest=resolved.top_digest, manifest_media_type=resolved.top_media_type, refs=refs,
                )
                for desc, layer in zip(resolved.manifest.layers, layers, strict=False):
                    self.sums.add(ref.domain, layer.diff_id,
                                  PushedBlob(desc.digest, desc.media_type, desc.size, ref.path))

            await fetch.in_thread(finish)
        self.d.events.publish("image", "pull", ref.familiar(), {"name": ref.familiar()})
        return image_id

    async def pull_stream(self, image: str, tag: str, platform: str, auth: str | None,
                          progress: Progress) -> None:
        """``pull`` plus dockerd's closing status line; no tag anywhere means every tag (the API's rule)."""
        if not tag and "@" not in image and ":" not in image.rsplit("/", 1)[-1]:
            await self._pull_all_tags(image, platform, auth, progress)
            return
        ref = image_reference(image, tag)
        store = self.d.image_store
        before = await asyncio.to_thread(store.image_for_ref, ref)
        image_id = await self.pull(image, tag, platform, auth, progress)
        if before == image_id:
            await progress(status(f"Status: Image is up to date for {ref.familiar()}"))
        else:
            await progress(status(f"Status: Downloaded newer image for {ref.familiar()}"))

    async def _pull_all_tags(self, image: str, platform: str, auth: str | None, progress: Progress) -> None:
        repo = image_reference(image, "latest").repo()
        creds, _ = parse_registry_auth(auth)
        async with self._session() as session:
            client = RegistryClient(session, await self._endpoint(session, repo.domain), repo.path, creds)
            tags = await client.list_tags()
        if not tags:
            raise NotFound(f"no tags found for {repo.familiar_name}")
        store = self.d.image_store
        changed = False
        for t in sorted(tags):
            ref = repo.with_tag(t)
            before = await asyncio.to_thread(store.image_for_ref, ref)
            image_id = await self.pull(str(ref), "", platform, auth, progress)
            changed = changed or before != image_id
        word = "Downloaded newer image" if changed else "Image is up to date"
        await progress(status(f"Status: {word} for {repo.familiar_name}"))

    # -- push ----------------------------------------------------------------------------------
    async def push(self, name: str, tag: str, auth: str | None, progress: Progress,
                   *, compression: str = "gzip", oci: bool = False) -> dict[str, Any]:
        try:
            repo = parse_reference(name, default_tag=False)
        except ReferenceError as exc:
            raise InvalidParameter(str(exc)) from exc
        if repo.digest:
            raise InvalidParameter("cannot push a digest reference")
        if compression not in ("gzip", "zstd"):
            raise InvalidParameter(f"unsupported compression {compression!r}: use gzip or zstd")
        tags = [tag or repo.tag] if (tag or repo.tag) else self._tags_of(repo)
        if not tags:
            raise NotFound(f"An image does not exist locally with the tag: {repo.familiar_name}")
        creds, _ = parse_registry_auth(auth)
        store = self.d.image_store
        images = []
        for t in tags:
            try:
                images.append((t, await asyncio.to_thread(store.get, str(repo.with_tag(t)))))
            except NotFound as exc:
                raise NotFound(f"An image does not exist locally with the tag: {repo.familiar_name}") from exc
        last: dict[str, Any] = {}
        async with self._session() as session:
            ep = await self._endpoint(session, repo.domain)
            client = RegistryClient(session, ep, repo.path, creds)
            await progress(status(f"The push refers to repository [{repo.name}]"))
            for t, img in images:
                pusher = Pusher(client, store, self.d.content, self.sums, self._upload_sem(), progress,
                                PushOptions(compression=compression, oci=oci))
                result = await pusher.push(img, t)
                await progress(status(f"{t}: digest: {result.digest} size: {result.size}"))
                last = {"Tag": t, "Digest": result.digest, "Size": result.size}
                await progress({"progressDetail": {}, "aux": last})

                with contextlib.suppress(NotFound):  # removed meanwhile: nothing to record
                    await asyncio.to_thread(store.tag, img.id, repo.with_digest(result.digest))
                self.d.events.publish("image", "push", repo.with_tag(t).familiar(),
                                      {"name": repo.with_tag(t).familiar()})
        return last

    def _tags_of(self, repo: Reference) -> list[str]:
        out = []
        for img in self.d.image_store.all():
            for r in img.refs:
                pr = parse_reference(r)
                if pr.name == repo.name and pr.tag:
                    out.append(pr.tag)
        return sorted(out)

    # -- login ---------------------------------------------------------------------------------
    async def login(self, authconfig: dict[str, Any]) -> dict[str, str]:
        if not isinstance(authconfig, dict):
            raise InvalidParameter("the /auth body must be a JSON object")
        creds = creds_from_json(authconfig)
        server = str(authconfig.get("serveraddress") or authconfig.get("ServerAddress") or "")
        domain = login_domain(server)
        async with self._session() as session:
            ep = await self._endpoint(session, domain)
            client = RegistryClient(session, ep, "", creds)
            try:
                resp = await client.ping()
            except Unauthorized as exc:
                raise Unauthorized(f"login attempt to {ep.base}/v2/ failed: {exc}") from exc
            if resp.status == 401:
                raise Unauthorized(f"login attempt to {ep.base}/v2/ failed with status: 401 Unauthorized "
                                   "(wrong username or password?)")
            if resp.status != 200:
                raise Unauthorized(f"login attempt to {ep.base}/v2/ failed with status: {resp.status} "
                                   f"{resp.reason or ''}".rstrip())
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    # -- search --------------------------------------------------------------------------------
    async def search(self, term: str, limit: int, filters: dict[str, list[str]], auth: str | None
                     ) -> list[dict[str, Any]]:
        """``GET /images/search``: the registry the term names, asked on its v1 search endpoint."""
        if not term:
            raise InvalidParameter("a search term is required")
        n = search.check_limit(limit)
        search.apply_filters([], filters)  # bad filter values fail before the registry is asked
        domain, what = search.split_term(term)
        creds, _ = parse_registry_auth(auth)
        async with self._session() as session:
            ep = await self._endpoint(session, domain)
            results = await search.query(session, ep, creds, what, n)
        return search.apply_filters(results, filters)

    # -- inspect -------------------------------------------------------------------------------
    async def inspect_distribution(self, name: str, auth: str | None) -> dict[str, Any]:
        ref = image_reference(name)
        async with self.repository(ref.name, auth) as client:
            body, header_mt, _ = await client.get_manifest(ref.digest or ref.tag)
            digest = fetch._verify(body, ref.digest, f"manifest {ref}")
            mt = mf.media_type_of(body, header_mt)
            platforms: list[dict[str, Any]] = []
            if mt in mediatypes.INDEXES:
                platforms = [d.platform.to_json() for d in mf.parse_index(body) if d.platform is not None]
            else:
                m = mf.parse_manifest(body, mt)
                cfg = json.loads(await client.fetch_blob_bytes(m.config.digest))
                p = {"architecture": cfg.get("architecture", ""), "os": cfg.get("os", "")}
                if cfg.get("variant"):
                    p["variant"] = cfg["variant"]
                platforms = [p]
        return {"Descriptor": {"mediaType": mt, "digest": Digest(digest), "size": len(body)},
                "Platforms": platforms}


__all__ = ["Credentials", "DistributionService", "image_reference"]
