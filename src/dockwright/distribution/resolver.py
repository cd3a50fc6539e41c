"""Where a reference's registry lives: scheme, host, mirrors and TLS settings.

Docker's rules: ``docker.io`` is served by ``registry-1.docker.io`` (after the
``registry-mirrors``, tried first for pulls only); a registry is spoken to over
plain HTTP when it is listed in ``insecure-registries`` (host, host:port or a
CIDR) or its address is loopback (127.0.0.0/8, ::1); otherwise HTTPS, with
per-registry certificates from ``certs.d/<host[:port]>/`` (``*.crt`` CA files,
``*.cert`` + ``*.key`` client pairs) under /etc/docker and /etc/dockwright.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..oci.reference import DEFAULT_DOMAIN

DOCKER_HUB_HOST = "registry-1.docker.io"
CERTS_DIRS = (Path("/etc/docker/certs.d"), Path("/etc/dockwright/certs.d"))


@dataclass(frozen=True)
class Endpoint:
    """One base URL to talk to for a registry domain."""

    domain: str  # the reference's domain ("docker.io", "127.0.0.1:5000")
    host: str  # what goes in the URL ("registry-1.docker.io", "127.0.0.1:5000")
    secure: bool  # https
    mirror: bool = False
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    verify: bool = True  # False: an insecure registry tried over TLS without checking its certificate

    @property
    def base(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}"

    def ssl_arg(self) -> ssl.SSLContext | bool:
        """aiohttp's ``ssl=``: our context, the defaults, or no verification."""
        if not self.secure or not self.verify:
            return False
        return self.ssl_context or True


def _host_ip(host: str) -> str:
    h = host
    if h.startswith("["):
        h = h[1 : h.index("]")]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h


def is_insecure(host: str, insecure: Iterable[str]) -> bool:
    """Loopback and ``insecure-registries`` entries (names or CIDRs) are plain HTTP."""
    name = _host_ip(host)
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
        if name == "localhost":
            return True
    if ip is not None and ip.is_loopback:
        return True
    for entry in insecure:
        entry = entry.strip()
        if entry.startswith("http://"):
            entry = entry[len("http://"):]
        entry = entry.rstrip("/")
        if entry in (host, name):
            return True
        if ip is not None and "/" in entry:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def ssl_context_for(host: str, certs_dirs: Iterable[Path] = CERTS_DIRS) -> ssl.SSLContext | None:
    """A context with the registry's extra CAs and client certificate, or None for the defaults."""
    ctx: ssl.SSLContext | None = None
    for base in certs_dirs:
        d = base / host
        if not d.is_dir():
            continue
        if ctx is None:
            ctx = ssl.create_default_context()
        for ca in sorted(d.glob("*.crt")):
            ctx.load_verify_locations(cafile=str(ca))
        for cert in sorted(d.glob("*.cert")):
            key = cert.with_suffix(".key")
            if key.exists():
                ctx.load_cert_chain(str(cert), str(key))
    return ctx


class Resolver:
    """Maps a reference's domain to the endpoints to try, mirrors first."""

    def __init__(
        self,
        mirrors: Iterable[str] = (),
        insecure: Iterable[str] = (),
        certs_dirs: Iterable[Path] = CERTS_DIRS,
    ) -> None:
        self.mirrors = tuple(m.rstrip("/") for m in mirrors)
        self.insecure = tuple(insecure)
        self.certs_dirs = tuple(certs_dirs)

    def endpoint(self, domain: str) -> Endpoint:
        """The registry's own endpoint, the first of ``candidates``."""
        return self.candidates(domain)[0]

    def candidates(self, domain: str) -> list[Endpoint]:
        """Endpoints to try in order: HTTPS; for an insecure registry HTTPS unverified, then HTTP (Docker's)."""
        host = DOCKER_HUB_HOST if domain in (DEFAULT_DOMAIN, "index.docker.io") else domain
        ctx = ssl_context_for(host, self.certs_dirs)
        if not is_insecure(host, self.insecure):
            return [Endpoint(domain, host, True, False, ctx)]
        return [Endpoint(domain, host, True, False, ctx, verify=False), Endpoint(domain, host, False)]

    def mirrors_for(self, domain: str) -> list[Endpoint]:
        """``registry-mirrors`` apply to Docker Hub only, and to pulls only."""
        out: list[Endpoint] = []
        if domain == DEFAULT_DOMAIN:
            for m in self.mirrors:
                secure = m.startswith("https://")
                host = m.split("://", 1)[-1]
                ctx = ssl_context_for(host, self.certs_dirs) if secure else None
                out.append(Endpoint(domain, host, secure, True, ctx))
        return out


def login_domain(server: str) -> str:
    """``docker login``'s server address to a domain: URLs and Docker Hub's legacy names too."""
    s = server.strip()
    for prefix in ("https://", "http://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    s = s.split("/", 1)[0]
    if s in ("", "index.docker.io", "registry-1.docker.io", "docker.io"):
        return DEFAULT_DOMAIN
    return s
