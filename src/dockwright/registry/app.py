"""The registry's aiohttp application: route table, auth, errors, logs, metrics.

Routing is one regex table (repository names contain slashes, so aiohttp's
placeholders do not fit); each entry maps methods to handlers and names the
route for metrics and logs. The dispatcher validates the repository name,
refuses writes in read-only or proxy mode, asks the access controller for the
accesses the method needs, and turns every error into the spec's body; it is
the only place a status is picked for a failure.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from dockwright.errors import DockwrightError, NotFound

from .auth.base import Access, AccessController, Anonymous
from .config import Config, make_driver
from .errcode import NAME_UNKNOWN, UNKNOWN, UNSUPPORTED, RegistryError
from .handlers import blobs, manifests, referrers, search, tags, uploads
from .handlers.base import NOTES, STATE, Ctx, State, json_response
from .metrics import Metrics
from .names import check_name
from .storage.registry import Registry

log = logging.getLogger("dockwright.registry")
access_log = logging.getLogger("dockwright.registry.access")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

Handler = Callable[..., Awaitable[web.StreamResponse]]
API_VERSION = "registry/2.0"
WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})

ROUTES: list[tuple[re.Pattern[str], str, dict[str, Handler]]] = [
    (re.compile(r"^/v2/(?P<name>.+)/tags/list$"), "tags", {"GET": tags.list_tags}),
    (
        re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$"),
        "manifest",
        {"GET": manifests.get, "HEAD": manifests.get, "PUT": manifests.put, "DELETE": manifests.delete},
    ),
    (re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?$"), "blob_upload", {"POST": uploads.start}),
    (
        re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<uuid>[^/]+)$"),
        "blob_upload_chunk",
        {"GET": uploads.status, "PATCH": uploads.patch, "PUT": uploads.put, "DELETE": uploads.cancel},
    ),
    (
        re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$"),
        "blob",
        {"GET": blobs.get, "HEAD": blobs.get, "DELETE": blobs.delete},
    ),
    (re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)$"), "referrers", {"GET": referrers.get}),
]


def _accesses(name: str, method: str) -> list[Access]:
    if method in ("GET", "HEAD"):
        return [Access("repository", name, "pull")]
    if method == "DELETE":
        return [Access("repository", name, "delete")]
    return [Access("repository", name, "pull"), Access("repository", name, "push")]


def error_response(err: RegistryError, request: web.Request) -> web.Response:
    body = b"" if request.method == "HEAD" else err.body()
    resp = web.Response(status=err.status, body=body, content_type="application/json", headers=err.headers)
    return resp


async def dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    path = request.raw_path.split("?", 1)[0]
    if path in ("/v2", "/v2/"):
        return await _base(request, state)
    if path == "/v2/_catalog":
        request[NOTES]["route"] = "catalog"
        await _authorize(request, state, [Access("registry", "catalog", "*")])
        return await tags.catalog(Ctx(request, state))
    if path == "/v1/search":
        request[NOTES]["route"] = "search"
        if request.method not in ("GET", "HEAD"):
            raise RegistryError(UNSUPPORTED, f"{request.method} is not supported on search", headers={"Allow": "GET"})
        await _authorize(request, state, [Access("registry", "catalog", "*")])
        return await search.search(Ctx(request, state))
    for rx, route, methods in ROUTES:
        m = rx.match(path)
        if not m:
            continue
        request[NOTES]["route"] = route
        handler = methods.get(request.method)
        if handler is None:
            raise RegistryError(
                UNSUPPORTED,
                f"{request.method} is not supported on {route}",
                headers={"Allow": ", ".join(methods)},
            )
        vars_ = {k: unquote(v) for k, v in m.groupdict().items()}
        name = check_name(vars_.pop("name"))
        request[NOTES]["repo"] = name
        if request.method in WRITE_METHODS:
            if state.cfg.readonly:
                raise RegistryError(UNSUPPORTED, "the registry is in read-only mode")
            if state.proxy is not None:
                raise RegistryError(UNSUPPORTED, "a pull-through cache does not accept pushes or deletes")
        await _authorize(request, state, _accesses(name, request.method))
        return await handler(Ctx(request, state, name), **vars_)
    raise RegistryError(NAME_UNKNOWN, "no such API route", {"path": path[:200]}, status=404)


async def _authorize(request: web.Request, state: State, accesses: list[Access]) -> None:
    if isinstance(state.access, Anonymous):
        return
    auth = request.headers.get("Authorization", "")
    account = await asyncio.to_thread(state.access.authorized, auth, accesses)
    request[NOTES]["account"] = account


async def _base(request: web.Request, state: State) -> web.StreamResponse:
    request[NOTES]["route"] = "base"
    await _authorize(request, state, [])
    return json_response({})


async def health(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    request[NOTES]["route"] = "health"
    try:
        await asyncio.to_thread(state.registry.driver.stat, "/")
    except Exception as exc:
        log.warning("health check failed: %s", exc)
        return json_response({"storagedriver": f"unhealthy: {type(exc).__name__}"}, status=503)
    return json_response({})


async def metrics(request: web.Request) -> web.StreamResponse:
    request[NOTES]["route"] = "metrics"
    text = request.app[STATE].metrics.render()
    return web.Response(
        text=text, content_type="text/plain", charset="utf-8", headers={"X-Prometheus-Version": "0.0.4"}
    )


async def token(request: web.Request) -> web.StreamResponse:
    """Built-in issuer: ``GET /auth/token?service=&scope=`` (Docker) or the OAuth2 POST form."""
    state = request.app[STATE]
    request[NOTES]["route"] = "token"
    if state.token is None or state.token.signing_key is None:
        raise RegistryError(NAME_UNKNOWN, "this registry does not issue tokens", status=404)
    auth = request.headers.get("Authorization", "")
    if request.method == "POST":
        form = await request.post()
        service = str(form.get("service", ""))
        scope = [str(s) for s in form.getall("scope", [])]
        if form.get("grant_type") == "password":
            import base64

            user, pw = str(form.get("username", "")), str(form.get("password", ""))
            auth = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    else:
        service = request.query.get("service", "")
        scope = request.query.getall("scope", [])
    body = await asyncio.to_thread(state.token.issue, auth, service, scope)
    return json_response(body)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request.headers.get("X-Request-Id") or str(uuid.uuid4())
    request_id.set(rid)
    request[NOTES] = {"rid": rid, "start": time.monotonic(), "state": request.app[STATE]}
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except RegistryError as err:
        return error_response(err, request)
    except NotFound as exc:
        return error_response(RegistryError(NAME_UNKNOWN, str(exc), status=404), request)
    except DockwrightError as exc:
        return error_response(RegistryError(UNSUPPORTED, str(exc), status=400), request)
    except ConnectionError:
        request[NOTES]["client_gone"] = True
        return web.Response(status=499)
    except Exception:
        log.exception("request %s %s failed (request id %s)", request.method, request.path, rid)
        return error_response(RegistryError(UNKNOWN, f"internal error; request id {rid}"), request)


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Docker-Distribution-API-Version"] = API_VERSION
    for k, v in request.app[STATE].cfg.headers:
        response.headers.add(k, v)
    response.headers.setdefault("X-Request-Id", request.get(NOTES, {}).get("rid", "-"))


class RegistryAccessLogger(AbstractAccessLogger):
    """One line per request (key=value) after the response is complete, and the metrics."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time_: float) -> None:
        notes: dict[str, Any] = request.get(NOTES, {})
        route = str(notes.get("route", "other"))
        state = notes.get("state")
        if not isinstance(state, State):
            return
        bytes_in = int(getattr(request.content, "total_bytes", 0) or 0)
        bytes_out = int(
            response.content_length if response.content_length is not None else response.body_length
        )
        state.metrics.observe(route, request.method, response.status, time_, bytes_in, bytes_out)
        if state.cfg.access_log:
            self.logger.info(
                'request_id=%s remote=%s method=%s path="%s" route=%s status=%d repo=%s digest=%s '
                "account=%s bytes_in=%d bytes_out=%d duration=%.4f",
                notes.get("rid", "-"),
                request.remote,
                request.method,
                request.path[:300],
                route,
                response.status,
                notes.get("repo", "-"),
                notes.get("digest", "-"),
                notes.get("account", "-") or "-",
                bytes_in,
                bytes_out,
                time_,
            )


