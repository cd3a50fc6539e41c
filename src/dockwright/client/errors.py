"""What the Engine API client raises.

    APIError(status, message)          the daemon answered with an error
     ├── also the error kind of its status (NotFound for 404, Conflict for 409, ...)
    DaemonUnavailable(host, reason)    nothing answered at the host (an ``Unavailable``)

``APIError`` instances are also instances of the kind in ``dockwright.errors``
that matches the status, so callers can ``except NotFound`` without knowing
HTTP; there is no parallel hierarchy, only the status kept for display.
"""

from __future__ import annotations

from dockwright import errors as kinds


class APIError(kinds.DockwrightError):
    """The daemon answered ``status`` with ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def __repr__(self) -> str:
        return f"APIError({self.status}, {self.message!r})"


_KIND_BY_STATUS: dict[int, type[kinds.DockwrightError]] = {
    304: kinds.NotModified,
    400: kinds.InvalidParameter,
    401: kinds.Unauthorized,
    403: kinds.Forbidden,
    404: kinds.NotFound,
    409: kinds.Conflict,
    499: kinds.Cancelled,
    500: kinds.Internal,
    501: kinds.NotImplementedKind,
    503: kinds.Unavailable,
}
_CLASSES: dict[int, type[APIError]] = {}


def api_error(status: int, message: str) -> APIError:
    """An ``APIError`` that is also the error kind of ``status``."""
    kind = _KIND_BY_STATUS.get(status, kinds.Internal if status >= 500 else kinds.InvalidParameter)
    cls = _CLASSES.get(status)
    if cls is None:
        cls = type(f"{kind.__name__}APIError", (APIError, kind), {})
        _CLASSES[status] = cls
    return cls(status, message)


class DaemonUnavailable(kinds.Unavailable):
    """No daemon answered at ``host``; the message says how to start one."""

    def __init__(self, host: str, reason: str = "") -> None:
        if reason == "permission":
            msg = (
                f"permission denied while trying to connect to the dockwright daemon socket at {host}: "
                "run as root or add your user to the group owning the socket"
            )
        else:
            msg = (
                f"Cannot connect to the dockwright daemon at {host}. Is the daemon running? "
                "Start it with: dockwright daemon"
            )
            if reason:
                msg += f" ({reason})"
        super().__init__(msg)
        self.host = host
