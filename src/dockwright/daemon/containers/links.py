"""Legacy container links on the default bridge (``--link NAME[:ALIAS]``): a hosts entry for the
linked container and Docker's ``ALIAS_*`` environment variables, both as dockerd writes them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...errors import DockwrightError, InvalidParameter


def parse(spec: str) -> tuple[str, str]:
    """``name:alias``, ``name`` (alias = name), or the stored ``/name:/this/alias``: (name, alias)."""
    name, _, alias = spec.partition(":")
    name = name.lstrip("/")
    alias = alias.rsplit("/", 1)[-1] if alias else name
    if not name or not alias:
        raise InvalidParameter(f"invalid link format: {spec!r}: use NAME[:ALIAS]")
    return name, alias


def validate(host_config: dict[str, Any], get: Callable[[str], Any]) -> None:
    links = host_config.get("Links") or []
    if not links:
        return
    if (host_config.get("NetworkMode") or "default") == "host":
        raise InvalidParameter("conflicting options: host type networking can't be used with links. "
                               "This would result in undefined behavior")
    for spec in links:
        name, _ = parse(str(spec))
        try:
            get(name)
        except DockwrightError as exc:
            raise InvalidParameter(f"could not get container for {name}: {exc}") from None


def resolve(host_config: dict[str, Any], get: Callable[[str], Any]) -> list[tuple[str, Any]]:
    """(alias, linked container) of each link whose container still exists."""
    out = []
    for spec in host_config.get("Links") or []:
        name, alias = parse(str(spec))
        try:
            out.append((alias, get(name)))
        except DockwrightError:
            continue
    return out


def hosts_entries(linked: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(names, address) lines for /etc/hosts: ``alias ID name``, as dockerd writes them."""
    out = []
    for alias, other in linked:
        ip = (other.network or {}).get("ip")
        if ip:
            names = [alias] + ([other.id[:12], other.name] if alias != other.name else [other.id[:12]])
            out.append((" ".join(names), str(ip)))
    return out


def environment(this_name: str, linked: list[tuple[str, Any]]) -> list[str]:
    """``ALIAS_NAME``, ``ALIAS_PORT*`` for the linked container's exposed ports, ``ALIAS_ENV_*``."""
    env = []
    for alias, other in linked:
        prefix = re.sub(r"[^A-Za-z0-9_]", "_", alias).upper()
        ip = (other.network or {}).get("ip")
        ports = sorted(_ports(other.config.get("ExposedPorts") or {}))
        if ip and ports:
            port, proto = ports[0]
            env.append(f"{prefix}_PORT={proto}://{ip}:{port}")
            for port, proto in ports:
                base = f"{prefix}_PORT_{port}_{proto.upper()}"
                env += [f"{base}={proto}://{ip}:{port}", f"{base}_ADDR={ip}", f"{base}_PORT={port}",
                        f"{base}_PROTO={proto}"]
        env.append(f"{prefix}_NAME=/{this_name}/{alias}")
        for item in other.config.get("Env") or []:
            key, sep, value = str(item).partition("=")
            if sep and key not in ("HOME", "PATH"):
                env.append(f"{prefix}_ENV_{key}={value}")
    return env


def _ports(exposed: dict[str, Any]) -> list[tuple[int, str]]:
    out = []
    for key in exposed:
        port, _, proto = str(key).partition("/")
        if port.isdigit():
            out.append((int(port), proto or "tcp"))
    return out
