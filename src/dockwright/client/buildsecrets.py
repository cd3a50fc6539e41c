"""Build secrets on the wire: the ``X-Dockwright-Build-Secrets`` header of ``POST /build``.

The legacy build endpoint has no session, so secrets travel with the request:
base64 of a JSON object mapping each secret id to its base64 value (the
daemon's side is ``build/secrets.py``; the router's docstring documents it).
The header must fit the daemon's 64 KiB header limit.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path

from dockwright.errors import InvalidParameter

SECRETS_HEADER = "X-Dockwright-Build-Secrets"
_MAX_HEADER = 60 * 1024


def encode_secrets(values: Mapping[str, bytes]) -> dict[str, str]:
    """The request headers that carry ``values`` (none when there are none)."""
    if not values:
        return {}
    body = {k: base64.b64encode(v).decode() for k, v in values.items()}
    raw = base64.b64encode(json.dumps(body, sort_keys=True).encode()).decode()
    if len(raw) > _MAX_HEADER:
        raise InvalidParameter(f"build secrets are too large to send ({len(raw)} bytes encoded, at most "
                               f"{_MAX_HEADER}): keep them small (keys, tokens), and fetch big files in the build")
    return {SECRETS_HEADER: raw}


def read_secret(spec: str, environ: Mapping[str, str] | None = None) -> tuple[str, bytes]:
    """``id=ID[,src=PATH|,env=VAR]`` (docker buildx's ``--secret``) -> (id, value).

    Without ``src`` or ``env`` the value comes from the environment variable named like the id,
    then from a file of that name, as buildx does."""
    env = os.environ if environ is None else environ
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq:
            raise InvalidParameter(f"invalid secret {spec!r}: fields are key=value (id=, src=, env=)")
        if key in ("source", "src"):
            key = "src"
        if key not in ("id", "src", "env", "type"):
            raise InvalidParameter(f"invalid secret {spec!r}: unexpected key {key!r}")
        fields[key] = value
    sid = fields.get("id") or (Path(fields["src"]).name if fields.get("src") else fields.get("env", ""))
    if not sid:
        raise InvalidParameter(f"invalid secret {spec!r}: id is required")
    kind = fields.get("type", "")
    if kind not in ("", "file", "env"):
        raise InvalidParameter(f"invalid secret {spec!r}: type is file or env")
    if "env" in fields or kind == "env":
        name = fields.get("env") or fields.get("src") or sid
        if name not in env:
            raise InvalidParameter(f"secret {sid!r}: environment variable {name} is not set")
        return sid, env[name].encode("utf-8", "surrogateescape")
    src = fields.get("src")
    if src is None and kind != "file" and sid in env:
        return sid, env[sid].encode("utf-8", "surrogateescape")
    path = Path(src or sid).expanduser()
    try:
        return sid, path.read_bytes()
    except OSError as exc:
        raise InvalidParameter(f"secret {sid!r}: cannot read {path}: {exc.strerror}") from None
