"""The access-control seam the handlers use.

Each request names the accesses it needs (``repository:<name>:pull``...);
a controller returns the account that holds them or raises ``UNAUTHORIZED``
carrying the challenge header the client must answer.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol

from ..errcode import UNAUTHORIZED, RegistryError


@dataclass(frozen=True)
class Access:
    type: str  # "repository" or "registry"
    name: str  # repository name, or "catalog"
    action: str  # pull, push, delete, or "*"

    @property
    def scope(self) -> str:
        return f"{self.type}:{self.name}:{self.action}"


def scopes(accesses: list[Access]) -> list[str]:
    """``repository:a:pull,push`` style scopes, one per resource, in first-seen order."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for a in accesses:
        acts = grouped.setdefault((a.type, a.name), [])
        if a.action not in acts:
            acts.append(a.action)
    return [f"{t}:{n}:{','.join(acts)}" for (t, n), acts in grouped.items()]


class AccessController(Protocol):
    def authorized(self, authorization: str, accesses: list[Access]) -> str:
        """The account granted every access (``""`` for anonymous), else raise UNAUTHORIZED/DENIED."""
        ...


class Anonymous:
    def authorized(self, authorization: str, accesses: list[Access]) -> str:
        return ""


def parse_basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def unauthorized(challenge: str, message: str = "", accesses: list[Access] | None = None) -> RegistryError:
    detail = [{"Type": a.type, "Name": a.name, "Action": a.action} for a in accesses or []] or None
    return RegistryError(UNAUTHORIZED, message or None, detail, headers={"WWW-Authenticate": challenge})
