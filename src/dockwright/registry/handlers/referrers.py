"""``/v2/<name>/referrers/<digest>``: an index of the manifests whose subject is digest."""

from __future__ import annotations

from aiohttp import web

from dockwright.oci import mediatypes as mt

from ..names import check_digest
from .base import Ctx, json_response


async def get(ctx: Ctx, digest: str) -> web.StreamResponse:
    d = check_digest(digest)
    ctx.note(digest=d)
    descs = await ctx.run(ctx.repo.manifests.referrers, d)
    headers = {}
    want = ctx.request.query.getall("artifactType", [])
    if want:
        descs = [x for x in descs if x.get("artifactType") in want]
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descs}
    return json_response(body, headers=headers, content_type=mt.OCI_INDEX)
