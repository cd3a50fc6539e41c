from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import pytest
from pyroute2 import IPRoute

from dockwright.errors import Conflict, FailedPrecondition, NotFound
from dockwright.network import netns
from dockwright.network.bridge import BridgeDriver, Endpoint
from dockwright.network.subnets import overlapping_routes, resolve_bip

from .conftest import Lab, bridge_name, container_id, free_subnet, link_names

pytestmark = pytest.mark.needs_root

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
# random per test process, so parallel workers never compete for the same veth names
CID_A = container_id()
CID_B = container_id()


def ip_json(ns: Path | int, *args: str) -> Any:
    """``ip -j ...`` inside the namespace (the tests inspect with ip; the library uses netlink)."""
    path = netns.netns_path(ns)
    out = subprocess.run(["nsenter", f"--net={path}", "ip", "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ping(ns: Path, target: IPv4Address | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", f"--net={ns}", BUSYBOX, "ping", "-c", "1", "-W", "2", str(target)],
        capture_output=True, text=True, timeout=10, check=False,
    )


def tcp_echo(server_ns: Path, server_ip: IPv4Address, client_ns: Path, payload: bytes) -> bytes:
    """A TCP echo between two namespaces: the listening socket is made inside ``server_ns``."""
    srv = netns.run_in_netns(server_ns, socket.create_server, (str(server_ip), 0))
    port = srv.getsockname()[1]

    def serve() -> None:
        with srv:
            srv.settimeout(5)
            conn, _ = srv.accept()
            with conn:
                conn.sendall(conn.recv(1024))

    t = threading.Thread(target=serve)
    t.start()

    def client() -> bytes:
        with socket.create_connection((str(server_ip), port), timeout=5) as c:
            c.sendall(payload)
            return c.recv(1024)

    try:
        return netns.run_in_netns(client_ns, client)
    finally:
        t.join(timeout=10)


def test_container_gets_address_mac_route_and_lo(lab: Lab) -> None:
    br = lab.bridge()
    ns = lab.netns()
    ep = br.connect(CID_A, ns)
    assert isinstance(ep, Endpoint)
    assert ep.ip == br.subnet.network_address + 2
    assert ep.gateway == br.gateway == br.subnet.network_address + 1
    assert ep.prefixlen == 24
    assert ep.mac == "02:42:" + ":".join(f"{b:02x}" for b in ep.ip.packed)
    assert ep.veth_host == "veth" + CID_A[:7]
    assert ep.ifname == "eth0"

    links = {link["ifname"]: link for link in ip_json(ns, "addr")}
    assert set(links) == {"lo", "eth0"}
    assert "UP" in links["lo"]["flags"]
    assert "UP" in links["eth0"]["flags"] and links["eth0"]["operstate"] == "UP"
    assert links["eth0"]["address"] == ep.mac
    assert links["eth0"]["mtu"] == 1500
    v4 = [a for a in links["eth0"]["addr_info"] if a["family"] == "inet"]
    assert [(a["local"], a["prefixlen"]) for a in v4] == [(str(ep.ip), 24)]
    routes = ip_json(ns, "-4", "route")
    assert {"dst": "default", "gateway": str(br.gateway), "dev": "eth0"}.items() <= routes[0].items()

    # host side: the veth is a port of the bridge, up
    host = {link["ifname"]: link for link in ip_json(os.getpid(), "link")}
    assert host[ep.veth_host]["master"] == br.name
    assert "UP" in host[ep.veth_host]["flags"]
    assert br.endpoints() == {CID_A: ep.veth_host}
    assert br.find_veth(CID_A) == ep.veth_host


