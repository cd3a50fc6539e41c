"""Engine API client: stdlib ``http.client`` over a Unix socket or TCP (+TLS).

Sync and small on purpose: ``dockwright version`` must answer in well under
150 ms including interpreter start, so nothing heavy is imported here. One
keep-alive connection serves plain requests; streaming responses (events,
load, save) get their own connection, closed when the caller is done.

The API version is negotiated like docker's client does: the first request
pings ``/_ping`` and uses the lower of ours and the daemon's ``API-Version``,
so the same client works against dockwright and older dockerd alike.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from dockwright.client.errors import APIError, DaemonUnavailable, api_error
from dockwright.client.hosts import DEFAULT_HOST, Host, TLSConfig, parse_host

if TYPE_CHECKING:
    from dockwright.client.hijack import HijackedSocket

__all__ = ["APIClient", "Response", "quote_name", "Params", "Body"]

DEFAULT_VERSION = "1.47"
USER_AGENT = "dockwright-cli"
BLOCKSIZE = 1 << 16

Params = Mapping[str, Any] | None
Body = bytes | str | IO[bytes] | Iterable[bytes] | None


def quote_name(name: str) -> str:
    """An image or container name as a path segment (``/`` stays, as docker's routes expect)."""
    return quote(name, safe="/:@")


def _version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


def encode_params(params: Params) -> str:
    """Query string the way docker's client writes it: true is ``1``, false is absent, filters are JSON."""
    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            if v:  # docker's client leaves false flags out; pass "0" explicitly where a default is true
                pairs.append((k, "1"))
        elif isinstance(v, list | tuple):
            pairs.extend((k, str(x)) for x in v)
        elif isinstance(v, dict):
            pairs.append((k, json.dumps(v, separators=(",", ":"))))
        else:
            pairs.append((k, str(v)))
    return urlencode(pairs)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout, blocksize=BLOCKSIZE)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if self.timeout is not None:
                sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _ssl_context(tls: TLSConfig) -> Any:
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls.verify:
        if tls.ca_cert:
            ctx.load_verify_locations(cafile=tls.ca_cert)
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert and tls.key:
        ctx.load_cert_chain(tls.cert, tls.key)
    return ctx


