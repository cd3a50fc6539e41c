"""Daemon configuration: one JSON file with Docker's ``daemon.json`` key names.

Precedence: command-line flag > ``DOCKWRIGHT_*`` environment > file > default.
Users bring their existing ``daemon.json``: keys we know are honoured, keys
Docker has and we do not use yet are accepted and ignored, and anything else
is refused with Docker's wording so a typo does not pass silently.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import InvalidParameter

DEFAULT_DATA_ROOT = "/var/lib/dockwright"
DEFAULT_EXEC_ROOT = "/run/dockwright"
DEFAULT_SOCKET = "unix:///run/dockwright.sock"


@dataclass(frozen=True)
class RuntimeConfig:
    path: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class DaemonConfig:
    """Every field documents its daemon.json key in ``_KEYS``; defaults are Docker's."""

    data_root: str = DEFAULT_DATA_ROOT
    exec_root: str = DEFAULT_EXEC_ROOT
    hosts: tuple[str, ...] = (DEFAULT_SOCKET,)
    pidfile: str = ""  # default: <exec_root>/dockwright.pid
    log_level: str = "info"
    debug: bool = False
    tls: bool = False
    tlsverify: bool = False
    tlscacert: str = ""
    tlscert: str = ""
    tlskey: str = ""
    storage_driver: str = ""  # "" = overlay2 if the kernel has it, else "native"
    default_runtime: str = "runc"
    runtimes: dict[str, RuntimeConfig] = field(default_factory=dict)
    bridge: str = ""
    bip: str = ""
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    log_driver: str = "json-file"
    log_opts: dict[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    builder_gc_keep_storage: str = ""

    @property
    def pid_path(self) -> Path:
        return Path(self.pidfile) if self.pidfile else Path(self.exec_root) / "dockwright.pid"


_KEYS: dict[str, str] = {
    "data-root": "data_root",
    "exec-root": "exec_root",
    "hosts": "hosts",
    "pidfile": "pidfile",
    "log-level": "log_level",
    "debug": "debug",
    "tls": "tls",
    "tlsverify": "tlsverify",
    "tlscacert": "tlscacert",
    "tlscert": "tlscert",
    "tlskey": "tlskey",
    "storage-driver": "storage_driver",
    "default-runtime": "default_runtime",
    "runtimes": "runtimes",
    "bridge": "bridge",
    "bip": "bip",
    "insecure-registries": "insecure_registries",
    "registry-mirrors": "registry_mirrors",
    "max-concurrent-downloads": "max_concurrent_downloads",
    "max-concurrent-uploads": "max_concurrent_uploads",
    "log-driver": "log_driver",
    "log-opts": "log_opts",
    "labels": "labels",
}
# Keys of Docker's daemon.json we accept without acting on them (yet).
_IGNORED = frozenset(
    {
        "experimental", "features", "builder", "live-restore", "iptables", "ip-forward", "ip-masq",
        "userland-proxy", "storage-opts", "exec-opts", "dns", "dns-opts", "dns-search", "mtu",
        "default-address-pools", "cgroup-parent", "default-ulimits", "group", "shutdown-timeout",
        "metrics-addr", "max-download-attempts", "ipv6", "fixed-cidr", "fixed-cidr-v6",
        "default-gateway", "icc", "init", "init-path", "selinux-enabled", "userns-remap",
        "containerd", "default-shm-size", "no-new-privileges", "seccomp-profile", "raw-logs",
        "allow-nondistributable-artifacts", "authorization-plugins", "oom-score-adjust",
    }
)


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(DaemonConfig)}[name]
    if name == "runtimes":
        if not isinstance(value, dict):
            raise InvalidParameter("runtimes must be an object of name -> {path, runtimeArgs}")
        out: dict[str, RuntimeConfig] = {}
        for rname, spec in value.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
                raise InvalidParameter(f"runtime {rname!r} needs a \"path\"")
            args = spec.get("runtimeArgs") or []
            out[str(rname)] = RuntimeConfig(spec["path"], tuple(str(a) for a in args))
        return out
    if "tuple" in str(kind):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidParameter(f"{name.replace('_', '-')} must be a list of strings")
        return tuple(value)
    if kind in ("bool", bool):
        if not isinstance(value, bool):
            raise InvalidParameter(f"{name.replace('_', '-')} must be true or false")
        return value
    if kind in ("int", int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidParameter(f"{name.replace('_', '-')} must be an integer")
        return value
    if "dict" in str(kind):
        if not isinstance(value, dict):
            raise InvalidParameter(f"{name.replace('_', '-')} must be an object")
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise InvalidParameter(f"{name.replace('_', '-')} must be a string")
    return value


def load_file(path: str | os.PathLike[str], base: DaemonConfig | None = None) -> DaemonConfig:
    """Read a daemon.json; unknown keys are refused as dockerd refuses them."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise InvalidParameter(f"unable to configure the daemon: config file {path} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise InvalidParameter(f"unable to configure the daemon with file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidParameter(f"unable to configure the daemon with file {path}: not a JSON object")
    unknown = sorted(k for k in raw if k not in _KEYS and k not in _IGNORED)
    if unknown:
        raise InvalidParameter(
            "unable to configure the daemon with file "
            f"{path}: the following directives don't match any configuration option: {', '.join(unknown)}"
        )
    updates = {_KEYS[k]: _coerce(_KEYS[k], v) for k, v in raw.items() if k in _KEYS}
    return replace(base or DaemonConfig(), **updates)


def from_env(base: DaemonConfig) -> DaemonConfig:
    """``DOCKWRIGHT_DATA_ROOT`` and friends: the daemon.json key, upper-cased, dashes to underscores."""
    updates: dict[str, Any] = {}
    for key, attr in _KEYS.items():
        env = "DOCKWRIGHT_" + key.upper().replace("-", "_")
        if env in os.environ and attr != "runtimes":
            val: Any = os.environ[env]
            kind = {f.name: f.type for f in fields(DaemonConfig)}[attr]
            if "tuple" in str(kind):
                val = [v for v in val.split(",") if v]
            elif kind in ("bool", bool):
                val = val.lower() in ("1", "true", "yes")
            elif kind in ("int", int):
                try:
                    val = int(val)
                except ValueError as exc:
                    raise InvalidParameter(f"{env} must be an integer") from exc
            elif "dict" in str(kind):
                continue
            updates[attr] = _coerce(attr, val)
    return replace(base, **updates)
