"""``/containers/...`` and ``/exec/...``: parse, call the container service, write.

Attach and exec hijack the connection (``api.hijack``) and relay bytes between
the client and the container's monitor; everything else is plain JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Protocol

from aiohttp import web

from ...daemon.containers import monitor_client
from ...daemon.containers.service import CONTAINER_LIST_FILTERS
from ...daemon.filters import parse_filters, parse_timestamp
from ...errors import DockwrightError, InvalidParameter
from ..hijack import Hijacked, docker_frame, hijack
from ..params import json_body, qbool, qint, qstr
from ..server import DAEMON_KEY, Routes, json_response


class ContainersBackend(Protocol):
    containers: Any


def _svc(request: web.Request) -> Any:
    backend: ContainersBackend = request.app[DAEMON_KEY]
    return backend.containers


def _id(request: web.Request) -> str:
    return request.match_info["id"]


async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    result = await _svc(request).create(qstr(request, "name"), body, qstr(request, "platform"))
    return json_response(result, status=201)


async def list_containers(request: web.Request) -> web.Response:
    f = parse_filters(request.query.get("filters"), CONTAINER_LIST_FILTERS)
    limit = qint(request, "limit", -1) or -1
    svc = _svc(request)
    if qbool(request, "size"):  # sizes walk writable layers: off the loop
        return json_response(await asyncio.to_thread(svc.list, qbool(request, "all"), limit, True, f))
    return json_response(svc.list(qbool(request, "all"), limit, False, f))


async def inspect(request: web.Request) -> web.Response:
    return json_response(_svc(request).inspect(_id(request), qbool(request, "size")))


async def start(request: web.Request) -> web.Response:
    await _svc(request).start(_id(request))
    return web.Response(status=204)


async def stop(request: web.Request) -> web.Response:
    await _svc(request).stop(_id(request), qstr(request, "signal") or None, qint(request, "t"))
    return web.Response(status=204)


async def restart(request: web.Request) -> web.Response:
    await _svc(request).restart(_id(request), qstr(request, "signal") or None, qint(request, "t"))
    return web.Response(status=204)


async def kill(request: web.Request) -> web.Response:
    await _svc(request).kill(_id(request), qstr(request, "signal") or None)
    return web.Response(status=204)


async def pause(request: web.Request) -> web.Response:
    await _svc(request).pause(_id(request))
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.Response:
    await _svc(request).unpause(_id(request))
    return web.Response(status=204)


async def rename(request: web.Request) -> web.Response:
    await _svc(request).rename(_id(request), qstr(request, "name"))
    return web.Response(status=204)


async def remove(request: web.Request) -> web.Response:
    await _svc(request).remove(_id(request), qbool(request, "force"), qbool(request, "v"))
    return web.Response(status=204)


async def remove_link(request: web.Request) -> web.Response:
    """``DELETE /containers/PARENT/ALIAS?link=1``: a legacy link's name has a slash in it."""
    name = f"/{request.match_info['parent']}/{request.match_info['alias']}"
    if not qbool(request, "link"):
        raise InvalidParameter(f"{name} is a link name: remove it with link=1 (docker rm --link)")
    await _svc(request).remove_link(request.match_info["parent"], request.match_info["alias"])
    return web.Response(status=204)


async def wait(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    condition = qstr(request, "condition")
    svc.get(_id(request))  # a 404 before the headers go out
    if condition not in ("", "not-running", "next-exit", "removed"):
        raise InvalidParameter(f"invalid condition: {condition!r}")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)  # headers now: the client knows the wait is registered
    result = await svc.wait(_id(request), condition)
    try:
        await resp.write((json.dumps(result) + "\n").encode())
        await resp.write_eof()
    except ConnectionError:
        pass  # the client stopped waiting
    return resp


async def resize(request: web.Request) -> web.Response:
    await _svc(request).resize(_id(request), qint(request, "h", 0), qint(request, "w", 0))
    return web.Response(status=200)


async def prune(request: web.Request) -> web.Response:
    f = parse_filters(request.query.get("filters"), ("until", "label", "label!"))
    return json_response(await _svc(request).prune(f))


