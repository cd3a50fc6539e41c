"""The networks API over the three networks every daemon has: ``bridge``, ``host`` and ``none``.

Their IDs and creation times are made once per data root and kept, so a
restart (or a container record) sees the same ``NetworkID``::

    <data root>/network/predefined.json
        {"bridge": {"Id": <64 hex>, "Created": <RFC 3339 nano>}, "host": {...}, "none": {...}}

A data root from before this file keeps the bridge ID its IPAM leases and veth
aliases were made with. User-defined networks are a later step: creating,
removing, connecting and disconnecting answer with what to do instead, and
predefined names get dockerd's own refusals word for word.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Conflict, FailedPrecondition, Forbidden, InvalidParameter, NotFound, NotImplementedKind
from ..runtime.jsonlog import rfc3339nano
from .filters import Filters, label_matches

PREDEFINED = ("bridge", "host", "none")
DRIVERS = {"bridge": "bridge", "host": "host", "none": "null"}
LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
_FILE = "predefined.json"
USER_NETWORKS_LATER = ("user-defined networks are not supported yet: the daemon has only the predefined networks "
                       "bridge, host and none; choose one when the container is created "
                       "(docker run --network bridge|host|none|container:<name>)")


@dataclass(frozen=True)
class Record:
    name: str
    id: str
    created: str


def load_records(root: Path, legacy_bridge_id: str) -> dict[str, Record]:
    """The predefined networks' IDs for this data root, made (and written atomically) on first use."""
    d = root / "network"
    d.mkdir(parents=True, exist_ok=True)
    path = d / _FILE
    data: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            data = loaded
    except (OSError, ValueError):
        pass
    changed = False
    for name in PREDEFINED:
        entry = data.get(name)
        if not (isinstance(entry, dict) and re.fullmatch(r"[0-9a-f]{64}", str(entry.get("Id", "")))
                and entry.get("Created")):
            legacy = name == "bridge" and (d / "ipam.db").exists()
            data[name] = {"Id": legacy_bridge_id if legacy else secrets.token_hex(32), "Created": rfc3339nano()}
            changed = True
    if changed:
        tmp = d / f".{_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
    return {n: Record(n, str(data[n]["Id"]), str(data[n]["Created"])) for n in PREDEFINED}


def _regex_match(patterns: list[str], value: str) -> bool:
    """dockerd's ``filters.Match``: equal, or the pattern is a regular expression found in the value."""
    for p in patterns:
        if p == value:
            return True
        try:
            if re.search(p, value):
                return True
        except re.error:
            continue
    return False


def _bool_value(f: Filters, key: str) -> bool | None:
    vals = f.get(key)
    if not vals:
        return None
    v = vals[-1].lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise InvalidParameter(f"invalid value for filter '{key}', must be \"true\" (or \"1\"), or \"false\" (or \"0\")")