def test_two_containers_talk_over_the_bridge(lab: Lab) -> None:
    br = lab.bridge()
    ns_a, ns_b = lab.netns(), lab.netns()
    a = br.connect(CID_A, ns_a)
    b = br.connect(CID_B, ns_b)
    assert a.ip != b.ip
    r = ping(ns_a, b.ip)
    assert r.returncode == 0, r.stdout + r.stderr
    r = ping(ns_b, br.gateway)  # the bridge's own address answers too
    assert r.returncode == 0, r.stdout + r.stderr
    assert tcp_echo(ns_b, b.ip, ns_a, b"hello over the bridge") == b"hello over the bridge"
    assert tcp_echo(ns_a, a.ip, ns_b, b"and back") == b"and back"


def test_disconnect_removes_the_pair_and_releases_the_address(lab: Lab) -> None:
    br = lab.bridge()
    ns = lab.netns()
    ep = br.connect(CID_A, ns)
    br.disconnect(CID_A)
    assert ep.veth_host not in link_names()
    assert [link["ifname"] for link in ip_json(ns, "link")] == ["lo"]
    assert br.ipam.lease(br.network_id, CID_A) is None
    assert br.endpoints() == {}
    br.disconnect(CID_A)  # idempotent
    br.disconnect("never-connected")
    # the address is free again
    again = br.connect(CID_B, ns)
    assert again.ip == ep.ip


