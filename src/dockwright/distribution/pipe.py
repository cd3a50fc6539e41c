"""A bounded byte pipe from the event loop (network) to a worker thread (hash, untar).

The loop side ``put``s chunks as they arrive and waits only when more than
``high`` bytes are queued; the thread side reads like a file. Few hops per
megabyte, so the network and the extraction run at their own pace in one pass.
Either side can fail the pipe: the reader then raises, the writer stops.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections import deque
from typing import Any

from ..errors import Cancelled


class Pipe(io.RawIOBase):
    def __init__(self, loop: asyncio.AbstractEventLoop, high: int = 8 << 20) -> None:
        self._loop = loop
        self._high = high
        self._cond = threading.Condition()
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._abandoned = False
        self._space = asyncio.Event()
        self._space.set()
        self.consumed = 0

    # -- loop side ------------------------------------------------------------------------------
    async def put(self, data: bytes) -> None:
        if self._abandoned:
            raise Cancelled("the consumer of this download stopped")
        with self._cond:
            self._chunks.append(data)
            self._size += len(data)
            full = self._size >= self._high
            if full:
                self._space.clear()
            self._cond.notify()
        if full:
            await self._space.wait()
            if self._abandoned:
                raise Cancelled("the consumer of this download stopped")

    def finish(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._eof = True
            self._error = error
            self._cond.notify_all()

    # -- thread side ----------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        want = len(b)
        with self._cond:
            while not self._chunks and not self._eof:
                self._cond.wait()
            if not self._chunks:
                if self._error is not None:
                    raise self._error
                return 0
            out = bytearray()
            while self._chunks and len(out) < want:
                c = self._chunks.popleft()
                room = want - len(out)
                if len(c) > room:
                    self._chunks.appendleft(c[room:])
                    c = c[:room]
                out += c
            self._size -= len(out)
            wake = self._size < self._high // 2 and not self._space.is_set()
        if wake:
            self._loop.call_soon_threadsafe(self._space.set)
        n = len(out)
        memoryview(b).cast("B")[:n] = out
        self.consumed += n
        return n

    def abandon(self) -> None:
        """The thread gave up: release the producer."""
        self._abandoned = True
        with self._cond:
            self._chunks.clear()
            self._size = 0
        self._loop.call_soon_threadsafe(self._space.set)
