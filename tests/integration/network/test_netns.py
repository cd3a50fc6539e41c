from __future__ import annotations

import os
import socket
import threading

import pytest
from pyroute2 import IPRoute

from dockwright.errors import AlreadyExists, InvalidParameter, NotFound
from dockwright.network import netns

from .conftest import Lab, mounts_under

pytestmark = pytest.mark.needs_root


def _links() -> dict[str, int]:
    with IPRoute() as ipr:
        return {str(link.get("ifname")): int(link["flags"]) for link in ipr.get_links()}


def test_create_is_a_new_namespace_with_lo_down(lab: Lab) -> None:
    mine = os.readlink("/proc/thread-self/ns/net")
    ns = lab.netns("c1")
    assert netns.is_mounted(ns)
    assert os.stat(ns).st_ino != os.stat("/proc/self/ns/net").st_ino
    links = netns.run_in_netns(ns, _links)
    assert list(links) == ["lo"]
    assert not links["lo"] & 1  # IFF_UP
    # the calling thread never changed namespace
    assert os.readlink("/proc/thread-self/ns/net") == mine
    with pytest.raises(AlreadyExists):
        netns.create(ns)
    assert netns.list_pinned(lab.root / "netns") == ["c1"]


def test_delete_is_idempotent(lab: Lab) -> None:
    ns = netns.create(lab.root / "netns" / "gone")
    netns.delete(ns)
    netns.delete(ns)
    assert not ns.exists()
    assert mounts_under(lab.root) == []
    with pytest.raises(NotFound):
        netns.run_in_netns(ns, _links)
    with pytest.raises(InvalidParameter, match="is a directory"):
        netns.delete(lab.root)


def test_loopback_only_and_traffic_on_127(lab: Lab) -> None:
    ns = lab.netns()
    netns.loopback_only(ns)
    links = netns.run_in_netns(ns, _links)
    assert list(links) == ["lo"] and links["lo"] & 1

    srv = netns.run_in_netns(ns, socket.create_server, ("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve() -> None:
        with srv:
            srv.settimeout(5)
            conn, _ = srv.accept()
            with conn:
                conn.sendall(conn.recv(100).upper())

    t = threading.Thread(target=serve)
    t.start()

    def client() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"ping")
            return c.recv(100)

    assert netns.run_in_netns(ns, client) == b"PING"
    t.join(timeout=10)
    # the host's loopback does not see the namespace's listener
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_run_in_netns_propagates_errors(lab: Lab) -> None:
    ns = lab.netns()

    def boom() -> None:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        netns.run_in_netns(ns, boom)


def test_netns_path_of_a_pid() -> None:
    assert netns.netns_path(1) == "/proc/1/ns/net"
    assert netns.netns_path("/x/y") == "/x/y"