class NetworkViews:
    """What ``/networks`` shows and refuses; ``attached(name)`` lists the running containers on a network."""

    def __init__(self, records: dict[str, Record], *, bridge: Callable[[], dict[str, Any] | None],
                 attached: Callable[[str], dict[str, dict[str, str]]],
                 container: Callable[[str], Any], network_of: Callable[[Any], str]) -> None:
        self.records = records
        self._bridge = bridge  # {"name", "subnet", "gateway", "mtu"} or None when the bridge is off
        self._attached = attached
        self._container = container
        self._network_of = network_of

    def names(self) -> list[str]:
        return [n for n in PREDEFINED if n != "bridge" or self._bridge() is not None]

    # -- lookup

    def resolve(self, ref: str) -> str:
        """dockerd's order: full ID, then name, then unique ID prefix; the network's name."""
        names = self.names()
        for n in names:
            if self.records[n].id == ref:
                return n
        if ref in names:
            return ref
        hits = [n for n in names if ref and self.records[n].id.startswith(ref.lower())]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise Conflict(f"network {ref} is ambiguous ({len(hits)} matches found based on ID prefix)")
        raise NotFound(f"network {ref} not found")

    # -- bodies

    def body(self, name: str, *, containers: bool = True) -> dict[str, Any]:
        rec = self.records[name]
        ipam_config: list[dict[str, str]] = []
        options: dict[str, str] = {}
        if name == "bridge":
            br = self._bridge() or {}
            ipam_config = [{"Subnet": str(br.get("subnet", "")), "Gateway": str(br.get("gateway", ""))}]
            options = {
                "com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                # the daemon programs no NAT: containers reach out only where the host routes their subnet
                "com.docker.network.bridge.enable_ip_masquerade": "false",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                "com.docker.network.bridge.name": str(br.get("name", "")),
                "com.docker.network.driver.mtu": str(br.get("mtu", 1500)),
            }
        return {
            "Name": name,
            "Id": rec.id,
            "Created": rec.created,
            "Scope": "local",
            "Driver": DRIVERS[name],
            "EnableIPv4": name == "bridge",
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {}, "Config": ipam_config},
            "Internal": False,
            "Attachable": False,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": self._attached(name) if containers else {},
            "Options": options,
            "Labels": {},
        }

    def inspect(self, ref: str, scope: str = "") -> dict[str, Any]:
        name = self.resolve(ref)
        if scope and scope != "local":  # our networks are all local: asked for another scope, there is none
            raise NotFound(f"network {ref} not found")
        return self.body(name)

    def list(self, f: Filters) -> list[dict[str, Any]]:
        """``GET /networks``: Containers stay empty, as dockerd's list has left them since API 1.28."""
        kinds = f.get("type") or []
        for t in kinds:
            if t not in ("builtin", "custom"):
                raise InvalidParameter(f"invalid filter: 'type'='{t}'")
        dangling = _bool_value(f, "dangling")
        out = []
        for name in sorted(self.names()):
            rec = self.records[name]
            if "name" in f and not _regex_match(f["name"], name):
                continue
            if "id" in f and not _regex_match(f["id"], rec.id):
                continue
            if "driver" in f and DRIVERS[name] not in f["driver"]:
                continue
            if "scope" in f and "local" not in f["scope"]:
                continue
            if kinds and "builtin" not in kinds:
                continue
            if "label" in f and not label_matches({}, f["label"]):
                continue
            if dangling:  # predefined networks are never dangling
                continue
            out.append(self.body(name, containers=False))
        return out

    # -- what is refused, and how

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON in request body: expected an object with the network's Name")
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise InvalidParameter(f"invalid name: {name if isinstance(name, str) else ''}")
        if name in PREDEFINED:
            raise Forbidden(f"operation is not permitted on predefined {name} network ")
        raise NotImplementedKind(f"cannot create network {name}: {USER_NETWORKS_LATER}")

    def remove(self, ref: str) -> None:
        name = self.resolve(ref)
        raise Forbidden(f"{name} is a pre-defined network and cannot be removed")

    def connect(self, ref: str, body: Any, *, connect: bool) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("Container"), str) or not body["Container"]:
            raise InvalidParameter("request body must be a JSON object naming the Container")
        c = self._container(body["Container"])  # dockerd looks for the container first
        name = self.resolve(ref)
        if name == "host":
            raise InvalidParameter("container cannot be disconnected from host network or connected to host network")
        on = self._network_of(c) == name
        if connect and on:
            raise Forbidden(f"endpoint with name {c.name} already exists in network {name}")
        if not connect and not on:
            raise FailedPrecondition(f"container {c.id} is not connected to network {name}")
        verb = "connect" if connect else "disconnect"
        raise NotImplementedKind(f"cannot {verb} container {c.name} {'to' if connect else 'from'} network "
                                 f"{name}: a container's network is fixed when it is created; "
                                 f"{USER_NETWORKS_LATER}")

