"""The bridge driver: a Linux bridge on the host and one veth pair per container.

Docker's default ``bridge`` network, over netlink (pyroute2)::

    host netns                                 container netns
    <bridge> 172.31.250.1/24 (bip) ──┬── veth1a2b3c4 ═══ eth0 172.31.250.2/24, 02:42:ac:1f:fa:02
                                     └── veth...     ═══ eth0 ...            default via 172.31.250.1

Bridge name and ``bip`` come from the daemon configuration, so daemons with
different data roots can run side by side. The host end of a pair is named
``veth`` + 7 hex characters derived from the container id and carries the alias
``dockwright:<network>:<container>``, which is how ``disconnect`` and
``endpoints`` find it again, also after a daemon restart. Deleting the host end
deletes the pair; when a container's namespace dies the kernel deletes the pair.

Nothing here touches NAT, and IPv4 forwarding stays as the host has it unless
``ensure(enable_forward=True)`` is asked for.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import string
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from pyroute2 import IPRoute, NetlinkError

from ..errors import Conflict, FailedPrecondition, Forbidden, Internal, InvalidParameter
from . import firewall
from ._netlink import AF_INET, MAIN_TABLE, ipv4_addresses, link_kind, lookup, netlink_errors
from .ipam import IPAM
from .netns import NetnsRef, open_netns, run_in_netns_fd
from .subnets import overlapping_routes, parse_bip, resolve_bip

__all__ = ["BridgeDriver", "Endpoint", "check_ifname", "mac_for", "parse_bip", "resolve_bip", "veth_names"]

log = logging.getLogger(__name__)

IFNAMSIZ = 15  # longest interface name the kernel accepts
_ALIAS_PREFIX = "dockwright:"
_VETH_CANDIDATES = 3  # after the id's own prefix; a clash on all four is astronomically rare
_IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


@dataclass(frozen=True)
class Endpoint:
    """A container's attachment to a network (what ``NetworkSettings`` reports)."""

    ip: IPv4Address
    gateway: IPv4Address
    mac: str
    prefixlen: int
    veth_host: str
    ifname: str = "eth0"
    network_id: str = ""
    container_id: str = ""

    @property
    def interface(self) -> IPv4Interface:
        return IPv4Interface(f"{self.ip}/{self.prefixlen}")


def mac_for(ip: IPv4Address) -> str:
    """Docker's MAC for an address: ``02:42`` (locally administered) then the four octets."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


def check_ifname(name: str) -> str:
    if not 0 < len(name) <= IFNAMSIZ or name in (".", "..") or any(c in name for c in "/: \t\n\0"):
        raise InvalidParameter(f"invalid interface name {name!r}: use 1 to {IFNAMSIZ} characters without '/', ':' "
                               "or spaces")
    return name


def veth_names(network_id: str, container_id: str) -> Iterator[str]:
    """Host-side names to try, in order: the container id's first 7 hex digits, then hashes."""
    cid = container_id.lower()
    if len(cid) >= 7 and all(c in string.hexdigits for c in cid[:7]):
        yield "veth" + cid[:7]
    for i in range(_VETH_CANDIDATES):
        yield "veth" + hashlib.sha256(f"{network_id}\0{container_id}\0{i}".encode()).hexdigest()[:7]


