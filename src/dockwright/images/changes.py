"""``--change`` instructions of ``docker import`` and ``docker commit``.

Only the instructions Docker allows there: CMD, ENTRYPOINT, ENV, EXPOSE,
LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK is refused as
Docker refuses it. Each applies to the image's ``config`` object in place.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from ..errors import InvalidParameter

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL")


def _json_or_shell(rest: str) -> list[str]:
    s = rest.strip()
    if s.startswith("["):
        try:
            val = json.loads(s)
        except ValueError:
            val = None
        if isinstance(val, list) and all(isinstance(v, str) for v in val):
            return val
    return ["/bin/sh", "-c", s]


def _pairs(rest: str, keyword: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(rest, posix=True)
    except ValueError as exc:
        raise InvalidParameter(f"{keyword}: {exc}") from exc
    if not words:
        raise InvalidParameter(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        # legacy form: KEY value with spaces
        key, _, value = rest.strip().partition(" ")
        return [(key, value.strip())]
    out = []
    for w in words:
        if "=" not in w:
            raise InvalidParameter(f"{keyword} names can not be blank" if w.startswith("=") else
                                   f"Syntax error - can't find = in \"{w}\". Must be of the form: name=value")
        k, _, v = w.partition("=")
        if not k:
            raise InvalidParameter(f"{keyword} names can not be blank")
        out.append((k, v))
    return out


def apply_changes(config: dict[str, Any], changes: list[str]) -> None:
    for line in changes:
        line = line.strip()
        if not line:
            continue
        keyword, _, rest = line.partition(" ")
        kw = keyword.upper()
        if kw not in ALLOWED:
            raise InvalidParameter(f"{keyword} is not a valid change command")
        rest = rest.strip()
        if kw == "CMD":
            config["Cmd"] = _json_or_shell(rest)
        elif kw == "ENTRYPOINT":
            config["Entrypoint"] = _json_or_shell(rest)
        elif kw == "ENV":
            env = list(config.get("Env") or [])
            for k, v in _pairs(rest, "ENV"):
                env = [e for e in env if e.partition("=")[0] != k] + [f"{k}={v}"]
            config["Env"] = env
        elif kw == "LABEL":
            labels = dict(config.get("Labels") or {})
            labels.update(_pairs(rest, "LABEL"))
            config["Labels"] = labels
        elif kw == "EXPOSE":
            ports = dict(config.get("ExposedPorts") or {})
            for p in rest.split():
                if "/" not in p:
                    p += "/tcp"
                ports[p] = {}
            config["ExposedPorts"] = ports
        elif kw == "VOLUME":
            vols = dict(config.get("Volumes") or {})
            for v in _json_or_shell(rest) if rest.startswith("[") else rest.split():
                vols[v] = {}
            config["Volumes"] = vols
        elif kw == "USER":
            config["User"] = rest
        elif kw == "WORKDIR":
            config["WorkingDir"] = rest
        elif kw == "STOPSIGNAL":
            config["StopSignal"] = rest
        elif kw == "ONBUILD":
            config["OnBuild"] = list(config.get("OnBuild") or []) + [rest]
        if not rest and kw not in ("CMD", "ENTRYPOINT"):
            raise InvalidParameter(f"{kw} requires at least one argument")
