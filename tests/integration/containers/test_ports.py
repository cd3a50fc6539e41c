"""Published ports (``-p``, ``-P``) through the docker CLI: what ``port``, ``inspect`` and ``ps`` show
(dockerd's shapes), TCP and UDP forwarded from 127.0.0.1, and each refusal in dockerd's words.
Traffic goes only to loopback and into the test containers' own network namespaces."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from urllib.parse import quote

import pytest

from tests.integration.conftest import docker
from tests.support.daemon import DaemonProc
from tests.support.ports import free_port, http_get
from tests.support.schemas import validate_definition

HTTPD = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"

UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 81))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(100)
    s.sendto(data.upper(), addr)
"""


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _proxies(d: DaemonProc) -> int:
    out = subprocess.run(["pgrep", "-f", f"portproxy --owner {d.tmp / 'exec'} "], capture_output=True, text=True)
    return len(out.stdout.split())


def test_publish_tcp_udp_and_all(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name = _name("ports")
    tcp, udp = free_port(), free_port()
    docker(dw_daemon, "run", "-d", "--name", name, "-p", f"127.0.0.1:{tcp}:80", "-p", f"127.0.0.1:{udp}:81/udp",
           "--expose", "82", "--expose", "83", "-P", busybox_image, "sh", "-c", HTTPD)
    try:
        ports = docker(dw_daemon, "port", name).stdout.splitlines()
        assert ports[:2] == [f"80/tcp -> 127.0.0.1:{tcp}", f"81/udp -> 127.0.0.1:{udp}"], ports
        any_port = int(ports[2].rsplit(":", 1)[1])  # -P: 82 and 83 on ports the kernel picked, v4 and v6
        assert ports[2].startswith("82/tcp -> 0.0.0.0:") and any_port >= 1024, ports
        assert [p.split(" -> ")[0] for p in ports[2:]] in (["82/tcp", "82/tcp", "83/tcp", "83/tcp"],
                                                           ["82/tcp", "83/tcp"]), ports  # [::] if the host has IPv6
        c = json.loads(docker(dw_daemon, "inspect", name).stdout)[0]
        assert c["NetworkSettings"]["Ports"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(tcp)}]
        assert c["HostConfig"]["PortBindings"]["81/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(udp)}]
        validate_definition(c["NetworkSettings"]["Ports"], "PortMap")
        query = quote(json.dumps({"name": [name]}))
        listed = json.loads(dw_daemon.request("GET", f"/v1.47/containers/json?filters={query}")[1])
        assert len(listed[0]["Ports"]) == len(ports)
        for port in listed[0]["Ports"]:
            validate_definition(port, "Port")
        ps = docker(dw_daemon, "ps", "--filter", f"name={name}", "--format", "{{.Ports}}").stdout
        assert ps.startswith(f"127.0.0.1:{tcp}->80/tcp, 127.0.0.1:{udp}->81/udp, 0.0.0.0:"), ps
        for flt, listed_here in (("publish=80", True), ("publish=81/udp", True), ("publish=81", False),
                                 ("publish=79-80/tcp", True), ("expose=82-83", True), ("expose=9999", False)):
            names = docker(dw_daemon, "ps", "-q", "--no-trunc", "--filter", f"name={name}", "--filter", flt).stdout
            assert bool(names.strip()) is listed_here, flt
        assert http_get(tcp) == b"hello\n"
        # UDP: an echo server in the container's network namespace (busybox has none)
        pid = c["State"]["Pid"]
        echo = subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", UDP_ECHO],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert echo.stdout is not None and echo.stdout.readline() == "ready\n"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                for word in (b"one", b"two"):
                    s.sendto(word, ("127.0.0.1", udp))
                    assert s.recvfrom(100)[0] == word.upper()
        finally:
            echo.kill()
            echo.wait()
        # stopped: the ports are free and nothing listens; started again: served again
        assert _proxies(dw_daemon) >= 1
        docker(dw_daemon, "stop", "-t", "0", name)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", tcp), timeout=5)
        assert json.loads(docker(dw_daemon, "inspect", name).stdout)[0]["NetworkSettings"]["Ports"] == {}
        docker(dw_daemon, "start", name)
        assert http_get(tcp) == b"hello\n"
    finally:
        docker(dw_daemon, "rm", "-f", name)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", tcp), timeout=5)


def test_publish_refusals(dw_daemon: DaemonProc, busybox_image: str) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    name = _name("taken")
    try:
        before = _proxies(dw_daemon)
        r = docker(dw_daemon, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", busybox_image,
                   "sleep", "30", check=False)
        assert r.returncode == 125, r.stderr
        assert (f"driver failed programming external connectivity on endpoint {name}" in r.stderr
                and f"Bind for 127.0.0.1:{port} failed: port is already allocated" in r.stderr), r.stderr
        state = json.loads(docker(dw_daemon, "inspect", name).stdout)[0]["State"]
        assert not state["Running"] and "port is already allocated" in state["Error"]
        assert _proxies(dw_daemon) == before
    finally:
        taken.close()
        docker(dw_daemon, "rm", "-f", name)
    r = docker(dw_daemon, "run", "--rm", "--network", "host", "-p", "1:1", busybox_image, "true")
    assert "WARNING: Published ports are discarded when using host network mode" in r.stderr, r.stderr
    r = docker(dw_daemon, "run", "--rm", "--network", "none", "-p", f"{free_port()}:1", busybox_image, "true")
    assert r.returncode == 0
    other = _name("netowner")
    docker(dw_daemon, "create", "--name", other, busybox_image, "true")
    try:
        r = docker(dw_daemon, "run", "--rm", "--network", f"container:{other}", "-p", "1:1", busybox_image, "true",
                   check=False)
        assert r.returncode == 125 and \
            "conflicting options: port publishing and the container type network mode" in r.stderr, r.stderr
    finally:
        docker(dw_daemon, "rm", other)
    for bindings, message in (({"abc/tcp": None}, 'invalid port specification: "abc/tcp"'),
                              ({"80/sctp": None}, "SCTP ports are not supported"),
                              ({"80/tcp": [{"HostPort": "99999"}]}, 'invalid port specification: "99999"'),
                              ({"80/tcp": [{"HostIp": "nowhere"}]}, 'invalid IP address: "nowhere"')):
        body = {"Image": busybox_image, "Cmd": ["true"], "HostConfig": {"PortBindings": bindings}}
        status, raw = dw_daemon.request("POST", "/v1.47/containers/create", json.dumps(body).encode(),
                                        {"Content-Type": "application/json"})
        assert status == 400 and message in json.loads(raw)["message"], (status, raw)
