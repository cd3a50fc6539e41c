"""The one place where error kinds become HTTP status codes."""

from __future__ import annotations

from .. import errors

_STATUS: list[tuple[type[errors.DockwrightError], int]] = [
    (errors.NotFound, 404),
    (errors.InvalidParameter, 400),
    (errors.Conflict, 409),
    (errors.AlreadyExists, 409),
    (errors.FailedPrecondition, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotModified, 304),
    (errors.Unavailable, 503),
    (errors.NotImplementedKind, 501),
    (errors.Cancelled, 499),
    (errors.DataLoss, 500),
    (errors.Internal, 500),
]


def status_for(exc: BaseException) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500
