"""``/images/...``: thin handlers that parse, call one ImageService method, write."""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from ...daemon.filters import parse_filters
from ...daemon.images import IMAGE_LIST_FILTERS, IMAGE_PRUNE_FILTERS
from ...errors import DataLoss, DockwrightError, InvalidParameter, NotImplementedKind
from ..params import qbool, qlist, qstr
from ..server import DAEMON_KEY, Routes, json_response


class ImagesBackend(Protocol):
    images: Any


def _svc(request: web.Request) -> Any:
    backend: ImagesBackend = request.app[DAEMON_KEY]
    return backend.images


async def list_images(request: web.Request) -> web.Response:
    f = parse_filters(request.query.get("filters"), IMAGE_LIST_FILTERS)
    if "filter" in request.query and request.query["filter"]:
        f.setdefault("reference", []).append(request.query["filter"])
    result = await _svc(request).list_images(qbool(request, "all"), f, qbool(request, "shared-size"))
    return json_response(result)


async def inspect(request: web.Request) -> web.Response:
    return json_response(await _svc(request).inspect(request.match_info["name"]))


async def history(request: web.Request) -> web.Response:
    return json_response(await _svc(request).history(request.match_info["name"]))


async def tag(request: web.Request) -> web.Response:
    await _svc(request).tag(request.match_info["name"], qstr(request, "repo"), qstr(request, "tag"))
    return web.Response(status=201)


async def remove(request: web.Request) -> web.Response:
    result = await _svc(request).remove(
        request.match_info["name"], qbool(request, "force"), not qbool(request, "noprune")
    )
    return json_response(result)


async def _stream_json(request: web.Request, messages: list[dict[str, Any]]) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    for m in messages:
        await resp.write((json.dumps(m) + "\n").encode())
    await resp.write_eof()
    return resp


async def create(request: web.Request) -> web.StreamResponse:
    from_src = request.query.get("fromSrc")
    from_image = request.query.get("fromImage")
    if from_src is None and not from_image:
        raise InvalidParameter("either fromSrc or fromImage must be given")
    if from_image:
        from .distribution import pull

        return await pull(request, from_image)
    if from_src != "-":
        raise NotImplementedKind(f"importing from a URL ({from_src}) is not supported yet; pipe the file instead")
    changes = qlist(request, "changes")
    svc = _svc(request)
    # Errors before the first byte of output are plain JSON errors; after it, errorDetail lines.
    image_id = await svc.import_image(
        request.content.read,
        repo=qstr(request, "repo"),
        tag=qstr(request, "tag"),
        message=qstr(request, "message"),
        changes=changes,
        source=from_src,
        platform=qstr(request, "platform"),
    )
    return await _stream_json(request, [{"status": image_id}])


async def load(request: web.Request) -> web.StreamResponse:
    quiet = qbool(request, "quiet")
    svc = _svc(request)
    try:
        messages = await svc.load(request.content.read)
    except (InvalidParameter, DataLoss) as exc:
        # an archive that does not load is reported in the stream, with 200, as dockerd does
        # (the docker SDK raises ImageLoadError only from there); nothing of it was stored
        messages = [{"errorDetail": {"message": str(exc)}, "error": str(exc)}]
    if quiet:
        messages = [m for m in messages if "Loaded image" in m.get("stream", "") or "error" in m]
    return await _stream_json(request, messages)


async def _save(request: web.Request, names: list[str]) -> web.StreamResponse:
    chunks = await _svc(request).save(names)
    resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
    await resp.prepare(request)
    try:
        async for chunk in chunks:
            await resp.write(chunk)
    except DockwrightError:
        # Headers are gone already: cutting the stream is the only way to say the tar is bad.
        if request.transport is not None:
            request.transport.close()
        return resp
    await resp.write_eof()
    return resp


async def save_one(request: web.Request) -> web.StreamResponse:
    return await _save(request, [request.match_info["name"]])


async def save_many(request: web.Request) -> web.StreamResponse:
    return await _save(request, qlist(request, "names"))


async def prune(request: web.Request) -> web.Response:
    f = parse_filters(request.query.get("filters"), IMAGE_PRUNE_FILTERS)
    return json_response(await _svc(request).prune(f))


def register(r: Routes) -> None:
    r.get("/images/json", list_images)
    r.post("/images/create", create)
    r.post("/images/load", load)
    r.get("/images/get", save_many)
    r.post("/images/prune", prune)
    r.get("/images/{name:.*}/json", inspect)
    r.get("/images/{name:.*}/history", history)
    r.get("/images/{name:.*}/get", save_one)
    r.post("/images/{name:.*}/tag", tag)
    r.delete("/images/{name:.*}", remove)
