"""``ADD https://...``: the daemon downloads the file into a scratch dir the copy code then
reads like another rootfs.

As Docker does: the file is named after the last element of the URL's path,
has mode 0600 (before ``--chmod``), its mtime comes from ``Last-Modified``
(the epoch without one), and it is never extracted, even when it is a tar.
Its cache key is its content, so every build downloads it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import aiohttp

from dockwright.errors import InvalidParameter

_CHUNK = 1 << 20


def filename_for(url: str) -> str:
    name = posixpath.basename(unquote(urlsplit(url).path).rstrip("/"))
    if not name or name in (".", ".."):
        raise InvalidParameter(f"cannot determine filename from url: {url}: name the file in the destination "
                               "(a path not ending in /)")
    return name


async def fetch(url: str, into: Path, checksum: str = "") -> str:
    """Download ``url`` into ``into``; returns the file's name there. ``checksum`` is ``algo:hex``."""
    name = filename_for(url)
    algo, _, want = checksum.partition(":")
    h = hashlib.new(algo or "sha256")
    target = into / name
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status >= 400:
                raise InvalidParameter(f"failed to GET {url} with status {resp.status} {resp.reason}")
            last_modified = resp.headers.get("Last-Modified", "")
            f = await asyncio.to_thread(open, target, "wb")
            try:
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    await asyncio.to_thread(_write, f, h, chunk)
            finally:
                await asyncio.to_thread(f.close)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise InvalidParameter(f"failed to GET {url}: {exc or type(exc).__name__}") from None
    if want and h.hexdigest() != want:
        raise InvalidParameter(f"digest mismatch for {url}: expected {checksum}, got {algo}:{h.hexdigest()}")
    mtime = 0.0
    if last_modified:
        try:
            mtime = parsedate_to_datetime(last_modified).timestamp()
        except (TypeError, ValueError):
            mtime = 0.0
    await asyncio.to_thread(_finish, target, mtime)
    return name


def _write(f: BinaryIO, h: Any, chunk: bytes) -> None:
    h.update(chunk)
    f.write(chunk)


def _finish(target: Path, mtime: float) -> None:
    os.chmod(target, 0o600)
    os.utime(target, (mtime, mtime))
