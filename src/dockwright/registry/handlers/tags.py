"""``/v2/<name>/tags/list`` and ``/v2/_catalog``: sorted lists with n/last pagination."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from aiohttp import web

from ..errcode import NAME_UNKNOWN, PAGINATION_NUMBER_INVALID, RegistryError
from .base import Ctx, json_response

MAX_PAGE = 10000


def paginate(ctx: Ctx, items: Iterable[str], path: str) -> tuple[list[str], dict[str, str]]:
    q = ctx.request.query
    last = q.get("last", "")
    n: int | None = None
    if "n" in q:
        try:
            n = int(q["n"])
        except ValueError as exc:
            raise RegistryError(PAGINATION_NUMBER_INVALID, f"n must be an integer, not {q['n']!r}") from exc
        if n < 0:
            raise RegistryError(PAGINATION_NUMBER_INVALID, "n must not be negative")
        n = min(n, MAX_PAGE)
    if n == 0:
        return [], {}
    out: list[str] = []
    more = False
    for it in items:
        if last and it <= last:
            continue
        if n is not None and len(out) == n:
            more = True
            break
        out.append(it)
    headers = {}
    if more and out:
        headers["Link"] = f'<{path}?last={quote(out[-1], safe="")}&n={n}>; rel="next"'
    return out, headers


async def list_tags(ctx: Ctx) -> web.StreamResponse:
    if ctx.state.proxy is not None:
        tags = await ctx.state.proxy.tags(ctx)
    else:
        if not await ctx.run(ctx.repo.exists):
            raise RegistryError(
                NAME_UNKNOWN, f"repository {ctx.name} is not known to this registry", {"name": ctx.name}
            )
        tags = await ctx.run(ctx.repo.tags.all)
    page, headers = paginate(ctx, sorted(tags), f"/v2/{ctx.name}/tags/list")
    return json_response({"name": ctx.name, "tags": page}, headers=headers)


async def catalog(ctx: Ctx) -> web.StreamResponse:
    names = await ctx.run(lambda: list(ctx.state.registry.repositories()))
    page, headers = paginate(ctx, names, "/v2/_catalog")
    return json_response({"repositories": page}, headers=headers)
