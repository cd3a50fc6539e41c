"""Connection hijacking for attach and exec: ``101 UPGRADED`` then a raw byte stream.

aiohttp hands the bytes that follow an Upgrade request to whatever parser is
installed with ``set_parser``, which is how its WebSockets work; we install one
that feeds a plain StreamReader, and write straight to the transport. Without a
TTY, output is framed with Docker's 8-byte header (stream, 0, 0, 0, length).
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from aiohttp import web

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
_HEADER = struct.Struct(">BxxxI")


def docker_frame(stream: int, data: bytes) -> bytes:
    return _HEADER.pack(stream, len(data)) + data


class _RawParser:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


class _HijackedProtocol(asyncio.Protocol):
    """Takes the transport over from aiohttp once the stream is raw.

    A client that half-closes (``CloseWrite`` after its stdin ends, as the docker
    CLI does) must not make the transport close: returning True from
    ``eof_received`` keeps the write side open for the container's output.
    """

    def __init__(self, reader: asyncio.StreamReader, orig: Any) -> None:
        self.reader = reader
        self.orig = orig

    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.reader.feed_eof()
        self.orig.connection_lost(exc)

    def pause_writing(self) -> None:
        self.orig.pause_writing()

    def resume_writing(self) -> None:
        self.orig.resume_writing()


class Hijacked:
    """Read with ``reader``; write with ``write``; ``close`` ends the connection."""

    def __init__(self, request: web.Request, resp: web.StreamResponse, reader: asyncio.StreamReader) -> None:
        self.request = request
        self.resp = resp
        self.reader = reader
        transport = request.transport
        assert transport is not None
        self.transport = transport

    def write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        proto: Any = self.request.protocol
        writer = getattr(proto, "writer", None)
        if writer is not None and hasattr(writer, "drain"):
            try:
                await writer.drain()
            except (ConnectionError, RuntimeError):
                pass
        else:
            await asyncio.sleep(0)

    def close(self) -> None:
        self.resp.force_close()
        if not self.transport.is_closing():
            self.transport.close()


async def hijack(request: web.Request, *, tty: bool) -> Hijacked:
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp" or "upgrade" in request.headers.get(
        "Connection", "").lower()
    ctype = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    if upgrade:
        resp = web.StreamResponse(status=101, reason="UPGRADED",
                                  headers={"Content-Type": ctype, "Connection": "Upgrade", "Upgrade": "tcp"})
    else:
        resp = web.StreamResponse(status=200, headers={"Content-Type": ctype})
    resp._length_check = False  # the body is a raw stream, not HTTP framing
    await resp.prepare(request)
    reader = asyncio.StreamReader(limit=1 << 20)
    proto: Any = request.protocol
    proto.set_parser(_RawParser(reader))  # hands over what aiohttp already buffered
    transport = request.transport
    assert transport is not None
    transport.set_protocol(_HijackedProtocol(reader, proto))
    return Hijacked(request, resp, reader)
