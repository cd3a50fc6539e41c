"""``RUN --mount=...``: the CSV option string → a typed mount with BuildKit's defaults.

Defaults that are easy to get wrong, all from Docker's documentation:

* ``type`` defaults to ``bind``; bind and secret mounts are read-only unless
  ``rw``; cache and tmpfs mounts are writable.
* cache: ``id`` defaults to the target, ``sharing`` to ``shared``, ``mode`` 0755,
  ``uid``/``gid`` 0.
* secret: ``id`` defaults to the target's basename, the target to
  ``/run/secrets/<id>``, ``mode`` 0400; ssh: ``id`` ``default``, ``mode`` 0600.
"""

from __future__ import annotations

import csv
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, replace

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")


class MountError(Exception):
    """A bad ``--mount`` value; the instruction parser adds the location."""


@dataclass(frozen=True)
class Mount:
    """One ``--mount`` of a RUN; ``source`` is relative to ``from_`` (a stage, image or the context)."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    readonly: bool = True
    id: str = ""
    sharing: str = ""
    required: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int = 0
    env: str = ""


def _parse_bool(key: str, value: str) -> bool:
    lower = value.lower()
    if lower in ("1", "t", "true"):
        return True
    if lower in ("0", "f", "false"):
        return False
    raise MountError(f"invalid value for {key}: {value}")


def _parse_size(value: str) -> int:
    units = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
    text = value.strip().lower()
    num = text.rstrip("kmgb")
    unit = text[len(num):]
    try:
        return int(float(num) * units[unit])
    except (ValueError, KeyError):
        raise MountError(f"invalid size value {value!r}") from None


def parse_mount(spec: str, expand: Callable[[str], str] | None = None) -> Mount:
    """Parse one ``--mount`` value; ``expand`` (if given) expands each value like BuildKit does."""
    try:
        fields = next(csv.reader([spec]))
    except (csv.Error, StopIteration):
        raise MountError(f"failed to parse csv mounts: {spec!r}") from None
    kind = "bind"
    values: dict[str, str] = {}
    readonly: bool | None = None
    required = False
    for item in fields:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq:
            if key in ("readonly", "ro"):
                readonly = True
                continue
            if key in ("readwrite", "rw"):
                readonly = False
                continue
            if key == "required":
                required = True
                continue
            raise MountError(f"invalid field '{item}' must be a key=value pair")
        if expand is not None:
            value = expand(value)
        if key == "type":
            if value not in MOUNT_TYPES:
                raise MountError(f"unsupported mount type {value!r}")
            kind = value
        elif key in ("readonly", "ro"):
            readonly = _parse_bool(key, value)
        elif key in ("readwrite", "rw"):
            readonly = not _parse_bool(key, value)
        elif key == "required":
            required = _parse_bool(key, value)
        elif key in ("source", "src", "target", "dst", "destination", "from", "id", "sharing", "mode", "uid",
                     "gid", "size", "env"):
            canonical = {"src": "source", "dst": "target", "destination": "target"}.get(key, key)
            values[canonical] = value
        else:
            raise MountError(f"unexpected key '{key}' in '{item}'")
    return _finish(kind, values, readonly, required)


def _int(key: str, value: str, base: int) -> int:
    try:
        parsed = int(value, base)
    except ValueError:
        raise MountError(f"failed to parse {key}: {value!r}") from None
    if parsed < 0 or parsed > 0xFFFFFFFF:
        raise MountError(f"{key} out of range: {value!r}")
    return parsed


def _finish(kind: str, values: dict[str, str], readonly: bool | None, required: bool) -> Mount:
    m = Mount(type=kind, target=values.get("target", ""), source=values.get("source", ""),
              from_=values.get("from", ""), id=values.get("id", ""), sharing=values.get("sharing", ""),
              env=values.get("env", ""))
    if "mode" in values:
        m = replace(m, mode=_int("mode", values["mode"], 8))
    if "uid" in values:
        m = replace(m, uid=_int("uid", values["uid"], 10))
    if "gid" in values:
        m = replace(m, gid=_int("gid", values["gid"], 10))
    if "size" in values:
        if kind != "tmpfs":
            raise MountError(f"size is only supported for tmpfs mounts, not {kind}")
        m = replace(m, size=_parse_size(values["size"]))
    if (m.mode is not None or m.uid is not None or m.gid is not None) and kind in ("bind", "tmpfs"):
        raise MountError(f"mode, uid and gid are not allowed for {kind} mounts")
    if required and kind not in ("secret", "ssh"):
        raise MountError(f"unexpected key 'required' for mount type {kind}")
    if m.sharing and kind != "cache":
        raise MountError(f"invalid cache sharing set for {kind} mount")
    if kind == "cache":
        sharing = m.sharing or "shared"
        if sharing not in SHARING_MODES:
            raise MountError(f"unsupported sharing value {sharing!r}")
        if not m.target:
            raise MountError("mount type cache requires a target")
        m = replace(m, sharing=sharing, id=m.id or m.target,
                    mode=0o755 if m.mode is None else m.mode, uid=m.uid or 0, gid=m.gid or 0)
    elif kind == "secret":
        if m.from_:
            raise MountError("secret mount should not have a from")
        if not (m.source or m.target or m.id or m.env):
            raise MountError("invalid secret mount. one of source, target required")
        if m.source and m.id:
            raise MountError("both source and id can't be set")
        secret_id = m.id or m.source or posixpath.basename(m.target)
        target = m.target or ("" if m.env and not m.target else f"/run/secrets/{secret_id}")
        m = replace(m, id=secret_id, source="", target=target, mode=0o400 if m.mode is None else m.mode,
                    uid=m.uid or 0, gid=m.gid or 0)
    elif kind == "ssh":
        if m.from_:
            raise MountError("ssh mount should not have a from")
        m = replace(m, id=m.id or "default", mode=0o600 if m.mode is None else m.mode, uid=m.uid or 0,
                    gid=m.gid or 0)
    elif not m.target:
        raise MountError(f"mount type {kind} requires a target")
    if readonly is None:
        readonly = kind in ("bind", "secret", "ssh")
    return replace(m, readonly=readonly, required=required)
