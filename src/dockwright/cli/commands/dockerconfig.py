"""Registry credentials as the docker CLI keeps them, in ``$DOCKER_CONFIG/config.json``.

``auths`` maps a server to ``{"auth": base64("user:password")}`` (or an
``identitytoken``); ``credHelpers`` names a ``docker-credential-<helper>`` per
server and ``credsStore`` one for all, spoken to over stdin/stdout with the
helper protocol (``get``/``store``/``erase``). Docker Hub's key is
``https://index.docker.io/v1/``. Other keys of the file are kept untouched.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockwright.errors import InvalidParameter, Unavailable

HUB_KEY = "https://index.docker.io/v1/"
HUB_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def config_dir(env: Mapping[str, str]) -> Path:
    d = env.get("DOCKER_CONFIG")
    return Path(d) if d else Path(env.get("HOME") or os.path.expanduser("~")) / ".docker"


def server_key(server: str) -> str:
    """The ``auths`` key for a registry: the Hub's legacy URL, else the bare host[:port]."""
    s = server.strip()
    for prefix in ("https://", "http://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    host = s.split("/", 1)[0]
    if host in ("", *HUB_DOMAINS):
        return HUB_KEY
    return host


class DockerConfig:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.path = config_dir(env) / "config.json"
        self.env = env
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            data = {}
        except ValueError as exc:
            raise InvalidParameter(f"{self.path} is not valid JSON: {exc}") from exc
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(".config.json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.data, f, indent="\t")
        os.replace(tmp, self.path)

    def helper_for(self, key: str) -> str:
        helpers = self.data.get("credHelpers") or {}
        if isinstance(helpers, dict) and helpers.get(key):
            return str(helpers[key])
        return str(self.data.get("credsStore") or "")

    # -- helper protocol ---------------------------------------------------------------------
    def _helper(self, helper: str, action: str, payload: str) -> str:
        exe = f"docker-credential-{helper}"
        try:
            r = subprocess.run([exe, action], input=payload.encode(), capture_output=True, timeout=60,
                               env=dict(self.env))
        except FileNotFoundError as exc:
            raise Unavailable(f"credential helper {exe} is not installed (credsStore/credHelpers in "
                              f"{self.path})") from exc
        out = r.stdout.decode(errors="replace").strip()
        if r.returncode != 0:
            if "credentials not found" in out.lower():
                return ""
            raise Unavailable(f"{exe} {action}: {out or r.stderr.decode(errors='replace').strip()}")
        return out

    # -- credentials ---------------------------------------------------------------------------
    def get(self, server: str) -> dict[str, str]:
        """``{"username", "password"}`` or ``{"identitytoken"}`` for ``server``; empty when none."""
        key = server_key(server)
        helper = self.helper_for(key)
        if helper:
            raw = self._helper(helper, "get", key)
            if not raw:
                return {}
            data = json.loads(raw)
            user, secret = str(data.get("Username", "")), str(data.get("Secret", ""))
            if user == "<token>":
                return {"identitytoken": secret, "serveraddress": key}
            return {"username": user, "password": secret, "serveraddress": key}
        entry = (self.data.get("auths") or {}).get(key) or {}
        if not isinstance(entry, dict):
            return {}
        out: dict[str, str] = {"serveraddress": key}
        if entry.get("auth"):
            user, _, pw = base64.b64decode(str(entry["auth"])).decode(errors="replace").partition(":")
            out.update(username=user, password=pw)
        if entry.get("identitytoken"):
            out["identitytoken"] = str(entry["identitytoken"])
        return out if len(out) > 1 else {}

    def store(self, server: str, username: str, password: str, identity_token: str = "") -> None:
        key = server_key(server)
        helper = self.helper_for(key)
        if helper:
            secret = identity_token or password
            user = "<token>" if identity_token else username
            self._helper(helper, "store", json.dumps({"ServerURL": key, "Username": user, "Secret": secret}))
            self.data.setdefault("auths", {})[key] = {}
        else:
            entry: dict[str, str] = {"auth": base64.b64encode(f"{username}:{'' if identity_token else password}"
                                                              .encode()).decode()}
            if identity_token:
                entry["identitytoken"] = identity_token
            self.data.setdefault("auths", {})[key] = entry
        self.save()

    def erase(self, server: str) -> bool:
        key = server_key(server)
        helper = self.helper_for(key)
        had = key in (self.data.get("auths") or {})
        if helper:
            self._helper(helper, "erase", key)
            had = True
        if had:
            (self.data.get("auths") or {}).pop(key, None)
            self.save()
        return had


def registry_auth_header(creds: Mapping[str, str]) -> str:
    """``X-Registry-Auth``: base64url JSON; ``e30=`` (``{}``) when anonymous."""
    raw = json.dumps(dict(creds)).encode() if creds else b"{}"
    return base64.urlsafe_b64encode(raw).decode()
