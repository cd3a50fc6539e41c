"""The Engine API server: aiohttp app, middlewares, route table.

Every route is registered twice, bare and under ``/v{version}``, so
``/v1.47/images/json`` and ``/images/json`` reach the same handler; the
version middleware refuses versions outside what we speak with Docker's
words. Errors of every kind become ``{"message": ...}`` with the status
chosen in ``api.errors``; anything unexpected is a 500 whose message never
shows host paths, and is logged once.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import API_VERSION, MIN_API_VERSION
from .. import log as dwlog
from ..errors import DockwrightError
from .errors import status_for

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DAEMON_KEY: web.AppKey[Any] = web.AppKey("daemon", object)
_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)$")


def _vtuple(v: str) -> tuple[int, int]:
    a, _, b = v.partition(".")
    return int(a), int(b)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(data, separators=(",", ":")) + "\n"
    return web.Response(body=body.encode(), status=status, content_type="application/json", headers=headers)


def error_response(message: str, status: int) -> web.Response:
    return json_response({"message": message}, status=status)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
    token = dwlog.request_id.set(rid)
    start = time.perf_counter()
    status = 500
    try:
        resp = await handler(request)
        status = resp.status
        return resp
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        # at debug level every request leaves one line with its time: where a client's seconds go
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request %s %s status=%d ms=%.1f", request.method, request.path, status,
                      (time.perf_counter() - start) * 1000)
        dwlog.request_id.reset(token)


@web.middleware
async def version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    v = request.match_info.get("version")
    if v:
        m = _VERSION_RE.match(v)
        if not m:
            return error_response("page not found", 404)
        ver = (int(m.group(1)), int(m.group(2)))
        if ver > _vtuple(API_VERSION):
            return error_response(
                f"client version {v[1:]} is too new. Maximum supported API version is {API_VERSION}", 400
            )
        if ver < _vtuple(MIN_API_VERSION):
            return error_response(
                f"client version {v[1:]} is too old. Minimum supported API version is {MIN_API_VERSION}, "
                "please upgrade your client to a newer version",
                400,
            )
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        resp = await handler(request)
    except DockwrightError as exc:
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc)
        return error_response(str(exc), status)
    except web.HTTPNotFound:
        return error_response("page not found", 404)
    except web.HTTPMethodNotAllowed:
        return error_response("method not allowed", 405)
    except web.HTTPException:
        raise
    except (ConnectionResetError, BrokenPipeError):
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return error_response("internal server error: the daemon log has the details", 500)
    return resp


class Routes:
    """Collects handlers and registers each path bare and version-prefixed."""

    def __init__(self) -> None:
        self.table: list[tuple[str, str, Handler]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.table.append((method, path, handler))

    def get(self, path: str, handler: Handler) -> None:
        self.add("GET", path, handler)

    def post(self, path: str, handler: Handler) -> None:
        self.add("POST", path, handler)

    def delete(self, path: str, handler: Handler) -> None:
        self.add("DELETE", path, handler)

    def head(self, path: str, handler: Handler) -> None:
        self.add("HEAD", path, handler)

    def put(self, path: str, handler: Handler) -> None:
        self.add("PUT", path, handler)

    def install(self, app: web.Application) -> None:
        for prefix in ("", "/{version:v[0-9]+\\.[0-9]+}"):
            for method, path, handler in self.table:
                app.router.add_route(method, prefix + path, handler)


def make_app(daemon: Any) -> web.Application:
    from .routers import build, containers, distribution, images, misc, networks, system
    from .routers import container_extras as container_extras_routes

    app = web.Application(
        middlewares=[request_id_middleware, error_middleware, version_middleware],
        client_max_size=1 << 40,
        handler_args={"max_field_size": 1 << 16},
    )
    app[DAEMON_KEY] = daemon
    routes = Routes()
    system.register(routes)
    images.register(routes)
    containers.register(routes)
    misc.register(routes)
    networks.register(routes)
    distribution.register(routes)
    build.register(routes)
    container_extras_routes.register(routes)
    routes.install(app)
    return app
