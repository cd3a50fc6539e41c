"""Container networking for the daemon: the default bridge, ``none``, ``host``, ``container:``.

A thin service over ``dockwright.network``: the bridge's name and subnet come
from daemon.json's ``bridge`` and ``bip`` (default ``dockwright0`` on the first
of Docker's default pools that is free on this host), so daemons with different
data roots run side by side. ``bridge: "none"`` turns the bridge off: default
containers then get a loopback-only namespace, as ``--network none`` does.
Endpoints are recorded on the container record, so a restarted daemon knows them.
What ``/networks`` shows of the three predefined networks (and refuses) is in
``network_views``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DockwrightError, Internal, InvalidParameter
from ..network import hostsfiles, netns, portproxy, ports
from ..network.bridge import BridgeDriver
from ..network.ipam import IPAM
from ..network.subnets import resolve_bip
from .containers import links
from .network_views import PREDEFINED, NetworkViews, load_records

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)
DEFAULT_BRIDGE = "dockwright0"


class NetworkService:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.bridge: BridgeDriver | None = None
        self.ipam: IPAM | None = None
        name = daemon.config.bridge or DEFAULT_BRIDGE
        self.bridge_name = name
        # per data root, kept across restarts; a data root from before keeps this hash its leases are under
        self.records = load_records(daemon.root, hashlib.sha256(f"bridge:{name}".encode()).hexdigest())
        self.network_id = self.records["bridge"].id
        self.views = NetworkViews(self.records, bridge=self._bridge_facts, attached=self.attached,
                                  container=lambda ref: daemon.containers.get(ref), network_of=self.network_name)
        self._proxies: dict[str, subprocess.Popen[bytes]] = {}  # by container, the ones this process started

    def start(self) -> None:
        """Create (or adopt) the bridge; sync, at start-up."""
        if self.bridge_name == "none":
            return
        (self.d.root / "network").mkdir(exist_ok=True)
        self.ipam = IPAM(self.d.root / "network" / "ipam.db")
        bip = resolve_bip(self.bridge_name, self.d.config.bip)
        self.bridge = BridgeDriver(self.bridge_name, bip, self.ipam, network_id=self.network_id)
        self.bridge.ensure()
        log.info("default bridge %s on %s", self.bridge_name, bip)

    def _bridge_facts(self) -> dict[str, Any] | None:
        b = self.bridge
        if b is None:
            return None
        return {"name": b.name, "subnet": str(b.subnet), "gateway": str(b.gateway), "mtu": b.mtu}

    def network_name(self, c: Any) -> str:
        """The predefined network a container is on (``default`` is ``bridge``), or its ``container:`` mode."""
        m = self.mode(c)
        return "bridge" if m in ("default", "bridge") else m

    @staticmethod
    def _endpoint_id(c: Any, name: str) -> str:
        """host and none have no veth, but dockerd still gives their endpoints an ID."""
        return hashlib.sha256(f"{c.id}:{name}".encode()).hexdigest()

    def attached(self, name: str) -> dict[str, dict[str, str]]:
        """A network's ``Containers``: its running containers' endpoints."""
        out: dict[str, dict[str, str]] = {}
        for c in list(self.d.containers.containers.values()):
            if not c.running or self.network_name(c) != name:
                continue
            ep = c.network or {}
            if name == "bridge":
                if not ep.get("ip"):
                    continue
                out[c.id] = {"Name": c.name, "EndpointID": str(ep.get("endpoint", "")),
                             "MacAddress": str(ep.get("mac", "")),
                             "IPv4Address": f"{ep['ip']}/{ep.get('prefixlen', 0)}", "IPv6Address": ""}
            else:
                out[c.id] = {"Name": c.name, "EndpointID": self._endpoint_id(c, name), "MacAddress": "",
                             "IPv4Address": "", "IPv6Address": ""}
        return out

    @property
    def proxy_owner(self) -> str:
        """Tells this daemon's port proxies from another's on the same host."""
        return str(self.d.config.exec_root)

    def cleanup_stale(self, running: set[str]) -> None:
        """Endpoints and pinned namespaces of containers that are gone (exited while the daemon was down)."""
        for name in netns.list_pinned(self.netns_dir):
            if name not in running:
                netns.delete(self.netns_dir / name)
        portproxy.stop_stale(self.proxy_owner, running)
        if self.bridge is None or self.ipam is None:
            return
        for cid in set(self.ipam.leases(self.network_id)) - running:
            self.bridge.disconnect(cid)

    @property
    def netns_dir(self) -> Path:
        return Path(self.d.config.exec_root) / "netns"

    def netns_file(self, c: Any) -> Path | None:
        """Where a bridged container's namespace is pinned (Docker's SandboxKey), or None for other modes.

        The daemon makes the namespace before the container's init exists, so the veth pair and the
        address are set up while the runtime creates the container, not after it."""
        if self.mode(c) not in ("default", "bridge"):
            return None
        return self.netns_dir / str(c.id)

    async def prepare(self, c: Any) -> None:
        path = self.netns_file(c)
        if path is None:
            return

        def make() -> None:
            if os.path.lexists(path):  # the container is starting: a pin at its path is a stale one
                netns.delete(path)
            netns.create(path)

        await asyncio.to_thread(make)

    def close(self) -> None:
        if self.ipam is not None:
            self.ipam.close()

    def mode(self, c: Any) -> str:
        m = c.host_config.get("NetworkMode") or "default"
        if m in ("default", "bridge") and self.bridge is None:
            return "none"
        return str(m)

    async def loopback(self, ref: int | Path) -> None:
        await asyncio.to_thread(netns.loopback_only, ref)

    async def connect(self, c: Any, ref: int | Path) -> None:
        """Attach the container's namespace (its pinned file, or its init's pid) to the bridge."""
        if self.bridge is None:
            await self.loopback(ref)
            return
        bridge = self.bridge

        def run() -> None:
            ep = bridge.connect(c.id, ref, mac=self._requested_mac(c))
            c.network = {"ip": str(ep.ip), "gateway": str(ep.gateway), "mac": ep.mac, "prefixlen": ep.prefixlen,
                         "endpoint": hashlib.sha256(f"{c.id}:{ep.veth_host}".encode()).hexdigest()}
            cdir = self.d.containers.cdir(c)
            hostsfiles.write_hosts(cdir, str(c.config.get("Hostname") or c.id[:12]), str(ep.ip),
                                   domainname=str(c.config.get("Domainname") or ""),
                                   extra_hosts=self.extra_hosts(c) + links.hosts_entries(
                                       links.resolve(c.host_config, self.d.containers.get)))
            self._publish(c, str(ep.ip))

        await asyncio.to_thread(run)

    def _publish(self, c: Any, ip: str) -> None:
        """Bind the container's published ports and hand them to its proxy (``-p``, ``-P``)."""
        reqs = ports.requests(c.host_config, c.config.get("ExposedPorts"))
        if not reqs:
            return
        try:
            listeners = ports.bind_all(reqs)
        except DockwrightError as exc:
            raise Internal(f"driver failed programming external connectivity on endpoint {c.name} "
                           f"({c.network.get('endpoint', '')}): {exc}") from None
        try:
            proc = portproxy.spawn(self.proxy_owner, c.id, listeners, ip)
        finally:
            ports.close_all(listeners)
        self._proxies[c.id] = proc
        c.network["proxy_pid"] = proc.pid
        c.network["ports"] = [{"proto": x.proto, "host_ip": x.host_ip, "host_port": x.host_port,
                               "container_port": x.container_port} for x in listeners]

    def _unpublish(self, c: Any) -> None:
        proc = self._proxies.pop(c.id, None)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        elif (c.network or {}).get("proxy_pid"):  # started by the daemon before a restart
            portproxy.stop(int(c.network["proxy_pid"]), self.proxy_owner, c.id)

    async def disconnect(self, c: Any) -> None:
        bridge, path = self.bridge, self.netns_file(c)

        def run() -> None:
            self._unpublish(c)
            if bridge is not None and c.network:
                bridge.disconnect(c.id)
            if path is not None and os.path.lexists(path):
                netns.delete(path)

        await asyncio.to_thread(run)
        c.network = {}

    @staticmethod
    def _requested_mac(c: Any) -> str | None:
        """``--mac-address``: per endpoint since API 1.44, in Config before."""
        endpoints = (c.networking or {}).get("EndpointsConfig") or {}
        for name in ("bridge", "default"):
            mac = (endpoints.get(name) or {}).get("MacAddress")
            if mac:
                return str(mac).replace("-", ":").lower()
        mac = c.config.get("MacAddress")
        return str(mac).replace("-", ":").lower() if mac else None

    def extra_hosts(self, c: Any) -> list[tuple[str, str]]:
        """``--add-host`` entries as (name, address); ``host-gateway`` is the default bridge's address."""
        out = []
        for spec in c.host_config.get("ExtraHosts") or []:
            name, addr = hostsfiles.parse_extra_host(str(spec))
            if addr == hostsfiles.HOST_GATEWAY:
                if self.bridge is None:
                    raise InvalidParameter("unable to derive the IP value for host-gateway: the daemon has no "
                                           "bridge network; give an address instead")
                addr = str(self.bridge.gateway)
            out.append((name, addr))
        return out

    def write_files(self, c: Any, cdir: Any) -> None:
        """hosts, hostname and resolv.conf at create time, in Docker's formats."""
        hostname = str(c.config.get("Hostname") or c.id[:12])
        mode = c.host_config.get("NetworkMode") or "default"
        extra = self.extra_hosts(c)
        if mode == "host":
            hostsfiles.write_host_network_hosts(cdir, extra_hosts=extra)
        else:
            hostsfiles.write_hosts(cdir, hostname, None, domainname=str(c.config.get("Domainname") or ""),
                                   extra_hosts=extra)
        hostsfiles.write_hostname(cdir, hostname)
        hostsfiles.write_resolv_conf(cdir, host_network=mode == "host",
                                     dns=list(c.host_config.get("Dns") or []),
                                     dns_search=list(c.host_config.get("DnsSearch") or []),
                                     dns_options=list(c.host_config.get("DnsOptions") or []))

    def _sandbox_key(self, c: Any) -> str:
        if not c.running:
            return ""
        path = self.netns_file(c)
        return str(path) if path is not None and os.path.lexists(path) else f"/proc/{c.state.get('Pid')}/ns/net"

    def settings(self, c: Any) -> dict[str, Any]:
        name = self.network_name(c)
        ep = c.network or {}
        networks: dict[str, Any] = {}
        if not name.startswith("container:"):
            # as dockerd: the network's ID once the container has been started, its endpoint's while it runs
            endpoint = ep.get("endpoint", "") if name == "bridge" else (
                self._endpoint_id(c, name) if c.running else "")
            networks[name] = {
                "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": ep.get("mac", ""),
                "NetworkID": self.records[name].id if name in PREDEFINED and c.has_been_started else "",
                "EndpointID": endpoint,
                "Gateway": ep.get("gateway", ""), "IPAddress": ep.get("ip", ""), "IPPrefixLen": ep.get("prefixlen", 0),
                "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None,
                "DNSNames": None,
            }
        return {
            "Bridge": "", "SandboxID": c.id if c.running else "",
            "SandboxKey": self._sandbox_key(c),
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports.port_map(ep.get("ports") or [], c.config.get("ExposedPorts")) if c.running else {},
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": ep.get("endpoint", ""), "Gateway": ep.get("gateway", ""), "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "IPAddress": ep.get("ip", ""), "IPPrefixLen": ep.get("prefixlen", 0),
            "IPv6Gateway": "", "MacAddress": ep.get("mac", ""), "Networks": networks,
        }
