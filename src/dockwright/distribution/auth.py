"""Registry authentication: credentials, challenges, Bearer tokens and Basic.

The flow (Docker's token spec): a request answered 401 carries
``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` (or ``Basic``).
For Bearer we GET the realm with ``service`` and every scope we need, sending
Basic credentials when we have them (anonymous otherwise), and retry with the
token; tokens are cached per host and scope set until shortly before they
expire. ``X-Registry-Auth`` (base64url JSON) carries the credentials of one
API request; nothing is stored by the daemon.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..errors import InvalidParameter, Unauthorized, Unavailable

_PARAM_RE = re.compile(r'([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""  # an OAuth refresh token from a previous login
    registry_token: str = ""  # a bearer token given directly

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


ANONYMOUS = Credentials()


def parse_registry_auth(header: str | None) -> tuple[Credentials, str]:
    """Decode an ``X-Registry-Auth`` header into credentials and the server address it names."""
    if not header or header.strip() in ("", "e30=", "e30"):
        return ANONYMOUS, ""
    raw = header.strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameter("X-Registry-Auth header is not base64url-encoded JSON") from exc
    if not isinstance(data, dict):
        raise InvalidParameter("X-Registry-Auth header must encode a JSON object")
    return creds_from_json(data), str(data.get("serveraddress") or "")


def creds_from_json(data: dict[str, Any]) -> Credentials:
    def s(*keys: str) -> str:
        for k in keys:
            for variant in (k, k.lower(), k[0].upper() + k[1:]):
                v = data.get(variant)
                if isinstance(v, str) and v:
                    return v
        return ""

    user, pw = s("username"), s("password")
    if not user and s("auth"):
        try:
            user, _, pw = base64.b64decode(s("auth")).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidParameter("auth field is not base64 of user:password") from exc
    return Credentials(user, pw, s("identitytoken", "identityToken"), s("registrytoken", "registryToken"))


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" | "basic"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """``WWW-Authenticate`` values; several schemes may share one header."""
    out: list[Challenge] = []
    for m in re.finditer(r"(?:^|,)\s*([A-Za-z]+)\s+((?:[a-zA-Z_]+\s*=\s*(?:\"(?:[^\"\\]|\\.)*\"|[^\s,]+)\s*,?\s*)*)",
                         header):
        params = {k.lower(): (q if q else u) for k, q, u in _PARAM_RE.findall(m.group(2))}
        out.append(Challenge(m.group(1).lower(), params))
    if not out and header.strip():
        out.append(Challenge(header.strip().split()[0].lower()))
    return out


def repo_scope(repo: str, actions: str) -> str:
    return f"repository:{repo}:{actions}"


@dataclass
class _Token:
    value: str
    expires: float


class Authorizer:
    """Per-operation auth state for one registry: credentials plus the tokens they bought."""

    def __init__(self, creds: Credentials, session: aiohttp.ClientSession, ssl: Any = None) -> None:
        self.creds = creds
        self.session = session
        self.ssl = ssl
        self.challenge: Challenge | None = None
        self._tokens: dict[str, _Token] = {}

    def header(self, scopes: tuple[str, ...]) -> str | None:
        """The Authorization header to send now, if we already know the scheme."""
        ch = self.challenge
        if ch is None:
            if self.creds.registry_token:
                return "Bearer " + self.creds.registry_token
            return None
        if ch.scheme == "basic":
            return None if self.creds.anonymous else self.creds.basic_header()
        tok = self._tokens.get(" ".join(sorted(scopes)))
        if tok is not None and tok.expires > time.time():
            return "Bearer " + tok.value
        return None

    async def on_unauthorized(self, www_authenticate: str, scopes: tuple[str, ...]) -> bool:
        """Learn from a 401; True when a retry may succeed."""
        challenges = parse_challenges(www_authenticate)
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if bearer is not None:
            had = self.header(scopes)
            self.challenge = bearer
            if had is not None and had == self.header(scopes):
                return False
            await self._fetch_token(bearer, scopes)
            return True
        if basic is not None:
            first = self.challenge is None or self.challenge.scheme != "basic"
            self.challenge = basic
            return first and not self.creds.anonymous
        return False

    async def _fetch_token(self, ch: Challenge, scopes: tuple[str, ...]) -> None:
        realm = ch.params.get("realm", "")
        if not realm:
            raise Unauthorized("registry asked for a bearer token but named no realm")
        params: list[tuple[str, str]] = []
        if ch.params.get("service"):
            params.append(("service", ch.params["service"]))
        for s in scopes or tuple(filter(None, [ch.params.get("scope", "")])):
            params.append(("scope", s))
        headers: dict[str, str] = {}
        if self.creds.username or self.creds.password:
            headers["Authorization"] = self.creds.basic_header()
            params.append(("account", self.creds.username))
        if self.creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": self.creds.identity_token,
                    "client_id": "dockwright", "service": ch.params.get("service", ""),
                    "scope": " ".join(scopes)}
            req = self.session.post(realm, data=form, ssl=self.ssl)
        else:
            req = self.session.get(realm, params=params, headers=headers, ssl=self.ssl)
        try:
            async with req as resp:
                body = await resp.read()
                if resp.status in (401, 403):
                    raise Unauthorized(_auth_failure(body, resp.status, realm))
                if resp.status != 200:
                    raise Unavailable(f"token server {realm} answered {resp.status}")
        except aiohttp.ClientError as exc:
            raise Unavailable(f"cannot reach the token server {realm}: {exc}") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise Unavailable(f"token server {realm} sent no JSON") from exc
        value = data.get("token") or data.get("access_token") or ""
        if not value:
            raise Unauthorized(f"token server {realm} returned no token")
        ttl = int(data.get("expires_in") or 60)
        self._tokens[" ".join(sorted(scopes))] = _Token(str(value), time.time() + max(ttl - 10, 5))


def _auth_failure(body: bytes, status: int, where: str) -> str:
    detail = ""
    try:
        data = json.loads(body)
        errs = data.get("errors") if isinstance(data, dict) else None
        if errs:
            detail = str(errs[0].get("message") or errs[0].get("code") or "")
        elif isinstance(data, dict):
            detail = str(data.get("details") or data.get("message") or "")
    except ValueError:
        detail = body.decode(errors="replace")[:200]
    return f"unauthorized: {detail or 'incorrect username or password'} ({where} answered {status})"
