"""Small helpers over pyroute2's IPRoute shared by the network modules."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Interface
from typing import Any

from pyroute2 import IPRoute, NetlinkError

from ..errors import Conflict, Forbidden, Internal, NotFound

AF_INET = 2
MAIN_TABLE = 254


@contextmanager
def netlink_errors(what: str) -> Iterator[None]:
    """Turn netlink errors into error kinds with a message that names the operation."""
    try:
        yield
    except NetlinkError as exc:
        code = exc.code
        reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(exc)
        if code in (errno.EPERM, errno.EACCES):
            raise Forbidden(f"{what}: {reason} (the daemon needs root or CAP_NET_ADMIN)") from exc
        if code == errno.EEXIST:
            raise Conflict(f"{what}: {reason}") from exc
        if code in (errno.ENODEV, errno.ENOENT):
            raise NotFound(f"{what}: {reason}") from exc
        raise Internal(f"{what}: {reason}") from exc


def link_kind(msg: Any) -> str | None:
    kind = msg.get(("linkinfo", "kind"))
    return kind if isinstance(kind, str) else None


def lookup(ipr: IPRoute, name: str) -> int | None:
    """The index of link ``name`` (a targeted RTM_GETLINK, not a dump), or None."""
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def ipv4_addresses(ipr: IPRoute, index: int) -> list[IPv4Interface]:
    return [
        IPv4Interface(f"{a.get('IFA_LOCAL') or a.get('IFA_ADDRESS')}/{a['prefixlen']}")
        for a in ipr.get_addr(index=index, family=AF_INET)
    ]
