"""Deduplicated transfers: one download per blob however many pulls want it.

moby's ``distribution/xfer`` idea: a transfer is keyed (by blob digest); a
second caller asking for the same key while it runs waits for the first one's
result instead of fetching again. Failures are shared too, and the key is
forgotten afterwards so a later pull retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ..errors import Unavailable

T = TypeVar("T")


class Deduper(Generic[T]):
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[T]] = {}

    def running(self, key: str) -> bool:
        return key in self._running

    async def run(self, key: str, fn: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """(result, whether this caller did the work)."""
        fut = self._running.get(key)
        if fut is not None:
            return await asyncio.shield(fut), False
        fut = asyncio.get_running_loop().create_future()
        self._running[key] = fut
        try:
            result = await fn()
        except BaseException as exc:
            if not fut.done() and isinstance(exc, asyncio.CancelledError):
                # Waiters belong to other operations, which were not cancelled: they get an error.
                fut.set_exception(Unavailable(f"the transfer of {key} was cancelled by its first requester; "
                                              "try again"))
                fut.exception()
            elif not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        else:
            fut.set_result(result)
            return result, True
        finally:
            self._running.pop(key, None)
