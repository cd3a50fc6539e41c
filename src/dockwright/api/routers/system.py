"""``/_ping``, ``/version``, ``/info``, ``/events``, ``/system/df`` and our ``/dockwright/system/check``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol

from aiohttp import web

from ... import API_VERSION
from ...daemon.events import EVENT_FILTERS, event_matches
from ...daemon.filters import parse_filters, parse_timestamp
from ...errors import InvalidParameter
from ..params import qbool, qlist, qstr
from ..server import DAEMON_KEY, Routes, json_response


class SystemBackend(Protocol):
    system: Any
    events: Any
    events_listeners: int


def _backend(request: web.Request) -> SystemBackend:
    backend: SystemBackend = request.app[DAEMON_KEY]
    return backend


_PING_HEADERS = {
    "API-Version": API_VERSION,
    "Builder-Version": "1",
    "OSType": "linux",
    "Docker-Experimental": "false",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
}


async def ping(request: web.Request) -> web.Response:
    if request.method == "HEAD":
        return web.Response(status=200, headers=_PING_HEADERS | {"Content-Type": "text/plain; charset=utf-8",
                                                                  "Content-Length": "0"})
    return web.Response(text="OK", headers=_PING_HEADERS)


async def version(request: web.Request) -> web.Response:
    return json_response(_backend(request).system.version())


async def info(request: web.Request) -> web.Response:
    return json_response(await _backend(request).system.info())


async def events(request: web.Request) -> web.StreamResponse:
    b = _backend(request)
    f = parse_filters(request.query.get("filters"), EVENT_FILTERS)
    since_raw, until_raw = qstr(request, "since"), qstr(request, "until")
    since = parse_timestamp(since_raw) if since_raw else None
    until = parse_timestamp(until_raw) if until_raw else None
    if since is not None and until is not None and until < since:
        raise InvalidParameter("since time must be before until time")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    q = b.events.subscribe()
    b.events_listeners += 1
    try:
        await resp.prepare(request)
        for ev in b.events.recent(since, until) if since is not None else []:
            if event_matches(ev, f):
                await resp.write((json.dumps(ev) + "\n").encode())
        while True:
            timeout = None
            if until is not None:
                timeout = until - time.time()
                if timeout <= 0:
                    break
            try:
                ev = await asyncio.wait_for(q.get(), timeout=timeout)
            except TimeoutError:
                break
            if until is not None and ev["timeNano"] / 1e9 > until:
                break
            if event_matches(ev, f):
                await resp.write((json.dumps(ev) + "\n").encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        b.events.unsubscribe(q)
        b.events_listeners -= 1
    return resp


async def df(request: web.Request) -> web.Response:
    types = set(qlist(request, "type"))
    bad = types - {"container", "image", "volume", "build-cache"}
    if bad:
        raise InvalidParameter(f"invalid type: {sorted(bad)[0]}")
    return json_response(await _backend(request).system.df(types))


async def check(request: web.Request) -> web.Response:
    remove = request.method == "POST" and qbool(request, "remove")
    return json_response(await _backend(request).system.check(remove))


def register(r: Routes) -> None:
    r.get("/_ping", ping)
    r.head("/_ping", ping)
    r.get("/version", version)
    r.get("/info", info)
    r.get("/events", events)
    r.get("/system/df", df)
    r.get("/dockwright/system/check", check)
    r.post("/dockwright/system/check", check)
