"""``/images/{name}/push``, ``/images/search``, ``/auth``, ``/distribution/{name}/json``; and the
pull stream.

Progress goes out as JSON lines. Until the first line is written an error is
an ordinary JSON error with its status (unknown tag 404, bad credentials 401);
after it, dockerd's ``{"errorDetail": {"message": ...}, "error": ...}`` line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from ...errors import DockwrightError, InvalidParameter
from ..params import qint, qstr
from ..server import DAEMON_KEY, Routes, json_response

log = logging.getLogger(__name__)


class DistributionBackend(Protocol):
    distribution: Any


def _svc(request: web.Request) -> Any:
    backend: DistributionBackend = request.app[DAEMON_KEY]
    return backend.distribution


class LazyStream:
    """A JSON-lines response that starts with its first message."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.resp: web.StreamResponse | None = None
        self.gone = False

    async def send(self, msg: dict[str, Any]) -> None:
        if self.gone:
            return
        if self.resp is None:
            self.resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await self.resp.prepare(self.request)
        try:
            await self.resp.write((json.dumps(msg) + "\r\n").encode())
        except (ConnectionResetError, RuntimeError):
            self.gone = True

    async def run(self, op: Callable[[Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[Any]]
                  ) -> web.StreamResponse:
        try:
            await op(self.send)
        except DockwrightError as exc:
            if self.resp is None:
                raise
            await self.send({"errorDetail": {"message": str(exc)}, "error": str(exc)})
        except Exception:
            if self.resp is None:
                raise
            # Headers are gone: a bug still ends the stream as an error line, never as a broken body.
            log.exception("%s %s failed after its stream started", self.request.method, self.request.path)
            msg = "internal error: the daemon log has the details"
            await self.send({"errorDetail": {"message": msg}, "error": msg})
        if self.resp is None:
            self.resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await self.resp.prepare(self.request)
        if not self.gone:
            await self.resp.write_eof()
        return self.resp


async def pull(request: web.Request, image: str) -> web.StreamResponse:
    """Called by ``images.create`` for ``fromImage``."""
    svc = _svc(request)
    tag = qstr(request, "tag")
    platform = qstr(request, "platform")
    auth = request.headers.get("X-Registry-Auth")
    return await LazyStream(request).run(lambda send: svc.pull_stream(image, tag, platform, auth, send))


async def push(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    name = request.match_info["name"]
    tag = qstr(request, "tag")
    auth = request.headers.get("X-Registry-Auth")
    compression = qstr(request, "compression") or "gzip"
    oci = qstr(request, "oci") in ("1", "true", "True")
    return await LazyStream(request).run(
        lambda send: svc.push(name, tag, auth, send, compression=compression, oci=oci))


async def auth(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidParameter(f"the /auth body is not valid JSON: {exc}") from exc
    return json_response(await _svc(request).login(body))


async def search(request: web.Request) -> web.Response:
    from ...daemon.filters import parse_filters
    from ...distribution.search import FILTERS

    filters = parse_filters(request.query.get("filters"), FILTERS)
    limit = qint(request, "limit", 0) or 0
    result = await _svc(request).search(qstr(request, "term"), limit, filters, request.headers.get("X-Registry-Auth"))
    return json_response(result)


async def inspect(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return json_response(await _svc(request).inspect_distribution(name, request.headers.get("X-Registry-Auth")))


def register(r: Routes) -> None:
    r.post("/images/{name:.*}/push", push)
    r.get("/images/search", search)
    r.post("/auth", auth)
    r.get("/distribution/{name:.*}/json", inspect)
