"""``POST /build`` (the legacy builder's JSON stream) and ``POST /build/prune``.

Build secrets (``RUN --mount=type=secret``): the legacy endpoint has no
session through which the daemon could ask the client for them, so a client
sends them with the request, in our own header::

    X-Dockwright-Build-Secrets: <base64 of JSON {"<id>": "<base64 of the value>", ...}>

Ids are ``[A-Za-z0-9._-]``, one value is at most 500 KiB, and the whole header
must fit the server's 64 KiB header limit. The daemon holds the values in
memory for the build and shows each to RUN steps on a tmpfs for the step
only; they are never logged, cached, or written to a layer, a config or the
history. ``dockwright build --secret id=ID[,src=PATH|,env=VAR]`` sends it; the
docker CLI's legacy builder cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from ...build.dockerfile.duration import parse_duration
from ...build.secrets import HEADER as SECRETS_HEADER
from ...build.secrets import parse_header as parse_secrets
from ...build.solver import BuildOptions, Emit
from ...daemon.filters import parse_filters
from ...errors import Cancelled, DockwrightError, InvalidParameter, NotImplementedKind
from ..params import qbool, qint, qlist, qstr
from ..server import DAEMON_KEY, Routes, json_response

log = logging.getLogger(__name__)


def _json_map(request: web.Request, name: str) -> dict[str, str]:
    raw = request.query.get(name)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidParameter(f"{name} is not valid JSON: {raw[:80]}") from None
    if not isinstance(data, dict):
        raise InvalidParameter(f"{name} must be a JSON object")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def _json_list(request: web.Request, name: str) -> list[str]:
    raw = request.query.get(name)
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidParameter(f"{name} is not a JSON list") from None
    if not isinstance(data, list):
        raise InvalidParameter(f"{name} is not a JSON list")
    return [str(x) for x in data]


def _options(request: web.Request) -> BuildOptions:
    cache_from = _json_list(request, "cachefrom")
    cache_to = _json_list(request, "cacheto")
    build_args = _json_map(request, "buildargs")
    if build_args.get("BUILDKIT_INLINE_CACHE", "") not in ("", "0", "false"):
        cache_to.append("type=inline")
    hosts = [h for x in qlist(request, "extrahosts") for h in x.split(",") if h]
    return BuildOptions(
        tags=[t for t in request.query.getall("t", []) if t],
        dockerfile=qstr(request, "dockerfile", "Dockerfile") or "Dockerfile",
        build_args=build_args,
        target=qstr(request, "target"),
        nocache=qbool(request, "nocache"),
        no_cache_filter=[x for x in qstr(request, "nocachefilter").split(",") if x],
        cache_from=cache_from,
        cache_to=cache_to,
        labels=_json_map(request, "labels"),
        network=qstr(request, "networkmode", "default") or "default",
        extra_hosts=hosts,
        shm_size=qint(request, "shmsize", 0) or 0,
        memory=qint(request, "memory", 0) or 0,
        quiet=qbool(request, "q"),
        explain=qbool(request, "explain"),
        pull=qbool(request, "pull"),
        registry_auth=_registry_config(request),
        secrets=parse_secrets(request.headers.get(SECRETS_HEADER)),
    )


def _registry_config(request: web.Request) -> dict[str, Any]:
    """``X-Registry-Config``: base64 JSON of registry -> auth config, used when FROM pulls."""
    raw = request.headers.get("X-Registry-Config")
    if not raw:
        return {}
    import base64

    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise InvalidParameter("X-Registry-Config is not base64-encoded JSON") from None
    return data if isinstance(data, dict) else {}


async def build(request: web.Request) -> web.StreamResponse:
    if qstr(request, "version", "1") not in ("", "1"):
        raise InvalidParameter("this daemon has the legacy builder only (Builder-Version 1): build without "
                               "BuildKit (DOCKER_BUILDKIT=0) or with version=1")
    if qstr(request, "remote"):
        raise NotImplementedKind("building from a remote context (git URL or tarball URL) is not supported yet: "
                                 "clone or download it and build the directory")
    platform = qstr(request, "platform")
    if platform and not platform.startswith("linux"):
        raise InvalidParameter(f"platform {platform!r} is not supported: this daemon builds linux images")
    opts = _options(request)
    if opts.network not in ("default", "bridge", "host", "none"):
        raise InvalidParameter(f"network mode {opts.network!r} is not supported for builds: use default, host or "
                               "none")
    svc = request.app[DAEMON_KEY].builds
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    gone = False
    held: list[dict[str, Any]] = []

    async def write(msg: dict[str, Any]) -> None:
        nonlocal gone
        if gone:
            return
        try:
            await resp.write((json.dumps(msg) + "\r\n").encode())
        except (ConnectionResetError, RuntimeError):
            gone = True
            raise Cancelled("the client disconnected: build stopped") from None

    async def emit(msg: dict[str, Any]) -> None:
        if opts.quiet and "aux" not in msg and not str(msg.get("stream", "")).startswith("sha256:"):
            held.append(msg)  # dockerd's -q: the output is only sent when the build fails
            return
        await write(msg)

    async def start() -> Emit:
        await resp.prepare(request)
        return emit

    async def fail(message: str) -> None:
        with contextlib.suppress(Cancelled):
            for m in held:
                await write(m)
            await write({"errorDetail": {"message": message}, "error": message})

    task = asyncio.ensure_future(svc.build(request.content.read, opts, start))
    watch = asyncio.ensure_future(_watch_disconnect(request, task))
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        gone = True  # the client went away: the build stopped, its finished steps stay cached
    except DockwrightError as exc:
        if not resp.prepared:
            raise
        await fail(str(exc))
    except Exception:
        if not resp.prepared:
            raise
        log.exception("build failed after its stream started")
        await fail("internal error: the daemon log has the details")
    finally:
        watch.cancel()
    if not gone:
        await resp.write_eof()
    return resp


async def _watch_disconnect(request: web.Request, task: asyncio.Future[Any]) -> None:
    """aiohttp does not cancel a handler whose client left; a build must not run on for nobody."""
    while not task.done():
        await asyncio.sleep(0.5)
        transport = request.transport
        if transport is None or transport.is_closing():
            task.cancel()
            return


async def prune(request: web.Request) -> web.Response:
    f = parse_filters(request.query.get("filters"), ("until", "id", "parent", "type", "description", "inuse",
                                                     "shared", "private", "unused-for", "unused_for", "label",
                                                     "label!"))
    until: float | None = None
    for name in ("until", "unused-for", "unused_for"):
        for v in f.get(name, []) if hasattr(f, "get") else []:
            until = _age(v)
    keep = qint(request, "keep-storage", 0) or 0
    result = await request.app[DAEMON_KEY].builds.prune(qbool(request, "all"), until, keep,
                                                        labels=f.get("label", []))
    return json_response(result)


def _age(value: str) -> float:
    """``until``: a duration (``24h``), a Unix time or an RFC 3339 time, as an age in seconds."""
    import time

    from ...images.imageconfig import parse_created

    if value.replace(".", "").isdigit():
        return time.time() - float(value)
    try:
        return parse_duration(value) / 1e9
    except ValueError:
        pass
    ts = parse_created(value)
    if not ts:
        raise InvalidParameter(f"invalid until filter {value!r}: use a duration (24h) or a timestamp")
    return time.time() - ts


def register(r: Routes) -> None:
    r.post("/build", build)
    r.post("/build/prune", prune)
