"""Choosing and checking a bridge's subnet against the host's routes (read-only)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import AddressValueError, IPv4Interface, IPv4Network, NetmaskValueError

from pyroute2 import IPRoute

from ..errors import Conflict, InvalidParameter
from ._netlink import AF_INET, MAIN_TABLE, ipv4_addresses, lookup


def parse_bip(bip: str) -> IPv4Interface:
    """``bip`` as Docker takes it: the bridge's own address with the prefix length, e.g. ``172.31.250.1/24``."""
    if "/" not in bip:
        raise InvalidParameter(
            f"invalid bip {bip!r}: give the bridge's address with a prefix length, e.g. 172.31.250.1/24"
        )
    try:
        iface = IPv4Interface(bip)
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        raise InvalidParameter(f"invalid bip {bip!r}: {exc}") from None
    net = iface.network
    if net.prefixlen > 30:
        raise InvalidParameter(f"invalid bip {bip}: the subnet is too small, use a /30 or larger")
    if iface.ip in (net.network_address, net.broadcast_address):
        which = "network" if iface.ip == net.network_address else "broadcast"
        raise InvalidParameter(
            f"invalid bip {bip}: that is the subnet's {which} address, use a host address such as "
            f"{net.network_address + 1}"
        )
    return iface


def host_routes() -> list[tuple[IPv4Network, str]]:
    """The IPv4 routes of the host's main table other than the default one, with their device names."""
    out: list[tuple[IPv4Network, str]] = []
    with IPRoute() as ipr:
        names = {int(link["index"]): str(link.get("ifname")) for link in ipr.get_links()}
        for route in ipr.get_routes(family=AF_INET, table=MAIN_TABLE):
            if not route["dst_len"]:
                continue
            dst = IPv4Network(f"{route.get('RTA_DST')}/{route['dst_len']}", strict=False)
            out.append((dst, names.get(int(route.get("RTA_OIF") or 0), "another interface")))
    return out


def overlapping_routes(
    subnet: IPv4Network,
    *,
    ignore_ifname: str | None = None,
    routes: list[tuple[IPv4Network, str]] | None = None,
) -> list[tuple[IPv4Network, str]]:
    """Routes of the host (other than the default and those via ``ignore_ifname``) that overlap ``subnet``."""
    return [(dst, dev) for dst, dev in (host_routes() if routes is None else routes)
            if dst.overlaps(subnet) and dev != ignore_ifname]


def pick_free_subnet(candidates: Iterable[str | IPv4Network]) -> IPv4Network:
    """The first candidate subnet that overlaps no route of the host."""
    routes = host_routes()
    for c in candidates:
        net = IPv4Network(c, strict=False)
        if not overlapping_routes(net, routes=routes):
            return net
    raise Conflict("every candidate subnet overlaps a route of the host: choose another bip")


def docker_default_pools() -> Iterator[IPv4Network]:
    """Docker's default address pools for bridges: 172.17-31.0.0/16, then 192.168.x.0/20."""
    for second in range(17, 32):
        yield IPv4Network(f"172.{second}.0.0/16")
    yield from IPv4Network("192.168.0.0/16").subnets(new_prefix=20)


def bridge_address(name: str) -> IPv4Interface | None:
    """The IPv4 address an existing link ``name`` has, if any."""
    with IPRoute() as ipr:
        index = lookup(ipr, name)
        addrs = ipv4_addresses(ipr, index) if index is not None else []
    return addrs[0] if addrs else None


def resolve_bip(name: str, bip: str = "") -> str:
    """The ``bip`` to use when the configuration may leave it empty, chosen as Docker does.

    An explicit ``bip`` wins; else the address of an existing bridge ``name``;
    else the gateway of the first of Docker's default pools that overlaps no route.
    """
    if bip:
        return str(parse_bip(bip))
    existing = bridge_address(name)
    if existing is not None:
        return str(existing)
    try:
        net = pick_free_subnet(docker_default_pools())
    except Conflict:
        raise Conflict(
            "every default address pool overlaps a route of the host: set \"bip\" in the daemon configuration"
        ) from None
    return f"{net.network_address + 1}/{net.prefixlen}"
