"""The byte pipe, the transfer deduper, and the auth flow against a real local token server."""

from __future__ import annotations

import asyncio
import base64

import aiohttp
import pytest
from aiohttp import web

from dockwright.distribution.auth import Credentials
from dockwright.distribution.client import RegistryClient
from dockwright.distribution.pipe import Pipe
from dockwright.distribution.resolver import Endpoint
from dockwright.distribution.xfer import Deduper
from dockwright.errors import Cancelled, NotFound, Unauthorized, Unavailable


def test_pipe_moves_bytes_with_backpressure() -> None:
    async def main() -> bytes:
        pipe = Pipe(asyncio.get_running_loop(), high=1000)
        out = bytearray()

        def consume() -> None:
            while data := pipe.read(333):
                out.extend(data)

        t = asyncio.ensure_future(asyncio.to_thread(consume))
        for i in range(50):
            await pipe.put(bytes([i % 256]) * 97)
        pipe.finish()
        await t
        return bytes(out)

    got = asyncio.run(main())
    assert got == b"".join(bytes([i % 256]) * 97 for i in range(50))


def test_pipe_errors_both_ways() -> None:
    async def main() -> None:
        pipe = Pipe(asyncio.get_running_loop(), high=10)
        pipe.finish(Unavailable("net down"))
        with pytest.raises(Unavailable):
            await asyncio.to_thread(pipe.read, 10)
        pipe2 = Pipe(asyncio.get_running_loop(), high=10)
        pipe2.abandon()
        with pytest.raises(Cancelled):
            await pipe2.put(b"x" * 20)

    asyncio.run(main())


def test_deduper_shares_one_run() -> None:
    async def main() -> None:
        d: Deduper[int] = Deduper()
        calls = 0
        gate = asyncio.Event()

        async def work() -> int:
            nonlocal calls
            calls += 1
            await gate.wait()
            return 7

        t1 = asyncio.ensure_future(d.run("k", work))
        await asyncio.sleep(0)
        t2 = asyncio.ensure_future(d.run("k", work))
        await asyncio.sleep(0)
        assert d.running("k")
        gate.set()
        assert await t1 == (7, True)
        assert await t2 == (7, False)
        assert calls == 1 and not d.running("k")

        async def boom() -> int:
            await asyncio.sleep(0.01)
            raise NotFound("gone")

        r = await asyncio.gather(d.run("e", boom), d.run("e", boom), return_exceptions=True)
        assert all(isinstance(x, NotFound) for x in r)

    asyncio.run(main())


async def _token_registry() -> tuple[web.AppRunner, int, list[str]]:
    """A tiny registry with Docker token auth: only what the client needs, on 127.0.0.1."""
    seen: list[str] = []

    async def v2(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        seen.append(auth)
        if auth != "Bearer good-token":
            port = request.url.port
            return web.Response(status=401, headers={
                "WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="svc"'})
        return web.Response(status=200, body=b"{}")

    async def manifest(request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != "Bearer good-token":
            port = request.url.port
            return web.Response(status=401, headers={
                "WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="svc",'
                                    f'scope="repository:a/b:pull"'})
        return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]},
                                 status=404)

    async def token(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if auth and auth != "Basic " + base64.b64encode(b"alice:pw").decode():
            return web.json_response({"errors": [{"code": "UNAUTHORIZED", "message": "bad password"}]},
                                     status=401)
        assert request.query["service"] == "svc"
        return web.json_response({"token": "good-token" if auth else "anon-token", "expires_in": 300})

    app = web.Application()
    app.router.add_get("/v2/", v2)
    app.router.add_get("/v2/a/b/manifests/{ref}", manifest)
    app.router.add_get("/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port, seen


def test_bearer_flow_and_errors() -> None:
    async def main() -> None:
        runner, port, seen = await _token_registry()
        try:
            async with aiohttp.ClientSession() as session:
                ep = Endpoint(f"127.0.0.1:{port}", f"127.0.0.1:{port}", False)
                good = RegistryClient(session, ep, "a/b", Credentials("alice", "pw"))
                resp = await good.ping(("repository:a/b:pull",))
                assert resp.status == 200 and seen[-1] == "Bearer good-token"
                with pytest.raises(NotFound, match="manifest unknown"):
                    await good.get_manifest("nope")
                bad = RegistryClient(session, ep, "a/b", Credentials("alice", "wrong"))
                with pytest.raises(Unauthorized, match="bad password"):
                    await bad.get_manifest("v1")
                anon = RegistryClient(session, ep, "a/b", Credentials())
                with pytest.raises(Unauthorized, match="authentication required"):
                    await anon.get_manifest("v1")
                gone = RegistryClient(session, Endpoint("x", "127.0.0.1:1", False), "a/b", Credentials())
                with pytest.raises(Unavailable, match="connection refused"):
                    await gone.get_manifest("v1")
        finally:
            await runner.cleanup()

    asyncio.run(main())