class BridgeDriver:
    """One Linux bridge and its containers' veth pairs; every method is synchronous and thread-safe."""

    def __init__(self, name: str, bip: str, ipam: IPAM, mtu: int = 1500, *, network_id: str | None = None) -> None:
        self.name = check_ifname(name)
        self.bip = parse_bip(bip)
        if not 68 <= mtu <= 65535:
            raise InvalidParameter(f"invalid mtu {mtu}: use a value between 68 and 65535")
        self.mtu = mtu
        self.ipam = ipam
        #: the IPAM pool and the veth aliases are keyed by this; defaults to the bridge name (unique per host)
        self.network_id = network_id or name

    @property
    def subnet(self) -> IPv4Network:
        return self.bip.network

    @property
    def gateway(self) -> IPv4Address:
        return self.bip.ip

    def _alias(self, container_id: str) -> str:
        return f"{_ALIAS_PREFIX}{self.network_id}:{container_id}"

    def _bridge_mac(self) -> str:
        # A fixed address: otherwise the bridge takes the lowest port MAC and changes it as ports come and go.
        h = hashlib.sha256(self.name.encode()).digest()
        return "02:42:" + ":".join(f"{b:02x}" for b in h[:4])

    # the bridge

    def exists(self) -> bool:
        with IPRoute() as ipr:
            return lookup(ipr, self.name) is not None

    def ensure(self, *, enable_forward: bool = False, icc: bool = True) -> None:
        """Create the bridge if missing, give it ``bip``, bring it up; idempotent.

        Refuses (Conflict) when a link of that name exists that is not a bridge or
        has another IPv4 address, or when another interface already routes an
        overlapping subnet. ``icc`` lets containers on the bridge talk to each other
        where the host filters bridged traffic (see ``firewall``).
        """
        clashes = overlapping_routes(self.subnet, ignore_ifname=self.name)
        if clashes:
            dst, dev = clashes[0]
            raise Conflict(f"bip {self.bip} overlaps the route to {dst} on {dev}: choose a free subnet for \"bip\"")
        with IPRoute() as ipr:  # refuse before changing anything
            index = lookup(ipr, self.name)
            if index is not None:
                self._check_existing(ipr, index)
        self.ipam.add_pool(self.network_id, self.subnet, self.gateway)
        with IPRoute() as ipr:
            index = lookup(ipr, self.name)
            if index is None:
                try:
                    with netlink_errors(f"cannot create bridge {self.name}"):
                        ipr.link("add", ifname=self.name, kind="bridge", mtu=self.mtu, address=self._bridge_mac())
                except Conflict:
                    pass  # created concurrently: checked below like any existing link
                index = lookup(ipr, self.name)
                if index is None:
                    raise Internal(f"bridge {self.name} vanished right after it was created")
            if not self._check_existing(ipr, index):
                with netlink_errors(f"cannot add address {self.bip} to bridge {self.name}"):
                    try:
                        ipr.addr("add", index=index, address=str(self.bip.ip), prefixlen=self.bip.network.prefixlen,
                                 broadcast=str(self.subnet.broadcast_address))
                    except NetlinkError as exc:
                        if exc.code != errno.EEXIST:  # a concurrent ensure() added it
                            raise
            with netlink_errors(f"cannot bring bridge {self.name} up"):
                ipr.link("set", index=index, state="up")
        if enable_forward:
            self._enable_forward()
        if icc:
            firewall.allow_intra_bridge(self.name)

    def _check_existing(self, ipr: IPRoute, index: int) -> bool:
        """Whether the existing link already has ``bip``; Conflict if it is not a bridge or has another address."""
        (link,) = ipr.get_links(index)
        if link_kind(link) != "bridge":
            raise Conflict(f"{self.name} exists and is not a bridge (kind {link_kind(link) or 'unknown'}): "
                           "set \"bridge\" to another name")
        addrs = ipv4_addresses(ipr, index)
        if self.bip in addrs:
            return True
        if addrs:
            raise Conflict(
                f"bridge {self.name} already has address {addrs[0]}, not {self.bip}: set \"bip\" to "
                f"{addrs[0]}, or delete the bridge (ip link delete {self.name}) and restart"
            )
        return False

    def _enable_forward(self) -> None:
        try:
            with open(_IP_FORWARD, encoding="ascii") as f:
                if f.read().strip() == "1":
                    return
            with open(_IP_FORWARD, "w", encoding="ascii") as f:
                f.write("1\n")
        except OSError as exc:
            raise Forbidden(f"cannot enable IPv4 forwarding ({_IP_FORWARD}): {exc.strerror}") from exc

    def remove(self) -> None:
        """Delete the bridge, its veths, its firewall rule and its address pool; idempotent (for teardown)."""
        for veth in self.endpoints().values():
            self._delete_link(veth)
        with IPRoute() as ipr:
            index = lookup(ipr, self.name)
            if index is not None:
                with netlink_errors(f"cannot delete bridge {self.name}"):
                    try:
                        ipr.link("del", index=index)
                    except NetlinkError as exc:
                        if exc.code != errno.ENODEV:
                            raise
        firewall.remove_intra_bridge(self.name)
        self.ipam.remove_pool(self.network_id, force=True)

    # endpoints

    def endpoints(self) -> dict[str, str]:
        """Container id -> host-side veth, for every pair of this network that exists (restore, cleanup)."""
        prefix = f"{_ALIAS_PREFIX}{self.network_id}:"
        out: dict[str, str] = {}
        with IPRoute() as ipr:
            for link in ipr.get_links():
                alias = link.get("ifalias")
                if isinstance(alias, str) and alias.startswith(prefix):
                    out[alias[len(prefix):]] = str(link.get("ifname"))
        return out

    def find_veth(self, container_id: str) -> str | None:
        """The host-side veth of the container on this network, if it exists."""
        alias = self._alias(container_id)
        with IPRoute() as ipr:
            for name in veth_names(self.network_id, container_id):
                index = lookup(ipr, name)
                if index is None:
                    continue
                links = ipr.get_links(index)
                if links and links[0].get("ifalias") == alias:
                    return name
        return None

    def connect(
        self,
        container_id: str,
        netns_path: NetnsRef,
        ifname: str = "eth0",
        preferred_ip: str | None = None,
        mac: str | None = None,
    ) -> Endpoint:
        """Attach the container's namespace (a path, or the pid of a process in it) to the bridge.

        Allocates an address, creates the veth pair with the container end already
        in the namespace as ``ifname`` (MAC from the address), brings up ``lo`` and
        ``ifname``, and routes the default via the bridge unless the namespace already
        has a default route (from a network joined earlier). A previous pair of the
        same container on this network is replaced. On failure nothing is left.
        """
        check_ifname(ifname)
        with open_netns(netns_path) as nsfd:
            with IPRoute() as ipr:
                bridge = lookup(ipr, self.name)
            if bridge is None:
                raise FailedPrecondition(f"bridge {self.name} does not exist: the network was not set up (ensure())")
            had_lease = self.ipam.lease(self.network_id, container_id) is not None
            if had_lease:  # connected before (a restart): replace the old pair if it still exists
                stale = self.find_veth(container_id)
                if stale is not None:
                    self._delete_link(stale)
            iface = self.ipam.allocate(self.network_id, container_id, preferred_ip)
            gateway = self.ipam.gateway(self.network_id).ip
            mac = mac or mac_for(iface.ip)
            veth: str | None = None
            try:
                # an existing ``ifname`` in the namespace makes the veth creation fail: _create_veth says so
                veth = self._create_veth(container_id, bridge, nsfd, ifname, mac)
                run_in_netns_fd(nsfd, _configure_inside, ifname, iface, gateway)
            except BaseException:
                if veth is not None:
                    self._delete_link(veth)
                if not had_lease:
                    self.ipam.release(self.network_id, container_id)
                raise
        return Endpoint(
            ip=iface.ip, gateway=gateway, mac=mac, prefixlen=iface.network.prefixlen, veth_host=veth, ifname=ifname,
            network_id=self.network_id, container_id=container_id,
        )

    def _create_veth(self, container_id: str, bridge: int, nsfd: int, ifname: str, mac: str) -> str:
        peer = {"ifname": ifname, "address": mac, "mtu": self.mtu, "net_ns_fd": nsfd}
        with IPRoute() as ipr:
            for name in veth_names(self.network_id, container_id):
                if lookup(ipr, name) is not None:
                    continue
                try:
                    with netlink_errors(f"cannot create veth pair {name} for container {container_id}"):
                        ipr.link("add", ifname=name, kind="veth", mtu=self.mtu, master=bridge, peer=peer)
                except Conflict:
                    if lookup(ipr, name) is None:  # the clash was inside the container's namespace
                        raise Conflict(f"the container's network namespace already has an interface {ifname}"
                                       ) from None
                    continue  # another pair took the name meanwhile: try the next one
                index = lookup(ipr, name)
                if index is None:
                    raise Internal(f"veth {name} vanished right after it was created")
                try:
                    with netlink_errors(f"cannot attach veth {name} to bridge {self.name}"):
                        ipr.link("set", index=index, ifalias=self._alias(container_id), state="up")
                except BaseException:
                    self._delete_link(name)
                    raise
                return name
        raise Conflict(f"no free veth name for container {container_id}: too many stale veth interfaces on the host")

    def disconnect(self, container_id: str) -> None:
        """Delete the container's pair and release its address; idempotent."""
        veth = self.find_veth(container_id)
        if veth is not None:
            self._delete_link(veth)
        self.ipam.release(self.network_id, container_id)

    @staticmethod
    def _delete_link(name: str) -> None:
        with IPRoute() as ipr, netlink_errors(f"cannot delete interface {name}"):
            index = lookup(ipr, name)
            if index is None:
                return
            try:
                ipr.link("del", index=index)
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:  # gone meanwhile (its namespace died)
                    raise


def _configure_inside(ifname: str, iface: IPv4Interface, gateway: IPv4Address) -> None:
    """Runs in the container's namespace: lo up, address, link up, default route."""
    with IPRoute() as ipr:
        lo = lookup(ipr, "lo")
        if lo is not None:
            with netlink_errors("cannot bring lo up in the container"):
                ipr.link("set", index=lo, state="up")
        index = lookup(ipr, ifname)
        if index is None:
            raise Internal(f"{ifname} did not appear in the container's network namespace")
        with netlink_errors(f"cannot configure {ifname} in the container"):
            ipr.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen,
                     broadcast=str(iface.network.broadcast_address))
            ipr.link("set", index=index, state="up")
            # The first network a container joins gives it its default route (as in Docker).
            if not [r for r in ipr.get_routes(family=AF_INET, table=MAIN_TABLE) if not r["dst_len"]]:
                ipr.route("add", dst="0.0.0.0/0", gateway=str(gateway), oif=index)
