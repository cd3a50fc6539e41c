"""What every handler gets: the request, the app state, and its repository."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from ..auth.base import Access, AccessController
from ..config import Config
from ..metrics import Metrics
from ..storage.blobwriter import BlobWriter
from ..storage.registry import Registry, Repository

if TYPE_CHECKING:
    from ..auth.token import TokenController
    from ..proxy import Proxy

T = TypeVar("T")
WRITE_CHUNK = 4 << 20


@dataclass
class State:
    cfg: Config
    registry: Registry
    access: AccessController
    metrics: Metrics
    token: TokenController | None = None
    proxy: Proxy | None = None
    # Serialises requests on one session; entries vanish with the last request holding them.
    upload_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    def upload_lock(self, upload_id: str) -> asyncio.Lock:
        lock = self.upload_locks.get(upload_id)
        if lock is None:
            lock = self.upload_locks[upload_id] = asyncio.Lock()
        return lock


STATE = web.AppKey("state", State)


class Ctx:
    def __init__(self, request: web.Request, state: State, name: str = "") -> None:
        self.request = request
        self.state = state
        self.name = name
        self.repo: Repository = state.registry.repository(name) if name else None  # type: ignore[assignment]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def may(self, accesses: list[Access]) -> bool:
        """Whether the caller also holds these accesses (for optional extras like mount ``from``)."""
        from ..errcode import RegistryError

        try:
            await self.run(
                self.state.access.authorized, self.request.headers.get("Authorization", ""), accesses
            )
            return True
        except RegistryError:
            return False

    def note(self, **kw: Any) -> None:
        """Facts for the access log line (digest, ...)."""
        self.request[NOTES].update(kw)


NOTES: web.RequestKey[dict[str, Any]] = web.RequestKey("dockwright_notes", dict)


def json_response(
    body: Any,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers=headers, content_type=content_type
    )


async def receive(ctx: Ctx, bw: BlobWriter) -> int:
    """Stream the request body into an upload, hashing and writing off the loop.

    One buffer is written in a worker thread while the next is read from the
    socket. Returns the number of body bytes received and stored.
    """
    content = ctx.request.content
    buf = bytearray()
    pending: asyncio.Future[None] | None = None
    total = 0
    try:
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            buf += chunk
            total += len(chunk)
            if len(buf) >= WRITE_CHUNK:
                data = bytes(buf)
                buf.clear()
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(ctx.run(bw.write, data))
        if pending is not None:
            await pending
            pending = None
        if buf:
            await ctx.run(bw.write, bytes(buf))
    except (ConnectionError, asyncio.CancelledError):
        # The client went away: keep every byte that arrived, in order, so a
        # GET on the session reports the true offset and the push can resume.
        if pending is not None:
            await pending
        if buf:
            await ctx.run(bw.write, bytes(buf))
        raise
    except BaseException:
        if pending is not None:
            try:
                await pending
            except Exception:
                pass
        raise
    return total
