"""The registry's error codes, each registered once with its HTTP status.

Bodies follow the distribution spec: ``{"errors": [{"code", "message",
"detail"}]}``. ``UNKNOWN`` (500) is distribution's catch-all for bugs, and
``PAGINATION_NUMBER_INVALID`` and ``UNAVAILABLE`` are its
extensions; everything else is the spec's table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    value: str
    message: str
    status: int


_CODES: dict[str, ErrorCode] = {}


def register(value: str, message: str, status: int) -> ErrorCode:
    if value in _CODES:
        raise ValueError(f"error code {value} registered twice")
    code = ErrorCode(value, message, status)
    _CODES[value] = code
    return code


def lookup(value: str) -> ErrorCode | None:
    return _CODES.get(value)


BLOB_UNKNOWN = register("BLOB_UNKNOWN", "blob unknown to registry", 404)
BLOB_UPLOAD_INVALID = register("BLOB_UPLOAD_INVALID", "blob upload invalid", 400)
BLOB_UPLOAD_UNKNOWN = register("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", 404)
DIGEST_INVALID = register("DIGEST_INVALID", "provided digest did not match uploaded content", 400)
MANIFEST_BLOB_UNKNOWN = register(
    "MANIFEST_BLOB_UNKNOWN", "manifest references a manifest or blob unknown to registry", 404
)
MANIFEST_INVALID = register("MANIFEST_INVALID", "manifest invalid", 400)
MANIFEST_UNKNOWN = register("MANIFEST_UNKNOWN", "manifest unknown to registry", 404)
NAME_INVALID = register("NAME_INVALID", "invalid repository name", 400)
NAME_UNKNOWN = register("NAME_UNKNOWN", "repository name not known to registry", 404)
SIZE_INVALID = register("SIZE_INVALID", "provided length did not match content length", 400)
UNAUTHORIZED = register("UNAUTHORIZED", "authentication required", 401)
DENIED = register("DENIED", "requested access to the resource is denied", 403)
UNSUPPORTED = register("UNSUPPORTED", "the operation is unsupported", 405)
TOOMANYREQUESTS = register("TOOMANYREQUESTS", "too many requests", 429)
PAGINATION_NUMBER_INVALID = register("PAGINATION_NUMBER_INVALID", "invalid number of results requested", 400)
UNAVAILABLE = register("UNAVAILABLE", "service unavailable", 503)
UNKNOWN = register("UNKNOWN", "unknown error", 500)


class RegistryError(Exception):
    """An error the client sees as one entry of the spec's error body."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        detail: Any = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or code.message)
        self.code = code
        self.message = message or code.message
        self.detail = detail
        self.status = status or code.status
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.detail is not None:
            out["detail"] = self.detail
        return out

    def body(self) -> bytes:
        return json.dumps({"errors": [self.to_json()]}).encode()
