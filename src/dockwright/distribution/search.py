"""``docker search``: the registry's v1 search endpoint, queried the way dockerd queries it.

OCI Distribution has no search; Docker Hub (and registries that copy it, ours included) answer
``GET /v1/search?q=TERM&n=LIMIT`` with ``{"query", "num_results", "results": [{"name",
"description", "star_count", "is_official", "is_automated"}]}``. The term names the registry
the way an image reference does (``127.0.0.1:5000/app`` searches 127.0.0.1:5000 for "app",
``app`` searches Docker Hub); the daemon filters the results (``is-official``,
``is-automated``, ``stars``) after the registry answered, as dockerd does.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

from ..errors import InvalidParameter, NotImplementedKind, Unavailable
from .auth import Credentials
from .client import RegistryClient
from .resolver import Endpoint

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
FILTERS = ("is-automated", "is-official", "stars")
HUB_INDEX = "index.docker.io"


def split_term(term: str) -> tuple[str, str]:
    """(registry domain, what to ask it for); a first component without '.' or ':' (and not
    ``localhost``) is a Docker Hub namespace, as in image references."""
    first, sep, rest = term.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost"):
        return "docker.io", term
    return first, rest


def check_limit(limit: int) -> int:
    if limit == 0:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidParameter(f"limit {limit} is outside the range of [1, {MAX_LIMIT}]")
    return limit


def _bool(filters: dict[str, list[str]], key: str) -> bool | None:
    values = filters.get(key)
    if not values:
        return None
    v = values[-1].lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise InvalidParameter(f"invalid filter '{key}={values[-1]}': must be true or false")


def apply_filters(results: list[dict[str, Any]], filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    automated, official = _bool(filters, "is-automated"), _bool(filters, "is-official")
    stars = 0
    for v in filters.get("stars", []):
        try:
            stars = max(stars, int(v))
        except ValueError:
            raise InvalidParameter(f"invalid filter 'stars={v}': must be an integer") from None
    out = []
    for r in results:
        if automated is not None and r["is_automated"] != automated:
            continue
        if official is not None and r["is_official"] != official:
            continue
        if r["star_count"] < stars:
            continue
        out.append(r)
    return out


def _result(item: Any) -> dict[str, Any] | None:
    """One entry in the Engine API's shape; entries that are not objects with a name are dropped."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    try:
        stars = int(item.get("star_count") or 0)
    except (TypeError, ValueError):
        stars = 0
    return {"star_count": stars, "is_official": bool(item.get("is_official")), "name": item["name"],
            "is_automated": bool(item.get("is_automated") or item.get("is_trusted")),
            "description": str(item.get("description") or "")}


def search_endpoint(ep: Endpoint) -> Endpoint:
    """Docker Hub searches on its index host, not on the registry host."""
    if ep.domain == "docker.io" and not ep.mirror:
        return Endpoint(ep.domain, HUB_INDEX, True, False, ep.ssl_context)
    return ep


async def query(session: aiohttp.ClientSession, ep: Endpoint, creds: Credentials, what: str,
                limit: int) -> list[dict[str, Any]]:
    """The registry's results, unfiltered."""
    client = RegistryClient(session, search_endpoint(ep), "", creds)
    url = f"{client.endpoint.base}/v1/search?q={quote(what, safe='')}&n={limit}"
    async with client.request("GET", url, scopes=("registry:catalog:*",),
                              headers={"X-Docker-Token": "true"}) as resp:
        if resp.status in (404, 405, 501):
            await resp.read()
            raise NotImplementedKind(
                f"Unexpected status code {resp.status}: the registry {ep.domain} does not offer search "
                f"(GET /v1/search); OCI registries such as CNCF Distribution have none: list a "
                f"repository's tags with its /v2/<name>/tags/list instead")
        if resp.status != 200:
            raise await client.fail(resp, f"search {ep.domain}")
        body = await resp.read()
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise Unavailable(f"search {ep.domain}: the registry's answer is not JSON") from exc
    items = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise Unavailable(f"search {ep.domain}: the registry's answer has no results list")
    return [r for r in (_result(i) for i in items) if r is not None][:limit]
