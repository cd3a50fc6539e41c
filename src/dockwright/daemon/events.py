"""The event bus behind ``GET /events``: a ring of recent events plus live subscribers.

Docker keeps the last events in memory so that ``--since`` can replay them;
so do we. Publishing never blocks: a subscriber that cannot keep up loses
events rather than slowing the daemon down.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from .filters import Filters, label_matches


class EventBus:
    def __init__(self, keep: int = 1024) -> None:
        self._ring: deque[dict[str, Any]] = deque(maxlen=keep)
        self._subs: set[asyncio.Queue[dict[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str] | None = None) -> None:
        """Safe to call from worker threads."""
        t = time.time_ns()
        ev: dict[str, Any] = {
            "Type": type_,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": dict(attributes or {})},
            "scope": "local",
            "time": t // 1_000_000_000,
            "timeNano": t,
        }
        if type_ in ("container", "image"):
            ev["status"] = action
            ev["id"] = actor_id
            if attributes and "image" in attributes and type_ == "container":
                ev["from"] = attributes["image"]
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._deliver(ev)
            else:
                loop.call_soon_threadsafe(self._deliver, ev)
        else:
            self._ring.append(ev)

    def _deliver(self, ev: dict[str, Any]) -> None:
        self._ring.append(ev)
        for q in list(self._subs):
            try:
                q.put_nowait(ev)
            except asyncio.QueueFull:
                pass

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=4096)
        self._subs.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self._subs.discard(q)

    def recent(self, since: float | None, until: float | None) -> list[dict[str, Any]]:
        out = []
        for ev in list(self._ring):
            t = ev["timeNano"] / 1e9
            if since is not None and t < since:
                continue
            if until is not None and t > until:
                continue
            out.append(ev)
        return out


EVENT_FILTERS = ("config", "container", "daemon", "event", "image", "label", "network", "node", "plugin",
                 "scope", "secret", "service", "type", "volume")


def event_matches(ev: dict[str, Any], f: Filters) -> bool:
    actor = ev["Actor"]
    attrs = actor.get("Attributes") or {}
    if "type" in f and ev["Type"] not in f["type"]:
        return False
    if "event" in f and ev["Action"] not in f["event"] and ev["Action"].split(":")[0] not in f["event"]:
        return False
    if "scope" in f and ev["scope"] not in f["scope"]:
        return False
    if "label" in f and not label_matches(attrs, f["label"]):
        return False
    for kind in ("container", "image", "volume", "network", "daemon"):
        if kind in f:
            if kind == "image" and ev["Type"] == "container":
                name = attrs.get("image", "")
                if name not in f[kind] and not any(name.split(":")[0] == v for v in f[kind]):
                    return False
                continue
            if ev["Type"] != kind:
                return False
            ids = {actor["ID"], attrs.get("name", "")}
            short = actor["ID"].removeprefix("sha256:")
            if not any(v in ids or (len(v) >= 1 and short.startswith(v.removeprefix("sha256:"))) or
                       attrs.get("name", "").split(":")[0] == v for v in f[kind]):
                return False
    return True
