"""Which daemon to talk to, and how (docker's ``-H``/``DOCKER_HOST``/TLS rules).

Precedence: ``-H/--host``, then ``DOCKWRIGHT_HOST``, then ``DOCKER_HOST``, then
``unix:///run/dockwright.sock``. TLS follows docker: ``--tlsverify`` (or a
non-empty ``DOCKER_TLS_VERIFY``) implies ``--tls``; certificates default to
``ca.pem``/``cert.pem``/``key.pem`` under ``DOCKER_CERT_PATH`` (``~/.docker``)
when those files exist.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from dockwright.errors import InvalidParameter

DEFAULT_HOST = "unix:///run/dockwright.sock"
DEFAULT_HTTP_PORT = 2375
DEFAULT_TLS_PORT = 2376


class TLSConfig(NamedTuple):
    verify: bool = False
    ca_cert: str | None = None
    cert: str | None = None
    key: str | None = None


class Host(NamedTuple):
    """A parsed host: ``unix`` with a socket ``path``, or ``tcp`` with ``address``/``port``."""

    scheme: str
    path: str = ""
    address: str = ""
    port: int = 0

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        return f"tcp://{self.address}:{self.port}"


def resolve_host(flag: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return flag or env.get("DOCKWRIGHT_HOST") or env.get("DOCKER_HOST") or DEFAULT_HOST


def parse_host(value: str, *, tls: bool = False) -> Host:
    v = value.strip()
    if v.startswith("unix://"):
        path = v[len("unix://") :]
        if not path:
            raise InvalidParameter(f"invalid host {value!r}: unix:// needs a socket path")
        return Host("unix", path=path)
    if v.startswith("/"):
        return Host("unix", path=v)
    if v.startswith(("tcp://", "http://", "https://")):
        rest = v.split("://", 1)[1].rstrip("/")
    elif "://" in v:
        scheme = v.split("://", 1)[0]
        raise InvalidParameter(f"invalid host {value!r}: unsupported scheme {scheme!r} (use unix:// or tcp://)")
    else:
        rest = v
    if "/" in rest:
        rest = rest.split("/", 1)[0]
    default_port = DEFAULT_TLS_PORT if tls else DEFAULT_HTTP_PORT
    if rest.startswith("["):
        addr, _, tail = rest[1:].partition("]")
        port_s = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        addr, _, port_s = rest.partition(":")
    else:
        addr, port_s = rest, ""
    if not addr:
        addr = "localhost"
    try:
        port = int(port_s) if port_s else default_port
    except ValueError:
        raise InvalidParameter(f"invalid host {value!r}: bad port {port_s!r}") from None
    if not 0 < port < 65536:
        raise InvalidParameter(f"invalid host {value!r}: bad port {port}")
    return Host("tcp", address=addr, port=port)


def resolve_tls(
    *,
    tls: bool = False,
    tlsverify: bool | None = None,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TLSConfig | None:
    """The TLS settings docker would use, or ``None`` for plain HTTP."""
    env = os.environ if env is None else env
    if tlsverify is None:
        tlsverify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (tls or tlsverify):
        return None
    cert_path = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")

    def pick(given: str | None, name: str) -> str | None:
        if given:
            return given
        p = os.path.join(cert_path, name)
        return p if os.path.exists(p) else None

    return TLSConfig(verify=tlsverify, ca_cert=pick(cacert, "ca.pem"), cert=pick(cert, "cert.pem"),
                     key=pick(key, "key.pem"))
