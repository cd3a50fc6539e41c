"""Build secrets (``RUN --mount=type=secret``): how they arrive and how they are held.

The legacy ``POST /build`` has no session to ask the client for a secret, so
the client sends them up front in one request header::

    X-Dockwright-Build-Secrets: base64(JSON {"<id>": "<base64 of the value>", ...})

(standard or URL-safe base64, padding optional). The daemon keeps the values
in memory only: ``Secrets`` never shows them in its ``repr``, and a RUN step
sees one on a tmpfs that lives as long as the step (see ``runstep.py``). A
cache key may name a secret's id, never its value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping

from dockwright.errors import InvalidParameter

HEADER = "X-Dockwright-Build-Secrets"
MAX_SECRET = 500 * 1024  # BuildKit's limit for one secret
_ID = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


class Secrets(Mapping[str, bytes]):
    """id -> value; a read-only mapping whose repr and str list ids only."""

    def __init__(self, values: Mapping[str, bytes] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, key: str) -> bytes:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets(ids={sorted(self._values)})"

    __str__ = __repr__


def _b64(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def check_id(secret_id: str) -> None:
    if not _ID.match(secret_id):
        raise InvalidParameter(f"invalid secret id {secret_id!r}: use letters, digits, '.', '_' and '-'")


def parse_header(raw: str | None) -> Secrets:
    """The header's value (or None) -> ``Secrets``; errors name the header, never a value."""
    if not raw:
        return Secrets()
    try:
        data = json.loads(_b64(raw))
    except ValueError:
        raise InvalidParameter(f"{HEADER} must be base64-encoded JSON: {{\"id\": \"<base64 value>\"}}") from None
    if not isinstance(data, dict):
        raise InvalidParameter(f"{HEADER} must hold a JSON object of secret id -> base64 value")
    out: dict[str, bytes] = {}
    for key, value in data.items():
        check_id(str(key))
        if not isinstance(value, str):
            raise InvalidParameter(f"{HEADER}: the value of secret {key!r} must be a base64 string")
        try:
            out[str(key)] = _b64(value)
        except ValueError:
            raise InvalidParameter(f"{HEADER}: the value of secret {key!r} is not valid base64") from None
        if len(out[str(key)]) > MAX_SECRET:
            raise InvalidParameter(f"secret {key!r} is larger than {MAX_SECRET // 1024} KiB")
    return Secrets(out)


def encode_header(values: Mapping[str, bytes]) -> str:
    """The header value for ``values`` (the inverse of ``parse_header``)."""
    body = {k: base64.b64encode(v).decode() for k, v in values.items()}
    return base64.b64encode(json.dumps(body, sort_keys=True).encode()).decode()
