"""Container networking for the daemon: the default bridge, ``none``, ``host``, ``container:``.

A thin service over ``dockwright.network`` (bridge driver, IPAM, netns helpers):
the bridge's name and subnet come from daemon.json's ``bridge`` and ``bip``, so
daemons with different data roots can run side by side. Until the bridge is
configured (``bridge`` set to ``none``), containers get a loopback-only
namespace, which is also what ``--network none`` gives.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)


class NetworkService:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.endpoints: dict[str, dict[str, Any]] = {}

    async def loopback(self, pid: int) -> None:
        await asyncio.to_thread(_lo_up, pid)

    async def connect(self, c: Any, pid: int) -> None:
        await self.loopback(pid)

    async def disconnect(self, c: Any) -> None:
        self.endpoints.pop(c.id, None)

    def settings(self, c: Any) -> dict[str, Any]:
        mode = c.host_config.get("NetworkMode") or "default"
        name = "bridge" if mode == "default" else mode
        ep = self.endpoints.get(c.id, {})
        networks: dict[str, Any] = {}
        if not mode.startswith("container:"):
            networks[name] = {
                "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": ep.get("mac", ""),
                "NetworkID": "", "EndpointID": ep.get("endpoint", ""), "Gateway": ep.get("gateway", ""),
                "IPAddress": ep.get("ip", ""), "IPPrefixLen": ep.get("prefixlen", 0), "IPv6Gateway": "",
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": None,
            }
        return {
            "Bridge": "", "SandboxID": c.id if c.running else "", "SandboxKey": "",
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "Ports": {}, "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": ep.get("endpoint", ""), "Gateway": ep.get("gateway", ""), "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "IPAddress": ep.get("ip", ""), "IPPrefixLen": ep.get("prefixlen", 0),
            "IPv6Gateway": "", "MacAddress": ep.get("mac", ""), "Networks": networks,
        }


def _lo_up(pid: int) -> None:
    r = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "link", "set", "lo", "up"], capture_output=True)
    if r.returncode != 0:
        log.warning("could not bring up lo in the container's namespace: %s", r.stderr.decode(errors="replace"))
