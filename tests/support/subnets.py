"""Private test subnets, claimed with a marker file per subnet shared by every test process on the
host (xdist workers, parallel runs): a bridge another process made may not be up yet when we look
at the routes, so the routes alone cannot tell."""

from __future__ import annotations

import os
import random
from ipaddress import IPv4Network
from pathlib import Path

from dockwright.network.subnets import overlapping_routes

CLAIMS = Path("/tmp/dockwright-test-subnets")
_claimed: list[Path] = []


def claim(net: IPv4Network, owner: int | None = None) -> bool:
    CLAIMS.mkdir(exist_ok=True)
    marker = CLAIMS / str(net.network_address)
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        try:
            pid = int(marker.read_text() or "0")
            os.kill(pid, 0)
            return False  # its owner is alive
        except (ValueError, ProcessLookupError, FileNotFoundError):
            marker.unlink(missing_ok=True)  # a crashed run's claim
            return claim(net, owner)
    with os.fdopen(fd, "w") as f:
        f.write(str(owner or os.getpid()))
    _claimed.append(marker)
    return True


def release(net: IPv4Network | None = None) -> None:
    if net is not None:
        marker = CLAIMS / str(net.network_address)
        marker.unlink(missing_ok=True)
        if marker in _claimed:
            _claimed.remove(marker)
        return
    while _claimed:
        _claimed.pop().unlink(missing_ok=True)


def free_subnet() -> IPv4Network | None:
    """A 172.31.x.0/24 that no route of the host uses, picked at random so parallel runs rarely collide."""
    thirds = list(range(64, 256))
    random.shuffle(thirds)
    for x in thirds:
        net = IPv4Network(f"172.31.{x}.0/24")
        if not overlapping_routes(net) and claim(net):
            if overlapping_routes(net):
                continue
            return net
    return None
