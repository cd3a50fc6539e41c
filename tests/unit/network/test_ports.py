"""Port requests from HostConfig, and the shapes inspect and ps show them in."""

from __future__ import annotations

import socket

import pytest

from dockwright.errors import Internal, InvalidParameter
from dockwright.network import ports


def test_requests_from_bindings_and_publish_all() -> None:
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                           "53/udp": [{"HostIp": "", "HostPort": "5300-5310"}], "90": None},
          "PublishAllPorts": True}
    got = ports.requests(hc, {"80/tcp": {}, "443/tcp": {}})
    assert got == [ports.PortRequest(80, "tcp", "127.0.0.1", 8080, 8080), ports.PortRequest(53, "udp", "", 5300, 5310),
                   ports.PortRequest(90, "tcp", "", 0, 0), ports.PortRequest(443, "tcp", "", 0, 0)]
    assert ports.requests({"PortBindings": {"80/tcp": [{"HostIp": "[::1]", "HostPort": ""}]}}, None) == \
        [ports.PortRequest(80, "tcp", "::1", 0, 0)]


@pytest.mark.parametrize(("bindings", "message"), [
    ({"x/tcp": None}, 'invalid port specification: "x/tcp"'),
    ({"0/tcp": None}, 'invalid port specification: "0/tcp"'),
    ({"80/icmp": None}, 'invalid proto: "icmp"'),
    ({"80/sctp": None}, "SCTP ports are not supported"),
    ({"80/tcp": [{"HostPort": "9-1"}]}, 'invalid port specification: "9-1"'),
    ({"80/tcp": [{"HostIp": "300.1.1.1"}]}, 'invalid IP address: "300.1.1.1"'),
    ({"80/tcp": ["8080"]}, "must be a list of objects"),
])
def test_bad_requests(bindings: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        ports.requests({"PortBindings": bindings}, None)


def test_bind_a_range_skips_taken_ports_and_reports_a_taken_one() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(Internal, match=f"Bind for 127.0.0.1:{port} failed: port is already allocated"):
            ports.bind_all([ports.PortRequest(80, "tcp", "127.0.0.1", port, port)])
        got = ports.bind_all([ports.PortRequest(80, "tcp", "127.0.0.1", port, min(port + 50, 65535))])
        try:
            assert len(got) == 1 and got[0].host_port != port and got[0].sock.getsockname()[1] == got[0].host_port
        finally:
            ports.close_all(got)
    finally:
        taken.close()


def test_port_map_and_list() -> None:
    bound = [{"proto": "tcp", "host_ip": "0.0.0.0", "host_port": 8080, "container_port": 80},
             {"proto": "tcp", "host_ip": "::", "host_port": 8080, "container_port": 80}]
    assert ports.port_map(bound, {"80/tcp": {}, "443/tcp": {}}) == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
        "443/tcp": None}
    assert ports.port_list(bound, {"80/tcp": {}, "443/tcp": {}}) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"}]
