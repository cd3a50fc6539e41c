"""Query-string parsing with Docker's rules; a bad value is a 400 that names the parameter."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..errors import InvalidParameter


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    v = request.query.get(name)
    if v is None:
        return default
    return v.strip().lower() not in ("", "0", "no", "false", "none")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    v = request.query.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError as exc:
        raise InvalidParameter(f"invalid value for {name}: {v!r} is not an integer") from exc


def qstr(request: web.Request, name: str, default: str = "") -> str:
    return request.query.get(name, default)


def qlist(request: web.Request, name: str) -> list[str]:
    return [v for v in request.query.getall(name, []) if v != ""]


async def json_body(request: web.Request, *, required: bool = True) -> Any:
    raw = await request.read()
    if not raw:
        if required:
            raise InvalidParameter("request body is required: send a JSON object")
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidParameter(f"invalid JSON in request body: {exc}") from exc
