"""Published ports (``-p``, ``-P``): which host addresses and ports a container asks for, and the
listening sockets that hold them.

The daemon binds every socket itself, before the container starts, so a port another process
holds is the start's error with Docker's wording, and connections made before the proxy runs wait
in the kernel's backlog instead of being refused. The sockets then go to the container's port
proxy (``portproxy``), which forwards to the container's address, as dockerd's ``docker-proxy``.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Internal, InvalidParameter

PROTOCOLS = ("tcp", "udp")
_EPHEMERAL_TRIES = 20


@dataclass(frozen=True)
class PortRequest:
    """One ``HostConfig.PortBindings`` entry (or a ``-P`` one): host ports ``lo``..``hi``, 0 = any."""

    container_port: int
    proto: str
    host_ip: str  # "" = every address, IPv4 and IPv6
    lo: int
    hi: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


@dataclass
class Listener:
    sock: socket.socket
    proto: str
    host_ip: str
    host_port: int
    container_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def parse_port_key(key: str) -> tuple[int, str]:
    """``80/tcp``, ``53/udp``, or ``80`` (tcp)."""
    port_s, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto == "sctp":
        raise InvalidParameter(f"publishing {key}: SCTP ports are not supported; publish TCP or UDP ports")
    if proto not in PROTOCOLS:
        raise InvalidParameter(f'invalid proto: "{proto}"')
    port = _port(port_s, key)
    if port == 0:
        raise InvalidParameter(f'invalid port specification: "{key}"')
    return port, proto


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise InvalidParameter(f'invalid port specification: "{spec}"')
    return int(text)


def _host_range(text: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    lo_s, sep, hi_s = text.partition("-")
    lo = _port(lo_s, text)
    hi = _port(hi_s, text) if sep else lo
    if hi < lo:
        raise InvalidParameter(f'invalid port specification: "{text}"')
    return lo, hi


def requests(host_config: Mapping[str, Any], exposed: Mapping[str, Any] | None) -> list[PortRequest]:
    """What the container publishes: its PortBindings, and with PublishAllPorts every exposed port
    not bound already, on a port the kernel picks."""
    out: list[PortRequest] = []
    bindings = host_config.get("PortBindings") or {}
    if not isinstance(bindings, Mapping):
        raise InvalidParameter("HostConfig.PortBindings must be an object")
    for key, entries in bindings.items():
        port, proto = parse_port_key(str(key))
        for entry in entries or [{}]:
            if not isinstance(entry, Mapping):
                raise InvalidParameter(f"HostConfig.PortBindings[{key!r}] must be a list of objects")
            ip = str(entry.get("HostIp") or "")
            if ip:
                ip = ip.strip("[]")
                try:
                    socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
                except OSError:
                    raise InvalidParameter(f'invalid IP address: "{ip}"') from None
            lo, hi = _host_range(str(entry.get("HostPort") or ""))
            out.append(PortRequest(port, proto, ip, lo, hi))
    if host_config.get("PublishAllPorts"):
        bound = {r.key for r in out}
        for key in exposed or {}:
            port, proto = parse_port_key(str(key))
            if f"{port}/{proto}" not in bound:
                out.append(PortRequest(port, proto, "", 0, 0))
    return out


def bind_all(reqs: list[PortRequest]) -> list[Listener]:
    """Listening sockets for every request, or none and the first failure in Docker's words."""
    done: list[Listener] = []
    try:
        for r in reqs:
            done.extend(_bind_request(r))
    except BaseException:
        close_all(done)
        raise
    return done


def close_all(listeners: list[Listener]) -> None:
    for x in listeners:
        with contextlib.suppress(OSError):
            x.sock.close()


def _bind_request(r: PortRequest) -> list[Listener]:
    ips = [r.host_ip] if r.host_ip else ["0.0.0.0", *(["::"] if _ipv6_available() else [])]
    if r.lo == 0:  # any port: the kernel picks for the first address, the others must get the same one
        last: OSError | None = None
        for _ in range(_EPHEMERAL_TRIES):
            try:
                return _bind_port(r, ips, 0)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise _bind_error(r, ips[0], 0, exc) from None
                last = exc
        raise _bind_error(r, ips[0], 0, last or OSError(errno.EADDRINUSE, "in use"))
    for port in range(r.lo, r.hi + 1):
        try:
            return _bind_port(r, ips, port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == r.hi:
                raise _bind_error(r, ips[0], port, exc) from None
    raise AssertionError("unreachable")


def _bind_port(r: PortRequest, ips: list[str], port: int) -> list[Listener]:
    out: list[Listener] = []
    try:
        for ip in ips:
            s = _socket(ip, r.proto)
            out.append(Listener(s, r.proto, ip, port, r.container_port))
            s.bind((ip, port))
            port = s.getsockname()[1]
            out[-1].host_port = port
            if r.proto == "tcp":
                s.listen(128)
    except BaseException:
        close_all(out)
        raise
    return out


def _socket(ip: str, proto: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # 0.0.0.0 is bound separately
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free to take
    except BaseException:
        s.close()
        raise
    return s


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _bind_error(r: PortRequest, ip: str, port: int, exc: OSError) -> Internal:
    where = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return Internal(f"Bind for {where} failed: port is already allocated")
    return Internal(f"listen {r.proto}{'6' if ':' in ip else '4'} {where}: bind: {exc.strerror or exc}")


def port_map(listeners: list[dict[str, Any]], exposed: Mapping[str, Any] | None) -> dict[str, Any]:
    """``NetworkSettings.Ports``: each exposed or published port, with its host bindings or null."""
    out: dict[str, Any] = {str(k) if "/" in str(k) else f"{k}/tcp": None for k in exposed or {}}
    for x in listeners:
        key = f"{x['container_port']}/{x['proto']}"
        out[key] = [*(out.get(key) or []), {"HostIp": x["host_ip"], "HostPort": str(x["host_port"])}]
    return out


def port_list(listeners: list[dict[str, Any]], exposed: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The ``Ports`` of ``GET /containers/json``: published ports, then exposed ones without a binding."""
    out: list[dict[str, Any]] = [{"IP": x["host_ip"], "PrivatePort": x["container_port"],
                                  "PublicPort": x["host_port"], "Type": x["proto"]} for x in listeners]
    published = {(x["container_port"], x["proto"]) for x in listeners}
    for key in exposed or {}:
        port_s, _, proto = str(key).partition("/")
        if port_s.isdigit() and (int(port_s), proto or "tcp") not in published:
            out.append({"PrivatePort": int(port_s), "Type": proto or "tcp"})
    return out
