"""Basic auth against an Apache htpasswd file of bcrypt entries (``htpasswd -B``).

Any authenticated user gets every access, as with registry:2. The file is
re-read when its mtime changes, so users can be added without a restart.
"""

from __future__ import annotations

import os
import threading

import bcrypt

from dockwright.errors import InvalidParameter

from .base import Access, parse_basic, unauthorized


class HtpasswdFile:
    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime = -1.0
        self._users: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], bool] = {}
        self._load()

    def _load(self) -> None:
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError as exc:
            raise InvalidParameter(f"cannot read htpasswd file {self.path}: {exc.strerror}") from exc
        if mtime == self._mtime:
            return
        users: dict[str, bytes] = {}
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or ":" not in line:
                    continue
                user, _, hashed = line.partition(":")
                users[user] = hashed.encode()
        with self._lock:
            self._users, self._mtime, self._cache = users, mtime, {}

    def check(self, user: str, password: str) -> bool:
        self._load()
        key = (user, password)
        with self._lock:
            hit = self._cache.get(key)
            hashed = self._users.get(user)
        if hit is not None:
            return hit
        ok = False
        if hashed is not None and hashed.startswith((b"$2a$", b"$2b$", b"$2y$")):
            try:
                ok = bcrypt.checkpw(password.encode(), hashed.replace(b"$2y$", b"$2b$", 1))
            except ValueError:
                ok = False
        with self._lock:
            if ok:
                self._cache[key] = ok
        return ok


class HtpasswdController:
    def __init__(self, realm: str, path: str) -> None:
        self.realm = realm
        self.file = HtpasswdFile(path)

    def authorized(self, authorization: str, accesses: list[Access]) -> str:
        challenge = f'Basic realm="{self.realm}"'
        creds = parse_basic(authorization)
        if creds is None:
            raise unauthorized(challenge, "authentication required", accesses)
        if not self.file.check(*creds):
            raise unauthorized(challenge, "invalid username or password", accesses)
        return creds[0]