class Response:
    """A response whose body has not been read yet (streams, tarballs)."""

    def __init__(self, resp: http.client.HTTPResponse, conn: http.client.HTTPConnection, owned: bool) -> None:
        self.status = resp.status
        self.headers = resp.headers
        self._resp = resp
        self._conn = conn
        self._owned = owned

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def read(self, n: int = -1) -> bytes:
        return self._resp.read() if n < 0 else self._resp.read(n)

    def read1(self, n: int = BLOCKSIZE) -> bytes:
        return self._resp.read1(n)

    def iter_chunks(self, size: int = BLOCKSIZE) -> Iterator[bytes]:
        while True:
            chunk = self._resp.read1(size)
            if not chunk:
                return
            yield chunk

    def iter_json(self) -> Iterator[Any]:
        """Objects of a JSON-lines (or concatenated JSON) body, as they arrive."""
        dec = json.JSONDecoder()
        buf = ""
        pending = b""
        for chunk in self.iter_chunks():
            pending += chunk
            try:
                text = pending.decode()
                pending = b""
            except UnicodeDecodeError:
                continue  # a multi-byte character split across chunks
            buf += text
            while True:
                buf = buf.lstrip()
                if not buf:
                    break
                try:
                    obj, end = dec.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                yield obj
        rest = (buf + pending.decode(errors="replace")).strip()
        if rest:
            raise APIError(self.status, f"malformed JSON in response stream: {rest[:200]!r}")

    def close(self) -> None:
        if self._owned:
            self._conn.close()
        else:
            self._resp.close()

    def abort(self) -> None:
        """Unblock a ``read`` in progress on another thread (close alone would wait for its lock)."""
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class APIClient:
    """A client for one daemon; ``get/post/delete/head`` return ``(status, headers, body)``."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        tls: TLSConfig | None = None,
        version: str | None = DEFAULT_VERSION,
        *,
        negotiate: bool = True,
        timeout: float | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.host = host
        self.tls = tls
        self._host: Host = parse_host(host, tls=tls is not None)
        self.client_version = version or DEFAULT_VERSION
        self._negotiate = negotiate
        self.api_version: str | None = None if negotiate else self.client_version
        self.timeout = timeout
        self.user_agent = user_agent
        self._conn: http.client.HTTPConnection | None = None
        self.server_headers: Mapping[str, str] = {}

    # ------------------------------------------------------------------ connections

    def _new_connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        t = self.timeout if timeout is None else timeout
        h = self._host
        if h.scheme == "unix":
            return _UnixConnection(h.path, t)
        if self.tls is not None:
            return http.client.HTTPSConnection(h.address, h.port, timeout=t, context=_ssl_context(self.tls),
                                               blocksize=BLOCKSIZE)
        return http.client.HTTPConnection(h.address, h.port, timeout=t, blocksize=BLOCKSIZE)

    def _raw_socket(self) -> socket.socket:
        h = self._host
        try:
            if h.scheme == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(h.path)
                except BaseException:
                    sock.close()
                    raise
                return sock
            sock = socket.create_connection((h.address, h.port), timeout=self.timeout)
            if self.tls is not None:
                sock = _ssl_context(self.tls).wrap_socket(sock, server_hostname=h.address)
            sock.settimeout(None)
            return sock
        except OSError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> DaemonUnavailable:
        if isinstance(exc, PermissionError):
            return DaemonUnavailable(self.host, "permission")
        reason = ""
        if type(exc).__module__ == "ssl" or "SSL" in type(exc).__name__:
            reason = str(exc)
        return DaemonUnavailable(self.host, reason)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> APIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests

    def url(self, path: str, params: Params = None, *, versioned: bool = True) -> str:
        if versioned:
            v = self.negotiated_version()
            path = f"/v{v}{path}"
        qs = encode_params(params)
        return path + ("?" + qs if qs else "")

    def negotiated_version(self) -> str:
        if self.api_version is None:
            self.api_version = self.client_version
            try:
                status, headers, _ = self._send("GET", "/_ping", None, None)
            except APIError:
                return self.api_version
            server = headers.get("API-Version") or headers.get("Api-Version")
            if server and _version_tuple(server) < _version_tuple(self.client_version):
                self.api_version = server
        return self.api_version

    def _headers(self, headers: Mapping[str, str] | None, body: Body) -> dict[str, str]:
        out = {"User-Agent": self.user_agent}
        if isinstance(body, bytes | str) and body:
            out["Content-Type"] = "application/json"
        if headers:
            out.update(headers)
        return out

    def _send(
        self,
        method: str,
        target: str,
        body: Body,
        headers: Mapping[str, str] | None,
        *,
        timeout: float | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on the shared keep-alive connection (retried once if that connection went stale)."""
        hdrs = self._headers(headers, body)
        retryable = body is None or isinstance(body, bytes | str)
        for attempt in (0, 1):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._new_connection(timeout)
            conn = self._conn
            try:
                conn.request(method, target, body=body, headers=hdrs)  # type: ignore[arg-type, unused-ignore]
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and retryable and attempt == 0:
                    continue
                raise self._unavailable(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
                    raise DaemonUnavailable(self.host, f"bad response: {exc}") from exc
                raise self._unavailable(exc) from exc
            if resp.will_close:
                self.close()
            if resp.status >= 400:
                raise api_error(resp.status, _error_message(resp.status, resp.reason, data))
            return resp.status, resp.headers, data
        raise AssertionError("unreachable")  # pragma: no cover

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        body: Body = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        if json_body is not None:
            body = json.dumps(json_body).encode()
        return self._send(method, self.url(path, params, versioned=versioned), body, headers)

    def get(self, path: str, **kw: Any) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("DELETE", path, **kw)

    def head(self, path: str, **kw: Any) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("HEAD", path, **kw)

    def get_json(self, path: str, **kw: Any) -> Any:
        return _decode(self.request("GET", path, **kw)[2])

    def post_json(self, path: str, **kw: Any) -> Any:
        return _decode(self.request("POST", path, **kw)[2])

    def delete_json(self, path: str, **kw: Any) -> Any:
        return _decode(self.request("DELETE", path, **kw)[2])

    def ping(self) -> Mapping[str, str]:
        """``GET /_ping``: the daemon's headers (``API-Version``, ``OSType``, ``Builder-Version``)."""
        _, headers, _ = self._send("GET", "/_ping", None, None)
        return {k: v for k, v in headers.items()}

    # ------------------------------------------------------------------ streaming

    def open(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        body: Body = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
        timeout: float | None = None,
    ) -> Response:
        """Send a request (the body may be a file or an iterator, sent chunked) and return the unread response.

        The response owns its own connection; close it (or use ``with``).
        """
        target = self.url(path, params, versioned=versioned)
        conn = self._new_connection(timeout)
        try:
            conn.request(method, target, body=body, headers=self._headers(headers, body))  # type: ignore[arg-type, unused-ignore]
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
                raise DaemonUnavailable(self.host, f"bad response: {exc}") from exc
            raise self._unavailable(exc) from exc
        if resp.status >= 400:
            try:
                data = resp.read()
            finally:
                conn.close()
            raise api_error(resp.status, _error_message(resp.status, resp.reason, data))
        return Response(resp, conn, owned=True)

    def stream_json(self, method: str, path: str, **kw: Any) -> Iterator[Any]:
        """The JSON objects of a streaming response (events, progress), one at a time."""
        with self.open(method, path, **kw) as resp:
            yield from resp.iter_json()

    def hijack(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HijackedSocket:
        """Upgrade the connection to a raw stream (attach, exec start): answer must be ``101`` (or ``200``)."""
        from dockwright.client.hijack import upgrade

        target = self.url(path, params)
        sock = self._raw_socket()
        hdrs = {"User-Agent": self.user_agent, **(headers or {})}
        body = b"" if json_body is None else json.dumps(json_body).encode()
        try:
            return upgrade(sock, method, target, body, hdrs, host_header=self._host_header())
        except BaseException:
            sock.close()
            raise

    def _host_header(self) -> str:
        h = self._host
        return "localhost" if h.scheme == "unix" else f"{h.address}:{h.port}"


def _decode(data: bytes) -> Any:
    if not data:
        return None
    return json.loads(data)


def _error_message(status: int, reason: str, data: bytes) -> str:
    text = data.decode(errors="replace").strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            return str(obj["message"])
    if text:
        return text
    return f"{status} {reason}".strip()


