"""``top``, ``stats``, ``archive``, ``changes``, ``export``, ``update`` and ``/commit``: parse, call, write."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from aiohttp import web

from ...daemon.containers import extras
from ...errors import InvalidParameter
from ..params import json_body, qbool, qlist, qstr
from ..server import DAEMON_KEY, Routes, json_response

log = logging.getLogger(__name__)


class ExtrasBackend(Protocol):
    containers: Any


def _svc(request: web.Request) -> Any:
    backend: ExtrasBackend = request.app[DAEMON_KEY]
    return backend.containers


def _id(request: web.Request) -> str:
    return request.match_info["id"]


async def _stream(request: web.Request, chunks: AsyncIterator[bytes], headers: dict[str, str]) -> web.StreamResponse:
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)
    try:
        async for chunk in chunks:
            await resp.write(chunk)
        await resp.write_eof()
    except ConnectionError:
        pass  # the client went away; the producer stops on its next write
    except Exception as exc:  # noqa: BLE001 - after the headers only a cut connection can say it failed
        log.warning("%s %s failed while streaming: %s", request.method, request.path, exc)
        if request.transport is not None:
            request.transport.close()  # no final chunk: the client sees a truncated body, not a good tar
    return resp


async def top(request: web.Request) -> web.Response:
    ps_args = extras.parse_ps_args(qstr(request, "ps_args"))
    return json_response(await extras.top(_svc(request), _id(request), ps_args))


async def stats(request: web.Request) -> web.StreamResponse:
    stream = qbool(request, "stream", True)
    one_shot = qbool(request, "one-shot")
    if one_shot and stream:
        raise InvalidParameter("cannot have stream=true and one-shot=true")
    samples = await extras.stats(_svc(request), _id(request), stream=stream, one_shot=one_shot)
    async with contextlib.aclosing(samples):
        if not stream:
            return json_response(await anext(samples))
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        try:
            async for s in samples:
                await resp.write((json.dumps(s, separators=(",", ":")) + "\n").encode())
        except ConnectionError:
            pass  # the client stopped watching
        return resp


async def archive_head(request: web.Request) -> web.Response:
    from ...daemon.containers.archive import stat_header

    info = await extras.archive_stat(_svc(request), _id(request), qstr(request, "path"))
    return web.Response(status=200, headers={"X-Docker-Container-Path-Stat": stat_header(info),
                                             "Content-Type": "application/x-tar"})


async def archive_get(request: web.Request) -> web.StreamResponse:
    from ...daemon.containers.archive import stat_header

    info, chunks = await extras.archive_get(_svc(request), _id(request), qstr(request, "path"))
    return await _stream(request, chunks, {"Content-Type": "application/x-tar",
                                           "X-Docker-Container-Path-Stat": stat_header(info)})


async def archive_put(request: web.Request) -> web.Response:
    await extras.archive_put(_svc(request), _id(request), qstr(request, "path"), request.content.read,
                             no_overwrite_dir_non_dir=qbool(request, "noOverwriteDirNonDir"),
                             copy_uid_gid=qbool(request, "copyUIDGID"))
    return web.Response(status=200)


async def changes(request: web.Request) -> web.Response:
    return json_response(await extras.changes(_svc(request), _id(request)))


async def export(request: web.Request) -> web.StreamResponse:
    chunks = await extras.export(_svc(request), _id(request))
    return await _stream(request, chunks, {"Content-Type": "application/x-tar"})


async def update(request: web.Request) -> web.Response:
    body = await json_body(request)
    return json_response(await extras.update(_svc(request), _id(request), body))


async def commit(request: web.Request) -> web.Response:
    config = await json_body(request, required=False)
    result = await extras.commit(
        _svc(request), container=qstr(request, "container"), repo=qstr(request, "repo"), tag=qstr(request, "tag"),
        comment=qstr(request, "comment"), author=qstr(request, "author"), pause=qbool(request, "pause", True),
        changes=extras.parse_changes(qlist(request, "changes")), config=config or None,
    )
    return json_response(result, status=201)


def register(r: Routes) -> None:
    r.get("/containers/{id}/top", top)
    r.get("/containers/{id}/stats", stats)
    r.head("/containers/{id}/archive", archive_head)
    r.get("/containers/{id}/archive", archive_get)
    r.put("/containers/{id}/archive", archive_put)
    r.get("/containers/{id}/changes", changes)
    r.get("/containers/{id}/export", export)
    r.post("/containers/{id}/update", update)
    r.post("/commit", commit)
