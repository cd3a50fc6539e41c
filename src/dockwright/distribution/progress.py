"""Progress messages in dockerd's JSON-lines shape.

The docker CLI renders them by ``id``: ``{"status": "Downloading", "progressDetail":
{"current": n, "total": t}, "progress": "[==>  ] 1MB/3MB", "id": "a1b2c3d4e5f6"}``.
Transfers call a ``Progress`` sink; the API route turns messages into lines,
the CLI into bars. Byte updates are throttled so a fast pull does not turn
into a flood of lines.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..oci.digest import short_id

Message = dict[str, Any]
Progress = Callable[[Message], Awaitable[None]]


async def discard(_: Message) -> None:
    return None


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}B"


def bar(current: int, total: int) -> str:
    """dockerd's ``progress`` string, which old clients print as is."""
    if total <= 0:
        return _human(current)
    width = 50
    filled = min(width, int(width * current / total))
    arrow = ">" if filled < width else ""
    return f"[{'=' * max(filled - (1 if arrow else 0), 0)}{arrow}{' ' * (width - filled)}] " \
           f"{_human(current)}/{_human(total)}"


def status(text: str, ident: str = "") -> Message:
    m: Message = {"status": text}
    if ident:
        m["id"] = ident
    return m


def detail(text: str, ident: str, current: int, total: int) -> Message:
    return {"status": text, "progressDetail": {"current": current, "total": total},
            "progress": bar(current, total), "id": ident}


def layer_id(digest: str) -> str:
    return short_id(digest)


class Throttle:
    """Lets a byte-progress update through every ``interval`` seconds (and always the last)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False