def make_state(cfg: Config, driver: Any = None) -> State:
    from .auth.htpasswd import HtpasswdController
    from .auth.token import TokenController

    drv = driver if driver is not None else make_driver(cfg)
    access: AccessController = Anonymous()
    tok = None
    if cfg.auth == "htpasswd":
        access = HtpasswdController(cfg.htpasswd.realm, cfg.htpasswd.path)
    elif cfg.auth == "token":
        scheme = "https" if cfg.tls_certificate else "http"
        tok = TokenController(cfg.token, default_realm=f"{scheme}://{cfg.addr}/auth/token")
        access = tok
    state = State(cfg=cfg, registry=Registry(drv), access=access, metrics=Metrics(), token=tok)
    if cfg.proxy.remoteurl:
        from .proxy import Proxy

        state.proxy = Proxy(cfg.proxy)
    return state


def make_app(cfg: Config, driver: Any = None, state: State | None = None) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=1 << 40)
    st = state or make_state(cfg, driver)
    app[STATE] = st
    app.on_response_prepare.append(_on_prepare)
    app.router.add_route("GET", "/debug/health", health)
    app.router.add_route("GET", "/healthz", health)
    app.router.add_route("GET", "/metrics", metrics)
    app.router.add_route("*", "/auth/token", token)
    app.router.add_route("*", "/v2", dispatch)
    app.router.add_route("*", "/v2/{tail:.*}", dispatch)
    app.router.add_route("*", "/v1/search", dispatch)

    async def _cleanup(_app: web.Application) -> None:
        if st.proxy is not None:
            await st.proxy.close()

    app.on_cleanup.append(_cleanup)
    return app


def ssl_context(cfg: Config) -> Any:
    if not cfg.tls_certificate:
        return None
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tls_certificate, cfg.tls_key or None)
    return ctx


async def serve(
    cfg: Config, *, ready: Callable[[str, int], None] | None = None, stop: asyncio.Event | None = None
) -> None:
    """Run until ``stop`` is set (or forever); ``ready(host, port)`` once listening."""
    from concurrent.futures import ThreadPoolExecutor

    from .config import split_addr

    # Storage calls block on disk or S3; give them more threads than the CPU-sized default.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64, thread_name_prefix="registry-io"))
    app = make_app(cfg)
    runner = web.AppRunner(
        app, access_log_class=RegistryAccessLogger, access_log=access_log, handle_signals=False
    )
    await runner.setup()
    host, port = split_addr(cfg.addr)
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context(cfg), backlog=1024, reuse_address=True)
    await site.start()
    server = getattr(site, "_server", None)
    if server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    log.info(
        "registry listening on %s:%d (%s, storage %s)",
        host,
        port,
        "https" if cfg.tls_certificate else "http",
        cfg.storage_driver,
    )
    st = app[STATE]
    if st.token is not None and not st.token.cfg.realm:
        scheme = "https" if cfg.tls_certificate else "http"
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        st.token.realm = f"{scheme}://{shown}:{port}/auth/token"
    if ready is not None:
        ready(host, port)
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await runner.cleanup()
