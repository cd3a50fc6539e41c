"""Routes a Docker user never thinks about but whose clients call: empty resources
that later issues fill (containers, networks, volumes, build cache) and swarm,
which we do not do, answered as a non-swarm dockerd answers."""

from __future__ import annotations

from aiohttp import web

from ...daemon.filters import parse_filters
from ..server import Routes, error_response, json_response


async def containers_list(request: web.Request) -> web.Response:
    parse_filters(request.query.get("filters"), ("ancestor", "before", "expose", "exited", "health", "id",
                                                 "isolation", "is-task", "label", "name", "network", "publish",
                                                 "since", "status", "volume"))
    return json_response([])


async def containers_prune(request: web.Request) -> web.Response:
    parse_filters(request.query.get("filters"), ("until", "label", "label!"))
    return json_response({"ContainersDeleted": [], "SpaceReclaimed": 0})


async def volumes_prune(request: web.Request) -> web.Response:
    parse_filters(request.query.get("filters"), ("label", "label!", "all"))
    return json_response({"VolumesDeleted": [], "SpaceReclaimed": 0})


async def volumes_list(request: web.Request) -> web.Response:
    return json_response({"Volumes": [], "Warnings": []})


async def swarm(request: web.Request) -> web.Response:
    return error_response(
        "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this "
        "node to swarm and try again.",
        503,
    )


def register(r: Routes) -> None:
    r.post("/volumes/prune", volumes_prune)
    r.get("/volumes", volumes_list)
    for path in ("/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs"):
        r.get(path, swarm)
    r.post("/swarm/leave", swarm)
    r.post("/swarm/init", swarm)
    r.post("/swarm/join", swarm)