async def logs(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    tail_raw = qstr(request, "tail", "all")
    if tail_raw in ("", "all"):
        tail = -1
    else:
        try:
            tail = int(tail_raw)
        except ValueError as exc:
            raise InvalidParameter(f"invalid value for tail: {tail_raw!r}") from exc
    since = parse_timestamp(qstr(request, "since")) if qstr(request, "since") not in ("", "0") else 0.0
    until = parse_timestamp(qstr(request, "until")) if qstr(request, "until") not in ("", "0") else 0.0
    c, records = await svc.logs(_id(request), follow=qbool(request, "follow"), stdout=qbool(request, "stdout"),
                                stderr=qbool(request, "stderr"), since=since, until=until, tail=tail,
                                timestamps=qbool(request, "timestamps"))
    tty = bool(c.config.get("Tty"))
    ctype = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    resp = web.StreamResponse(headers={"Content-Type": ctype})
    await resp.prepare(request)
    try:
        async for stream, data in records:
            await resp.write(data if tty else docker_frame(stream, data))
    except (ConnectionResetError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


def _detach_keys(spec: str) -> bytes:
    """``ctrl-p,ctrl-q`` (Docker's default) to the bytes that detach."""
    out = bytearray()
    for key in (spec or "ctrl-p,ctrl-q").split(","):
        k = key.strip().lower()
        if k.startswith("ctrl-") and len(k) == 6:
            ch = k[5]
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
            elif ch in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[ch])
            else:
                raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
        elif len(k) == 1:
            out.append(ord(k))
        else:
            raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


async def _relay(h: Hijacked, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tty: bool,
                 stdin: bool, detach: bytes = b"", exec_cb: Any = None, raw: bool | None = None,
                 on_detach: bytes = b"") -> None:
    """Monitor frames to the client; client bytes to the monitor as stdin.

    ``tty``: the process has a terminal (detach keys apply, as dockerd reads them only then);
    ``raw``: the client gets the bytes unframed (for exec the start request says, not the process)."""
    raw = tty if raw is None else raw

    async def upstream() -> None:
        buf = b""
        while True:
            data = await h.reader.read(65536)
            if not data:
                break
            if not stdin:
                continue
            if detach and tty:
                buf = (buf + data)[-len(detach):]
                if detach in buf or data.endswith(detach):
                    raise _Detached()
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()

    up = asyncio.create_task(upstream())
    try:
        while True:
            rd = asyncio.ensure_future(monitor_client.read_frame(reader))
            done, _ = await asyncio.wait({rd, up}, return_when=asyncio.FIRST_COMPLETED)
            if up in done and rd not in done:
                exc = up.exception()
                if isinstance(exc, _Detached):
                    rd.cancel()
                    if on_detach:
                        h.write(on_detach)
                        with contextlib.suppress(ConnectionError):
                            await h.drain()
                    return
                # stdin closed: keep relaying output until the process ends
                stream, data = await rd
            else:
                stream, data = rd.result()
            if stream == 0:
                return
            if stream == 3:
                if exec_cb is not None:
                    exec_cb(json.loads(data))
                continue
            h.write(data if raw else docker_frame(stream, data))
            await h.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        if not up.done():
            up.cancel()
        writer.close()


class _Detached(Exception):
    pass


async def attach(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    c = svc.get(_id(request))
    tty = bool(c.config.get("Tty"))
    detach = _detach_keys(qstr(request, "detachKeys"))
    stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    h = await hijack(request, tty=tty)
    try:
        if qbool(request, "logs"):
            _c, recs = await svc.logs(c.id, follow=False, stdout=stdout or not stderr, stderr=stderr, since=0,
                                      until=0, tail=-1, timestamps=False)
            async for stream, data in recs:
                h.write(data if tty else docker_frame(stream, data))
        if qbool(request, "stream"):
            conn = await svc.attach_monitor(c, stdin, stdout, stderr)
            if conn is not None:
                await _relay(h, conn[0], conn[1], tty=tty, stdin=stdin, detach=detach)
    except DockwrightError as exc:
        h.write(str(exc).encode() if tty else docker_frame(3, str(exc).encode()))
    finally:
        h.close()
    return h.resp


async def exec_create(request: web.Request) -> web.Response:
    body = await json_body(request)
    return json_response(await _svc(request).exec_create(_id(request), body), status=201)


async def exec_start(request: web.Request) -> web.StreamResponse:
    """Hijack first, then start: the process's first bytes must not race the 101 headers."""
    svc = _svc(request)
    body = await json_body(request, required=False) or {}
    if not isinstance(body, dict):
        raise InvalidParameter("exec start config must be a JSON object")
    eid = request.match_info["id"]
    ex = svc.exec_get(eid)
    detach = bool(body.get("Detach"))
    tty = bool(ex.config.get("Tty"))
    raw = bool(body.get("Tty"))  # dockerd frames the output unless the start request asks for a raw stream
    # dockerd decodes JSON keys case-insensitively (Go): the SDK sends "detachKeys"
    keys = _detach_keys(str(ex.config.get("DetachKeys") or ex.config.get("detachKeys") or ""))
    svc.exec_check(eid)  # 404/409 while we can still answer with a status

    def finished(status: dict[str, Any]) -> None:
        svc.exec_finished(ex, int(status.get("exit_code", 0)))

    if detach:
        _ex, reader, writer = await svc.exec_start(eid, detach, tty)

        async def drain() -> None:
            await _relay_detached(reader, writer, finished)

        task = asyncio.get_running_loop().create_task(drain())
        svc._restart_tasks.add(task)
        task.add_done_callback(svc._restart_tasks.discard)
        return web.Response(status=200)
    h = await hijack(request, tty=raw)
    try:
        try:
            _ex, reader, writer = await svc.exec_start(eid, detach, tty)
        except DockwrightError as exc:
            # after the 101 the error can only travel in the stream, as dockerd sends it
            msg = str(exc).replace("failed to create shim task: OCI runtime create failed", "OCI runtime exec failed")
            h.write((msg + "\r\n").encode() if raw else docker_frame(1, (msg + "\r\n").encode()))
            return h.resp
        size = body.get("ConsoleSize") or [0, 0]
        if tty and isinstance(size, list) and len(size) == 2 and size[0] and size[1]:
            with contextlib.suppress(DockwrightError, OSError, ValueError):
                await svc.exec_resize(eid, int(size[0]), int(size[1]))
        await _relay(h, reader, writer, tty=tty, raw=raw, stdin=bool(ex.config.get("AttachStdin")),
                     exec_cb=finished, detach=keys,
                     on_detach=b"exec attach failed: error on attach stdin: read escape sequence\r\n")
    finally:
        h.close()
    return h.resp


async def _relay_detached(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, finished: Any) -> None:
    try:
        while True:
            stream, data = await monitor_client.read_frame(reader)
            if stream == 0:
                return
            if stream == 3:
                finished(json.loads(data))
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        writer.close()


async def exec_inspect(request: web.Request) -> web.Response:
    return json_response(_svc(request).exec_inspect(request.match_info["id"]))


async def exec_resize(request: web.Request) -> web.Response:
    await _svc(request).exec_resize(request.match_info["id"], qint(request, "h", 0), qint(request, "w", 0))
    return web.Response(status=200)


def register(r: Routes) -> None:
    r.post("/containers/create", create)
    r.get("/containers/json", list_containers)
    r.post("/containers/prune", prune)
    r.get("/containers/{id}/json", inspect)
    r.post("/containers/{id}/start", start)
    r.post("/containers/{id}/stop", stop)
    r.post("/containers/{id}/restart", restart)
    r.post("/containers/{id}/kill", kill)
    r.post("/containers/{id}/pause", pause)
    r.post("/containers/{id}/unpause", unpause)
    r.post("/containers/{id}/rename", rename)
    r.post("/containers/{id}/wait", wait)
    r.post("/containers/{id}/resize", resize)
    r.post("/containers/{id}/attach", attach)
    r.get("/containers/{id}/logs", logs)
    r.delete("/containers/{id}", remove)
    r.delete("/containers/{parent}/{alias}", remove_link)
    r.post("/containers/{id}/exec", exec_create)
    r.post("/exec/{id}/start", exec_start)
    r.post("/exec/{id}/resize", exec_resize)
    r.get("/exec/{id}/json", exec_inspect)
