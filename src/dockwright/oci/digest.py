"""Content digests (``algorithm:hex``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re
from typing import NewType

Digest = NewType("Digest", str)

_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_HEX_LEN = {"sha256": 64, "sha512": 128}


class DigestError(ValueError):
    """A string that is not a valid digest."""


def parse_digest(value: str) -> Digest:
    """Validate ``value`` as ``sha256:<64 hex>`` or ``sha512:<128 hex>``."""
    if not isinstance(value, str) or not _DIGEST_RE.match(value):
        raise DigestError(f"invalid digest format: {value!r}")
    alg, _, hexpart = value.partition(":")
    if alg not in _HEX_LEN:
        raise DigestError(f"unsupported digest algorithm: {alg}")
    if len(hexpart) != _HEX_LEN[alg] or not re.fullmatch(r"[0-9a-f]+", hexpart):
        raise DigestError(f"invalid checksum digest length or characters: {value!r}")
    return Digest(value)


def algorithm(d: str) -> str:
    return d.partition(":")[0]


def hex_part(d: str) -> str:
    return d.partition(":")[2]


def sha256_bytes(data: bytes) -> Digest:
    return Digest("sha256:" + hashlib.sha256(data).hexdigest())


def hasher(alg: str = "sha256") -> hashlib._Hash:
    if alg not in _HEX_LEN:
        raise DigestError(f"unsupported digest algorithm: {alg}")
    return hashlib.new(alg)


def chain_ids(diff_ids: list[str]) -> list[Digest]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[Digest] = []
    for i, d in enumerate(diff_ids):
        if i == 0:
            out.append(Digest(d))
        else:
            out.append(sha256_bytes(f"{out[-1]} {d}".encode()))
    return out


def short_id(d: str, length: int = 12) -> str:
    return hex_part(d)[:length] if ":" in d else d[:length]
