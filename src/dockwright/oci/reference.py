"""Image references as Docker parses them (distribution/reference grammar).

``busybox`` normalises to ``docker.io/library/busybox:latest``;
``host:port/repo:tag@sha256:...`` keeps its domain, tag and digest. The
familiar form (what ``docker images`` shows) drops ``docker.io/`` and
``library/`` again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .digest import DigestError, parse_digest

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_NAME_RE = re.compile(rf"^(?:({_DOMAIN})/)?({_PATH})$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_ANCHORED_HEX = re.compile(r"^[a-f0-9]{64}$")


class ReferenceError(ValueError):
    """A string that is not a valid image reference; the message is Docker's."""


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """Fully qualified repository name, ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """What docker shows: ``busybox``, ``user/app``, ``host:5000/app``."""
        if self.domain == DEFAULT_DOMAIN:
            if self.path.startswith(OFFICIAL_PREFIX) and "/" not in self.path[len(OFFICIAL_PREFIX):]:
                return self.path[len(OFFICIAL_PREFIX):]
            return self.path
        return self.name

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def familiar(self) -> str:
        out = self.familiar_name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, "")

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, "", digest)

    def repo(self) -> Reference:
        return Reference(self.domain, self.path)


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    if i == -1 or (
        "." not in name[:i] and ":" not in name[:i] and name[:i] != "localhost" and name[:i].lower() == name[:i]
    ):
        domain, rest = DEFAULT_DOMAIN, name
    else:
        domain, rest = name[:i], name[i + 1 :]
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in rest:
        rest = OFFICIAL_PREFIX + rest
    return domain, rest


def parse_reference(value: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalise ``value``; ``default_tag`` adds ``:latest`` when there is neither tag nor digest."""
    if not isinstance(value, str) or not value:
        raise ReferenceError("invalid reference format")
    if len(value) > 2 * NAME_TOTAL_MAX + 200:
        raise ReferenceError("invalid reference format: repository name must not be more than 255 characters")
    remainder, digest = value, ""
    if "@" in value:
        remainder, _, digest = value.partition("@")
        try:
            parse_digest(digest)
        except DigestError as exc:
            raise ReferenceError("invalid reference format") from exc
    tag = ""
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise ReferenceError("invalid reference format")
    if not remainder:
        raise ReferenceError("invalid reference format")
    domain, path = _split_domain(remainder)
    if path.lower() != path:
        raise ReferenceError(
            f"invalid reference format: repository name ({path}) must be lowercase"
        )
    m = _NAME_RE.match(f"{domain}/{path}")
    if not m or m.group(1) != domain:
        raise ReferenceError("invalid reference format")
    if len(f"{domain}/{path}") > NAME_TOTAL_MAX:
        raise ReferenceError("invalid reference format: repository name must not be more than 255 characters")
    if not tag and not digest and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def parse_repository(value: str) -> Reference:
    """A repository name without tag or digest (``docker tag SRC REPO``'s REPO part)."""
    ref = parse_reference(value, default_tag=False)
    if ref.tag or ref.digest:
        raise ReferenceError("invalid reference format")
    return ref


def valid_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


def looks_like_id(value: str) -> bool:
    """A full 64-hex image ID (with or without ``sha256:``), which is never a name."""
    v = value[7:] if value.startswith("sha256:") else value
    return bool(_ANCHORED_HEX.match(v))