def _netns_process() -> subprocess.Popen[bytes]:
    """A process in a network namespace of its own (never pinned: it dies with the process)."""
    proc = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    for _ in range(100):
        try:
            if os.readlink(f"/proc/{proc.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                return proc
        except FileNotFoundError:
            pass
        threading.Event().wait(0.02)
    proc.kill()
    proc.wait()
    raise AssertionError("unshare did not enter a new network namespace")


def test_namespace_death_removes_the_pair(lab: Lab) -> None:
    br = lab.bridge()
    proc = _netns_process()
    try:
        ep = br.connect(CID_A, proc.pid)
        assert ep.veth_host in link_names()
    finally:
        proc.kill()
        proc.wait()
    # the last process is gone: the kernel deletes the namespace and the veth pair with it
    for _ in range(100):
        if ep.veth_host not in link_names():
            break
        threading.Event().wait(0.05)
    assert ep.veth_host not in link_names()
    assert br.endpoints() == {}
    br.disconnect(CID_A)  # still releases the lease
    assert br.ipam.leases(br.network_id) == {}


def test_connect_by_pid_and_pin(lab: Lab) -> None:
    br = lab.bridge()
    proc = _netns_process()
    try:
        ep = br.connect(CID_A, proc.pid)
        pinned = netns.attach(lab.root / "netns" / "pinned", proc.pid)
        lab.namespaces.append(pinned)
        assert netns.list_pinned(lab.root / "netns") == ["pinned"]
    finally:
        proc.kill()
        proc.wait()
    # the namespace outlives its process because it is pinned
    addrs = [a["local"] for link in ip_json(pinned, "addr") for a in link["addr_info"] if a["family"] == "inet"]
    assert str(ep.ip) in addrs
    with pytest.raises(NotFound, match="no process"):
        netns.attach(lab.root / "netns" / "nobody", proc.pid)
    br.disconnect(CID_A)


def test_preferred_ip_and_reconnect(lab: Lab) -> None:
    br = lab.bridge()
    ns = lab.netns()
    want = str(br.subnet.network_address + 77)
    ep = br.connect(CID_A, ns, preferred_ip=want)
    assert str(ep.ip) == want
    # the container got a new namespace (restart): reconnecting replaces the old pair, keeps the address
    ns2 = lab.netns()
    ep2 = br.connect(CID_A, ns2)
    assert ep2.ip == ep.ip and ep2.veth_host == ep.veth_host
    assert [link["ifname"] for link in ip_json(ns, "link")] == ["lo"]
    assert list(br.endpoints()) == [CID_A]


def test_failed_connect_leaves_nothing(lab: Lab) -> None:
    br = lab.bridge()
    ns = lab.netns()
    br.connect(CID_A, ns)
    with pytest.raises(Conflict, match="already has an interface eth0"):
        br.connect(CID_B, ns)  # the same namespace already has eth0
    assert br.ipam.lease(br.network_id, CID_B) is None
    assert list(br.endpoints()) == [CID_A]
    with pytest.raises(NotFound, match="does not exist"):
        br.connect(CID_B, lab.root / "no-such-netns")
    assert br.ipam.lease(br.network_id, CID_B) is None
    # a custom interface name works in the same namespace
    ep = br.connect(CID_B, ns, ifname="eth1")
    assert ep.ifname == "eth1"
    assert {link["ifname"] for link in ip_json(ns, "link")} == {"lo", "eth0", "eth1"}


def test_connect_needs_the_bridge(lab: Lab) -> None:
    br = lab.bridge(ensure=False)
    ns = lab.netns()
    with pytest.raises(FailedPrecondition, match="does not exist"):
        br.connect(CID_A, ns)


def test_many_containers_in_parallel(lab: Lab) -> None:
    br = lab.bridge()
    ids = [container_id() for _ in range(12)]
    spaces = [lab.netns() for _ in ids]
    results: dict[str, Endpoint] = {}
    errors: list[BaseException] = []

    def run(cid: str, ns: Path) -> None:
        try:
            results[cid] = br.connect(cid, ns)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(ids, spaces, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len({ep.ip for ep in results.values()}) == len(ids)
    assert len({ep.veth_host for ep in results.values()}) == len(ids)
    assert ping(spaces[0], results[ids[-1]].ip).returncode == 0
    for cid in ids:
        br.disconnect(cid)
    assert br.endpoints() == {}


def test_two_daemons_side_by_side(lab: Lab) -> None:
    one = lab.bridge(lab.ipam("one.db"))
    two = lab.bridge(lab.ipam("two.db"))
    assert one.name != two.name and one.subnet != two.subnet
    ns1, ns2 = lab.netns(), lab.netns()
    e1 = one.connect(CID_A, ns1)
    e2 = two.connect(CID_A, ns2)  # the same container id on another daemon
    assert e1.ip in one.subnet and e2.ip in two.subnet
    assert e1.veth_host != e2.veth_host
    assert ping(ns1, one.gateway).returncode == 0
    assert ping(ns2, two.gateway).returncode == 0
    one.remove()
    assert one.name not in link_names() and two.name in link_names()
    assert two.endpoints() == {CID_A: e2.veth_host}
    assert ping(ns2, two.gateway).returncode == 0


def test_ensure_is_idempotent_and_refuses_a_different_address(lab: Lab) -> None:
    br = lab.bridge()
    br.ensure()
    br.ensure()
    other = free_subnet()
    clash = BridgeDriver(br.name, f"{other.network_address + 1}/24", lab.ipam("clash.db"))
    with pytest.raises(Conflict, match=f"already has address {br.bip}"):
        clash.ensure()
    assert clash.ipam.pools() == []  # refused before changing anything
    # a link of that name that is not a bridge
    name = "dwt" + os.urandom(3).hex()
    with IPRoute() as ipr:
        ipr.link("add", ifname=name, kind="veth", peer=name + "p")
    try:
        dummy = BridgeDriver(name, f"{other.network_address + 1}/24", lab.ipam("dummy.db"))
        with pytest.raises(Conflict, match="is not a bridge"):
            dummy.ensure()
    finally:
        with IPRoute() as ipr:
            ipr.link("del", index=ipr.link_lookup(ifname=name)[0])
    # a subnet some other interface routes
    overlap = BridgeDriver("dwt" + os.urandom(3).hex(), f"{br.subnet.network_address + 1}/25", lab.ipam("ov.db"))
    with pytest.raises(Conflict, match="overlaps the route"):
        overlap.ensure()
    assert overlap.name not in link_names()


def test_ensure_adopts_an_existing_bridge_and_survives_restart(lab: Lab) -> None:
    ipam = lab.ipam("restart.db")
    br = lab.bridge(ipam)
    ns = lab.netns()
    ep = br.connect(CID_A, ns)
    ipam.close()
    lab.drivers.remove(br)
    # a daemon restart: new IPAM handle on the same file, new driver object, the bridge still exists
    ipam2 = lab.ipam("restart.db")
    br2 = BridgeDriver(br.name, str(br.bip), ipam2)
    lab.drivers.append(br2)
    br2.ensure()
    assert br2.endpoints() == {CID_A: ep.veth_host}
    assert ipam2.lease(br2.network_id, CID_A) == ep.interface
    ep_b = br2.connect(CID_B, lab.netns())
    assert ep_b.ip == ep.ip + 1
    br2.disconnect(CID_A)
    br2.disconnect(CID_B)


def test_resolve_bip(lab: Lab) -> None:
    br = lab.bridge()
    assert resolve_bip(br.name) == str(br.bip)  # an existing bridge keeps its address
    assert resolve_bip(br.name, "10.99.0.1/24") == "10.99.0.1/24"  # explicit wins
    chosen = IPv4Interface(resolve_bip("dwt" + os.urandom(3).hex()))
    assert chosen.ip == chosen.network.network_address + 1
    assert chosen.network.prefixlen in (16, 20)
    assert not overlapping_routes(chosen.network)


def test_forwarding_untouched_by_default(lab: Lab) -> None:
    before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    lab.bridge()
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before


def test_veth_name_clash(lab: Lab) -> None:
    br = lab.bridge()
    prefix = secrets.token_hex(4)[:7]
    a, b = prefix + "0" * 57, prefix + "1" * 57
    ea = br.connect(a, lab.netns())
    eb = br.connect(b, lab.netns())
    assert ea.veth_host == "veth" + prefix
    assert eb.veth_host != ea.veth_host and len(eb.veth_host) == 11
    br.disconnect(a)
    assert eb.veth_host in link_names()
    assert br.endpoints() == {b: eb.veth_host}
    br.disconnect(b)
    assert br.endpoints() == {}


def test_mtu(lab: Lab) -> None:
    net = free_subnet()
    br = BridgeDriver(bridge_name(), f"{net.network_address + 1}/24", lab.ipam(), mtu=1400)
    lab.drivers.append(br)
    br.ensure()
    ns = lab.netns()
    ep = br.connect(CID_A, ns)
    assert {link["ifname"]: link["mtu"] for link in ip_json(ns, "link")}["eth0"] == 1400
    host = {link["ifname"]: link["mtu"] for link in ip_json(os.getpid(), "link")}
    assert host[ep.veth_host] == 1400 and host[br.name] == 1400


def test_ensure_adopts_a_bare_bridge(lab: Lab) -> None:
    br = lab.bridge(ensure=False)
    with IPRoute() as ipr:
        ipr.link("add", ifname=br.name, kind="bridge")
    br.ensure()
    addrs = [a["local"] for link in ip_json(os.getpid(), "addr", "show", "dev", br.name)
             for a in link["addr_info"] if a["family"] == "inet"]
    assert addrs == [str(br.gateway)]
    assert br.exists()


def test_called_from_asyncio_worker_threads(lab: Lab) -> None:
    """The daemon's pattern: sync calls through asyncio.to_thread, several at once."""
    br = lab.bridge(ensure=False)
    ids = [container_id() for _ in range(4)]
    spaces = [lab.netns() for _ in ids]

    async def main() -> list[Endpoint]:
        await asyncio.to_thread(br.ensure)
        eps = await asyncio.gather(*(asyncio.to_thread(br.connect, c, n) for c, n in zip(ids, spaces, strict=True)))
        await asyncio.gather(*(asyncio.to_thread(br.disconnect, c) for c in ids))
        return list(eps)

    eps = asyncio.run(main())
    assert len({ep.ip for ep in eps}) == 4
    assert br.endpoints() == {}
