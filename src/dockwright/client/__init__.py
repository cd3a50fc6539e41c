"""Engine API client used by the CLI: HTTP over a Unix socket or TCP+TLS, JSON streams, hijack.

Imports stay light (stdlib ``http.client`` only) so that short commands start fast.
"""

from dockwright.client.api import APIClient, Response
from dockwright.client.errors import APIError, DaemonUnavailable
from dockwright.client.hosts import DEFAULT_HOST, TLSConfig, parse_host, resolve_host, resolve_tls

__all__ = [
    "APIClient",
    "APIError",
    "DaemonUnavailable",
    "DEFAULT_HOST",
    "Response",
    "TLSConfig",
    "parse_host",
    "resolve_host",
    "resolve_tls",
]
