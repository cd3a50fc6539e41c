"""Bridges between the event loop's streams and the sync stores' file objects.

Stores are sync and run in worker threads; request and response bodies are
async. A worker reads a request body through ``BodyReader`` (each read waits
on the loop) and writes a response body through ``ChunkWriter`` (a bounded
queue, so a slow client slows the producer instead of filling memory).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any


class BodyReader(io.RawIOBase):
    """A request body as a sync file. Each trip to the loop fetches a large piece (the loop's
    reads return whatever arrived, often 64 KiB), and small reads (tarfile's 10 KiB) are served
    from that piece: crossing threads per small read made loads 4x slower."""

    _TARGET = 1 << 20

    def __init__(self, read: Callable[[int], Coroutine[Any, Any, bytes]], loop: asyncio.AbstractEventLoop) -> None:
        self._read = read
        self._loop = loop
        self.total = 0
        self._eof = False
        self._buf = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    async def _fill(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while size < self._TARGET:
            data = await self._read(self._TARGET - size)
            if not data:
                break
            parts.append(data)
            size += len(data)
        return b"".join(parts)

    def readinto(self, b: Any) -> int:
        if self._pos >= len(self._buf):
            if self._eof:
                return 0
            self._buf = asyncio.run_coroutine_threadsafe(self._fill(), self._loop).result()
            self._pos = 0
            if not self._buf:
                self._eof = True
                return 0
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        self.total += n
        return n


_EOF = object()


class ChunkWriter(io.RawIOBase):
    """Sync writer feeding an async iterator; ``close()`` ends the iteration."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int = 16) -> None:
        self._loop = loop
        self._q: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)
        self._buf = bytearray()
        self._closed_by_reader = False

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self._closed_by_reader:
            raise BrokenPipeError("client went away")
        self._buf += bytes(b)
        if len(self._buf) >= 1 << 18:
            self._push(bytes(self._buf))
            self._buf.clear()
        return len(b)

    def _push(self, item: object) -> None:
        asyncio.run_coroutine_threadsafe(self._q.put(item), self._loop).result()

    def finish(self, error: BaseException | None = None) -> None:
        if self._buf:
            self._push(bytes(self._buf))
            self._buf.clear()
        self._push(error if error is not None else _EOF)

    def abandon(self) -> None:
        """The reader went away: unblock and fail the writer."""
        self._closed_by_reader = True
        while not self._q.empty():
            self._q.get_nowait()

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._q.get()
            if item is _EOF:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
