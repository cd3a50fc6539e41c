"""Error kinds shared by every package.

An error that crosses a package boundary is exactly one of these kinds; only
``dockwright.api.errors`` turns a kind into an HTTP status. Messages are for
the user: they say what went wrong and, where it helps, what to do. Docker's
wording is kept where clients match on it ("No such image: x").

    DockwrightError
     ├── NotFound            404
     ├── InvalidParameter    400
     ├── Conflict            409
     ├── AlreadyExists       409
     ├── FailedPrecondition  400
     ├── Unauthorized        401
     ├── Forbidden           403
     ├── NotModified         304
     ├── Unavailable         503
     ├── NotImplementedKind  501
     ├── Cancelled           499
     ├── DataLoss            500
     └── Internal            500
"""

from __future__ import annotations


class DockwrightError(Exception):
    """Base of every error kind; ``str(err)`` is the user-facing message."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(DockwrightError):
    """The named object does not exist."""


class InvalidParameter(DockwrightError):
    """The request was malformed: bad JSON, bad type, bad reference, bad tar."""


class Conflict(DockwrightError):
    """The object is in a state that forbids the operation (image in use...)."""


class AlreadyExists(DockwrightError):
    """An object with this name or digest already exists."""


class FailedPrecondition(DockwrightError):
    """A check the caller asked for failed (digest or size mismatch...)."""


class Unauthorized(DockwrightError):
    """Credentials are missing or wrong."""


class Forbidden(DockwrightError):
    """Credentials are valid but do not allow this."""


class NotModified(DockwrightError):
    """The operation had nothing to do (container already started...)."""


class Unavailable(DockwrightError):
    """A dependency is down or the feature is switched off here."""


class NotImplementedKind(DockwrightError):
    """Docker has this, dockwright does not (yet)."""


class Cancelled(DockwrightError):
    """The client went away or the operation was cancelled."""


class DataLoss(DockwrightError):
    """Stored data is corrupt or missing."""


class Internal(DockwrightError):
    """A bug in dockwright."""
