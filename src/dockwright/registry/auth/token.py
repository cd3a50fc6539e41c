"""Docker token auth: JWT bearer tokens, verified here, issued by us or another service.

Flow: a request without a token gets ``401`` and ``WWW-Authenticate: Bearer
realm,service,scope``; the client asks the realm for a token for that scope
and retries with it. A token is accepted when its signature verifies against
one of the trusted keys (the certificates and public keys of
``rootcertbundle``, a leaf certificate in the token's ``x5c`` header issued by
one of them, or our own signing key), its ``aud`` is our service, ``iss`` our issuer, it has not
expired, and its ``access`` claim grants every action the request needs.

The built-in issuer (``signingkey``) authenticates users from an htpasswd
file and grants the intersection of the requested scope and the ACL.
"""

from __future__ import annotations

import base64
import fnmatch
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dockwright.errors import InvalidParameter

from ..config import TokenConfig
from ..errcode import DENIED, RegistryError
from .base import Access, parse_basic, unauthorized
from .htpasswd import HtpasswdFile

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"]


def _load_certificates(bundle: str) -> list[x509.Certificate]:
    try:
        with open(bundle, "rb") as f:
            return x509.load_pem_x509_certificates(f.read())
    except (OSError, ValueError):
        return []


def _x5c_key(token: str, roots: list[x509.Certificate]) -> Any:
    """The public key of the token's ``x5c`` leaf if a trusted root issued it (or is it); else None."""
    try:
        chain = jwt.get_unverified_header(token).get("x5c")
    except jwt.PyJWTError:
        return None
    if not chain or not isinstance(chain, list):
        return None
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in chain]
    except (ValueError, TypeError):
        return None
    now = datetime.now(UTC)
    for cert in certs:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return None
    for child, parent in zip(certs, certs[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return None
    top = certs[-1]
    for root in roots:
        if top == root:
            return certs[0].public_key()
        try:
            top.verify_directly_issued_by(root)
            return certs[0].public_key()
        except (ValueError, TypeError, InvalidSignature):
            continue
    return None


def _load_public_keys(bundle: str) -> list[Any]:
    try:
        with open(bundle, "rb") as f:
            pem = f.read()
    except OSError as exc:
        raise InvalidParameter(f"cannot read auth.token.rootcertbundle {bundle}: {exc.strerror}") from exc
    keys: list[Any] = []
    for block in pem.split(b"-----END ")[:-1]:
        start = block.find(b"-----BEGIN ")
        if start < 0:
            continue
        kind = block[start + 11 : block.find(b"-----", start + 11)]
        text = block[start:] + b"-----END " + kind + b"-----\n"
        if kind == b"CERTIFICATE":
            keys.append(x509.load_pem_x509_certificate(text).public_key())
        elif kind == b"PUBLIC KEY":
            keys.append(serialization.load_pem_public_key(text))
    if not keys:
        raise InvalidParameter(f"auth.token.rootcertbundle {bundle} holds no certificate or public key")
    return keys


def _load_private_key(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    except OSError as exc:
        raise InvalidParameter(f"cannot read auth.token.signingkey {path}: {exc.strerror}") from exc


def _alg_for(key: Any) -> str:
    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"


def parse_scope(scope: str) -> list[Access]:
    """``repository:a/b:pull,push`` → accesses; unknown shapes are ignored."""
    out: list[Access] = []
    for item in scope.split(" "):
        typ, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        if not typ or not name:
            continue
        out += [Access(typ, name, a) for a in actions.split(",") if a]
    return out


class TokenController:
    def __init__(self, cfg: TokenConfig, *, default_realm: str = "") -> None:
        self.cfg = cfg
        self.realm = cfg.realm or default_realm
        self.keys: list[Any] = []
        self.signing_key: Any = None
        self.roots: list[x509.Certificate] = []
        if cfg.rootcertbundle:
            self.keys += _load_public_keys(cfg.rootcertbundle)
            self.roots = _load_certificates(cfg.rootcertbundle)
        if cfg.signingkey:
            self.signing_key = _load_private_key(cfg.signingkey)
            self.keys.append(self.signing_key.public_key())
        self.users = HtpasswdFile(cfg.htpasswd) if cfg.htpasswd else None

    def challenge(self, accesses: list[Access], error: str = "") -> str:
        from .base import scopes

        parts = [f'realm="{self.realm}"', f'service="{self.cfg.service}"']
        sc = scopes(accesses)
        if sc:
            parts.append(f'scope="{" ".join(sc)}"')
        if error:
            parts.append(f'error="{error}"')
        return "Bearer " + ",".join(parts)

    def verify(self, token: str) -> dict[str, Any]:
        last: Exception | None = None
        keys = list(self.keys)
        leaf = _x5c_key(token, self.roots) if self.roots else None
        if leaf is not None:
            keys.insert(0, leaf)
        for key in keys:
            if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                key = key.public_key()
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=ALGORITHMS,
                    audience=self.cfg.service,
                    issuer=self.cfg.issuer,
                    options={"require": ["exp", "aud", "iss"]},
                    leeway=60,
                )
                return claims
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except jwt.PyJWTError as exc:
                raise InvalidParameter(f"invalid token: {exc}") from exc
        raise InvalidParameter(f"invalid token: {last or 'no trusted key'}")

    def authorized(self, authorization: str, accesses: list[Access]) -> str:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized(self.challenge(accesses), "authentication required", accesses)
        try:
            claims = self.verify(token.strip())
        except InvalidParameter as exc:
            raise unauthorized(self.challenge(accesses, "invalid_token"), str(exc), accesses) from exc
        granted: set[tuple[str, str, str]] = set()
        for entry in claims.get("access") or []:
            if not isinstance(entry, dict):
                continue
            for act in entry.get("actions") or []:
                granted.add((str(entry.get("type")), str(entry.get("name")), str(act)))
        missing = [
            a
            for a in accesses
            if (a.type, a.name, a.action) not in granted and (a.type, a.name, "*") not in granted
        ]
        if missing:
            raise unauthorized(
                self.challenge(accesses, "insufficient_scope"), "insufficient scope for this request", missing
            )
        return str(claims.get("sub", ""))

    # -- built-in issuer ---------------------------------------------------

    def _allowed(self, account: str, access: Access) -> bool:
        for e in self.cfg.acl:
            who_ok = (
                e.account == account
                or (e.account == "*" and account != "")
                or (e.account == "anonymous" and account == "")
            )
            if not who_ok:
                continue
            name = e.name.replace("${account}", account)
            if fnmatch.fnmatchcase(access.name, name) and (access.action in e.actions or "*" in e.actions):
                return True
        return False

    def issue(self, authorization: str, service: str, scope: list[str]) -> dict[str, Any]:
        """Answer a token request (GET ``/auth/token?service=&scope=``) from a client."""
        if self.signing_key is None:
            raise RegistryError(DENIED, "this registry does not issue tokens")
        account = ""
        if authorization:
            creds = parse_basic(authorization)
            if creds is None or self.users is None or not self.users.check(*creds):
                raise unauthorized('Basic realm="dockwright-registry"', "invalid username or password")
            account = creds[0]
        if service and service != self.cfg.service:
            raise RegistryError(DENIED, f"this issuer serves {self.cfg.service!r}, not {service!r}")
        requested: list[Access] = []
        for s in scope:
            requested += parse_scope(s)
        grants: dict[tuple[str, str], list[str]] = {}
        for a in requested:
            if self._allowed(account, a):
                acts = grants.setdefault((a.type, a.name), [])
                if a.action not in acts:
                    acts.append(a.action)
        return self.sign(
            account, [{"type": t, "name": n, "actions": acts} for (t, n), acts in grants.items()]
        )

    def sign(
        self, account: str, access: list[dict[str, Any]], *, expires_in: float | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        exp = int(self.cfg.expiration if expires_in is None else expires_in)
        claims = {
            "iss": self.cfg.issuer,
            "sub": account,
            "aud": self.cfg.service,
            "exp": now + exp,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, self.signing_key, algorithm=_alg_for(self.signing_key))
        return {
            "token": token,
            "access_token": token,
            "expires_in": exp,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }
