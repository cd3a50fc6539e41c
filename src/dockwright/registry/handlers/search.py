"""``GET /v1/search?q=&n=&page=``: Docker Hub's search, answered from the catalog.

Not part of OCI Distribution (CNCF Distribution has no search, so ``docker search`` cannot
reach it); offered because the docker CLI and dockerd know no other way to find images in a
registry. A repository matches when its name contains the query, case-insensitively; we keep
no descriptions or stars, so those are empty and 0, and nothing is official or automated.
"""

from __future__ import annotations

from aiohttp import web

from ..errcode import PAGINATION_NUMBER_INVALID, RegistryError
from .base import Ctx, json_response

DEFAULT_N = 25
MAX_N = 100


def _int(ctx: Ctx, key: str, default: int, low: int) -> int:
    raw = ctx.request.query.get(key, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RegistryError(PAGINATION_NUMBER_INVALID, f"{key} must be an integer, not {raw!r}") from exc
    if value < low:
        raise RegistryError(PAGINATION_NUMBER_INVALID, f"{key} must be at least {low}")
    return value


async def search(ctx: Ctx) -> web.StreamResponse:
    query = ctx.request.query.get("q", "")
    n = min(_int(ctx, "n", DEFAULT_N, 1), MAX_N)
    page = _int(ctx, "page", 1, 1)
    needle = query.lower()
    names = await ctx.run(lambda: [r for r in ctx.state.registry.repositories() if needle in r.lower()])
    hits = names[(page - 1) * n: page * n]
    ctx.note(results=len(names))
    return json_response({
        "query": query, "num_results": len(names), "num_pages": max(1, -(-len(names) // n)),
        "page": page, "page_size": n,
        "results": [{"name": name, "description": "", "star_count": 0, "is_official": False,
                     "is_automated": False, "is_trusted": False} for name in hits],
    })
