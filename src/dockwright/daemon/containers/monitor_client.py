"""The daemon's side of the monitor socket (see ``dockwright.runtime.monitor``)."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

from ...errors import Unavailable

FRAME = struct.Struct(">BI")


async def connect(path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_unix_connection(path, limit=1 << 20)
    except OSError as exc:
        raise Unavailable(f"the container's monitor is not answering: {exc.strerror or exc}") from exc


async def request(path: str, req: dict[str, Any], timeout: float | None = 10) -> dict[str, Any]:
    reader, writer = await connect(path)
    try:
        writer.write(json.dumps(req).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise Unavailable("the container's monitor closed the connection")
        out: dict[str, Any] = json.loads(line)
        return out
    finally:
        writer.close()


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(FRAME.size)
    stream, n = FRAME.unpack(head)
    data = await reader.readexactly(n) if n else b""
    return int(stream), data
