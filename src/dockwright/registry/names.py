"""Repository names and tags as the distribution spec's grammar allows them."""

from __future__ import annotations

import re

from dockwright.oci.digest import Digest, DigestError, parse_digest

from .errcode import DIGEST_INVALID, MANIFEST_INVALID, NAME_INVALID, RegistryError

NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
NAME_MAX = 255


def check_name(name: str) -> str:
    if len(name) > NAME_MAX:
        raise RegistryError(
            NAME_INVALID,
            f"repository name is longer than {NAME_MAX} characters",
            {"name": name[:NAME_MAX] + "..."},
        )
    if not NAME_RE.match(name):
        raise RegistryError(
            NAME_INVALID,
            "invalid repository name: use lowercase components of [a-z0-9] joined by '.', '_', '__' or '-'",
            {"name": name},
        )
    return name


def check_tag(tag: str) -> str:
    if not TAG_RE.match(tag):
        raise RegistryError(
            MANIFEST_INVALID,
            "invalid tag: at most 128 characters of [a-zA-Z0-9_.-], not starting with '.' or '-'",
            {"tag": tag[:140]},
        )
    return tag


def check_digest(value: str) -> Digest:
    try:
        return parse_digest(value)
    except DigestError as exc:
        raise RegistryError(DIGEST_INVALID, str(exc), {"digest": value[:200]}) from exc


def is_digest(reference: str) -> bool:
    return ":" in reference
