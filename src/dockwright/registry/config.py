"""Registry configuration: registry:2's YAML shape, REGISTRY_* overrides, flags.

Keys shared with registry:2 mean the same thing, so a registry:2 user's file
works as is; keys we do not know are ignored (``notifications``, ``redis``,
``health``...). Precedence: flag > ``REGISTRY_*`` environment > file > default.

Defaults (documented here once):

* ``http.addr`` ``127.0.0.1:5000``; no TLS unless ``http.tls.certificate`` and ``key``.
* ``storage``: ``filesystem`` under ``/var/lib/dockwright-registry``
  (``rootdirectory``), or ``s3`` (bucket, region, regionendpoint, accesskey,
  secretkey, rootdirectory, secure, chunksize) or ``inmemory``.
* ``storage.delete.enabled`` false: DELETE answers 405 UNSUPPORTED.
* ``storage.maintenance.readonly.enabled`` false: every write answers 405.
* ``storage.maintenance.uploadpurging.age`` 168h: GC grace for uploads and
  unreferenced blobs.
* ``storage.redirect.disable`` false: S3 blob GETs redirect to a presigned URL.
* ``auth``: none (anonymous), ``htpasswd`` {realm, path} (bcrypt entries), or
  ``token`` {realm, service, issuer, rootcertbundle} plus our built-in
  issuer's ``signingkey`` (PEM private key), ``htpasswd`` (its users),
  ``expiration`` and ``acl`` ([{account, name, actions}], glob names,
  ``account`` ``*`` for any user, ``anonymous`` for no credentials).
* ``http.headers``: extra response headers, as in registry:2.
* ``REGISTRY_CONFIGURATION_PATH`` names the file when the command line does not.
* ``proxy`` {remoteurl, username, password, ttl (default 168h)}: pull-through cache.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from dockwright.errors import InvalidParameter

DEFAULT_ADDR = "127.0.0.1:5000"
DEFAULT_ROOT = "/var/lib/dockwright-registry"
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, default: float) -> float:
    """Go durations (``168h``, ``1h30m``, ``10s``) or plain seconds → seconds."""
    if value is None or value == "":
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    s = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise InvalidParameter(f"invalid duration {value!r}: use Go syntax such as 30s, 10m or 168h")
    return total


@dataclass(frozen=True)
class ACLEntry:
    account: str
    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class TokenConfig:
    realm: str = ""
    service: str = "dockwright-registry"
    issuer: str = "dockwright-registry"
    rootcertbundle: str = ""
    signingkey: str = ""
    htpasswd: str = ""
    expiration: float = 300.0
    acl: tuple[ACLEntry, ...] = ()


@dataclass(frozen=True)
class HtpasswdConfig:
    realm: str = "dockwright-registry"
    path: str = ""


@dataclass(frozen=True)
class ProxyConfig:
    remoteurl: str = ""
    username: str = ""
    password: str = ""
    ttl: float = 168 * 3600.0


@dataclass(frozen=True)
class Config:
    addr: str = DEFAULT_ADDR
    tls_certificate: str = ""
    tls_key: str = ""
    storage_driver: str = "filesystem"
    storage_params: dict[str, Any] = field(default_factory=lambda: {"rootdirectory": DEFAULT_ROOT})
    delete_enabled: bool = False
    readonly: bool = False
    redirect: bool = True
    upload_purge_age: float = 168 * 3600.0
    auth: str = ""  # "", "htpasswd", "token"
    htpasswd: HtpasswdConfig = HtpasswdConfig()
    token: TokenConfig = TokenConfig()
    proxy: ProxyConfig = ProxyConfig()
    log_level: str = "info"
    log_formatter: str = "text"  # text (key=value) or json
    access_log: bool = True
    headers: tuple[tuple[str, str], ...] = ()  # http.headers, added to every response

    @property
    def root(self) -> str:
        return str(self.storage_params.get("rootdirectory") or DEFAULT_ROOT)


def _apply_env(doc: dict[str, Any], environ: dict[str, str]) -> None:
    """``REGISTRY_HTTP_ADDR=…`` sets ``http.addr``; values are parsed as YAML scalars."""
    for key in sorted(environ):
        if not key.startswith("REGISTRY_") or key == "REGISTRY_CONFIGURATION_PATH":
            continue
        parts = [p.lower() for p in key[len("REGISTRY_") :].split("_") if p]
        if not parts:
            continue
        node = doc
        for p in parts[:-1]:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                nxt = {}
                node[p] = nxt
            node = nxt
        try:
            node[parts[-1]] = yaml.safe_load(environ[key]) if environ[key] else ""
        except yaml.YAMLError:
            node[parts[-1]] = environ[key]


def _section(doc: Any, *keys: str) -> dict[str, Any]:
    for k in keys:
        if not isinstance(doc, dict):
            return {}
        doc = doc.get(k)
    return doc if isinstance(doc, dict) else {}


def _bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    return bool(v)


def load(path: str | None = None, *, environ: dict[str, str] | None = None) -> Config:
    doc: dict[str, Any] = {}
    env = dict(os.environ if environ is None else environ)
    path = path or env.get("REGISTRY_CONFIGURATION_PATH") or None
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                loaded = yaml.safe_load(f)
        except OSError as exc:
            raise InvalidParameter(f"cannot read registry configuration {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise InvalidParameter(f"registry configuration {path} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise InvalidParameter(f"registry configuration {path} must be a YAML mapping")
        doc = loaded or {}
    _apply_env(doc, env)
    return from_dict(doc)


def from_dict(doc: dict[str, Any]) -> Config:
    http = _section(doc, "http")
    tls = _section(http, "tls")
    storage = _section(doc, "storage")
    driver, params = "filesystem", {"rootdirectory": DEFAULT_ROOT}
    drivers = [name for name in ("filesystem", "s3", "inmemory") if name in storage]
    if len(drivers) > 1:
        raise InvalidParameter(f"storage names {len(drivers)} drivers ({', '.join(drivers)}); configure one")
    if drivers:
        driver = drivers[0]
        params = dict(_section(storage, driver))
    if driver == "filesystem" and not params.get("rootdirectory"):
        params["rootdirectory"] = DEFAULT_ROOT
    if driver == "s3" and not params.get("bucket"):
        raise InvalidParameter("storage.s3.bucket is required for the s3 storage driver")
    maint = _section(storage, "maintenance")
    purging = _section(maint, "uploadpurging")
    auth = _section(doc, "auth")
    kind = ""
    hcfg = HtpasswdConfig()
    tcfg = TokenConfig()
    if "htpasswd" in auth:
        h = _section(auth, "htpasswd")
        kind = "htpasswd"
        hcfg = HtpasswdConfig(realm=str(h.get("realm") or hcfg.realm), path=str(h.get("path") or ""))
        if not hcfg.path:
            raise InvalidParameter("auth.htpasswd.path is required")
    elif "token" in auth:
        t = _section(auth, "token")
        kind = "token"
        acl = []
        for i, e in enumerate(t.get("acl") or []):
            if not isinstance(e, dict) or "name" not in e:
                raise InvalidParameter(f"auth.token.acl[{i}] needs account, name and actions")
            acts = e.get("actions") or []
            if isinstance(acts, str):
                acts = [a.strip() for a in acts.split(",")]
            acl.append(ACLEntry(str(e.get("account", "*")), str(e["name"]), tuple(str(a) for a in acts)))
        tcfg = TokenConfig(
            realm=str(t.get("realm") or ""),
            service=str(t.get("service") or tcfg.service),
            issuer=str(t.get("issuer") or tcfg.issuer),
            rootcertbundle=str(t.get("rootcertbundle") or ""),
            signingkey=str(t.get("signingkey") or ""),
            htpasswd=str(t.get("htpasswd") or ""),
            expiration=parse_duration(t.get("expiration"), tcfg.expiration),
            acl=tuple(acl),
        )
        if not tcfg.rootcertbundle and not tcfg.signingkey:
            raise InvalidParameter(
                "auth.token needs rootcertbundle (external issuer) or signingkey (built-in)"
            )
    p = _section(doc, "proxy")
    pcfg = ProxyConfig(
        remoteurl=str(p.get("remoteurl") or "").rstrip("/"),
        username=str(p.get("username") or ""),
        password=str(p.get("password") or ""),
        ttl=parse_duration(p.get("ttl"), ProxyConfig.ttl),
    )
    return Config(
        addr=str(http.get("addr") or DEFAULT_ADDR),
        tls_certificate=str(tls.get("certificate") or ""),
        tls_key=str(tls.get("key") or ""),
        storage_driver=driver,
        storage_params=params,
        delete_enabled=_bool(_section(storage, "delete").get("enabled", False)),
        readonly=_bool(_section(maint, "readonly").get("enabled", False)),
        redirect=not _bool(_section(storage, "redirect").get("disable", False)),
        upload_purge_age=parse_duration(purging.get("age"), 168 * 3600.0),
        auth=kind,
        htpasswd=hcfg,
        token=tcfg,
        proxy=pcfg,
        log_level=str(_section(doc, "log").get("level") or "info"),
        log_formatter=str(_section(doc, "log").get("formatter") or "text"),
        access_log=not _bool(_section(_section(doc, "log"), "accesslog").get("disabled", False)),
        headers=tuple(
            (str(k), str(v))
            for k, vals in _section(http, "headers").items()
            for v in (vals if isinstance(vals, list) else [vals])
        ),
    )


def split_addr(addr: str) -> tuple[str, int]:
    """``host:port`` (``:5000`` means every interface) → (host, port)."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidParameter(f"invalid http.addr {addr!r}: use host:port")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def make_driver(cfg: Config) -> Any:
    from .storage.driver.filesystem import FilesystemDriver
    from .storage.driver.inmemory import InMemoryDriver

    if cfg.storage_driver == "inmemory":
        return InMemoryDriver()
    if cfg.storage_driver == "s3":
        from .storage.driver.s3 import S3Driver, S3Params

        return S3Driver(S3Params.from_config(cfg.storage_params, redirect=cfg.redirect))
    return FilesystemDriver(cfg.root)
