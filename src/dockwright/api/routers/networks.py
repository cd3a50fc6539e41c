"""``/networks/...``: parse, ask the network views, write.

Only the predefined networks exist for now; the write routes answer with
dockerd's refusals for those and say what to use instead of user networks.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from ...daemon.filters import parse_filters
from ...daemon.network_views import LIST_FILTERS
from ..params import json_body, qstr
from ..server import DAEMON_KEY, Routes, json_response


class NetworksBackend(Protocol):
    networks: Any  # .views: NetworkViews


def _views(request: web.Request) -> Any:
    backend: NetworksBackend = request.app[DAEMON_KEY]
    return backend.networks.views


async def list_networks(request: web.Request) -> web.Response:
    f = parse_filters(request.query.get("filters"), LIST_FILTERS)
    return json_response(_views(request).list(f))


async def inspect(request: web.Request) -> web.Response:
    # ``verbose`` adds swarm services and peers, which local networks do not have
    return json_response(_views(request).inspect(request.match_info["id"], qstr(request, "scope")))


async def create(request: web.Request) -> web.Response:
    return json_response(_views(request).create(await json_body(request)), status=201)


async def remove(request: web.Request) -> web.Response:
    _views(request).remove(request.match_info["id"])
    return web.Response(status=204)


async def connect(request: web.Request) -> web.Response:
    _views(request).connect(request.match_info["id"], await json_body(request), connect=True)
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    _views(request).connect(request.match_info["id"], await json_body(request), connect=False)
    return web.Response(status=200)


async def prune(request: web.Request) -> web.Response:
    parse_filters(request.query.get("filters"), ("until", "label", "label!"))
    return json_response({"NetworksDeleted": []})  # predefined networks are never pruned


def register(r: Routes) -> None:
    r.get("/networks", list_networks)
    r.post("/networks/create", create)
    r.post("/networks/prune", prune)
    r.get("/networks/{id}", inspect)
    r.delete("/networks/{id}", remove)
    r.post("/networks/{id}/connect", connect)
    r.post("/networks/{id}/disconnect", disconnect)
