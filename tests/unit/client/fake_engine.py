"""A small Engine-API-shaped HTTP/1.1 server on a temporary Unix socket, for client and CLI unit tests.

It is a real server (stdlib ``http.server`` in a thread): requests cross a
real socket, request bodies may be chunked, responses may stream, and
``Upgrade: tcp`` requests get a real ``101`` hijack. Routes are canned
answers registered per test; every request is recorded for assertions.
"""

from __future__ import annotations

import json
import os
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the /vX.Y prefix
    version: str  # "1.47" or "" when unversioned
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def filters(self) -> Any:
        return json.loads(self.query["filters"][0]) if "filters" in self.query else None


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    upgrade: Callable[[Any], None] | None = None  # gets the raw socket file after 101


Handler = Callable[[Request], Reply]


def json_reply(obj: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})


def error_reply(status: int, message: str) -> Reply:
    return json_reply({"message": message}, status)


def stream_reply(objs: Iterable[Any]) -> Reply:
    return Reply(200, (json.dumps(o).encode() + b"\n" for o in objs), {"Content-Type": "application/json"})


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True
    engine: FakeEngine

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a test of exactly that) is not a server failure


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self) -> None:
        eng = self.server.engine
        url = urlsplit(self.path)
        path = url.path
        version = ""
        if path.startswith("/v") and "/" in path[1:]:
            head, rest = path[1:].split("/", 1)
            if head[1:].replace(".", "").isdigit():
                version, path = head[1:], "/" + rest
        req = Request(self.command, path, version, parse_qs(url.query, keep_blank_values=True),
                      {k: v for k, v in self.headers.items()}, self._read_body())
        eng.requests.append(req)
        handler = eng.routes.get((self.command, path))
        if handler is None and self.command == "HEAD":
            handler = eng.routes.get(("GET", path))
        if handler is None:
            for (m, prefix), h in eng.prefix_routes.items():
                if m == self.command and path.startswith(prefix):
                    handler = h
                    break
        reply = handler(req) if handler else error_reply(404, f"page not found: {path}")
        if reply.upgrade is not None:
            self.wfile.write(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                             b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            self.wfile.flush()
            reply.upgrade(self.connection)
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Api-Version", eng.api_version)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if isinstance(reply.body, bytes):
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in reply.body:
            if chunk:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = _handle


class _TLSServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    engine: FakeEngine
    ssl_context: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        return self.ssl_context.wrap_socket(sock, server_side=True), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class FakeEngine:
    """``with FakeEngine() as eng: eng.route("GET", "/version", json_reply({...}))``; ``eng.host`` to connect.

    With ``tls=(certfile, keyfile, cafile)`` it listens on 127.0.0.1 with TLS and requires a client
    certificate signed by ``cafile`` (docker's ``--tlsverify`` daemon).
    """

    def __init__(self, api_version: str = "1.47", tls: tuple[str, str, str] | None = None) -> None:
        self.api_version = api_version
        self.routes: dict[tuple[str, str], Handler] = {}
        self.prefix_routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self._dir = tempfile.mkdtemp(prefix="dw-fake-engine-")
        self.socket_path = os.path.join(self._dir, "engine.sock")
        self._server: Any
        if tls is None:
            self._server = _Server(self.socket_path, _Handler)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            ctx.load_verify_locations(cafile=tls[2])
            ctx.verify_mode = ssl.CERT_REQUIRED
            self._server = _TLSServer(("127.0.0.1", 0), _Handler)
            self._server.ssl_context = ctx
        self.tls = tls is not None
        self._server.engine = self
        self.route("GET", "/_ping", Reply(200, b"OK", {"OSType": "linux", "Builder-Version": "1"}))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def host(self) -> str:
        if self.tls:
            return f"tcp://127.0.0.1:{self._server.server_address[1]}"
        return f"unix://{self.socket_path}"

    def route(self, method: str, path: str, reply: Reply | Handler, *, prefix: bool = False) -> None:
        handler: Handler = reply if callable(reply) else (lambda _req, r=reply: r)
        (self.prefix_routes if prefix else self.routes)[(method, path)] = handler

    def last(self, method: str, path: str) -> Request:
        for r in reversed(self.requests):
            if r.method == method and r.path == path:
                return r
        raise AssertionError(f"no {method} {path} among {[(r.method, r.path) for r in self.requests]}")

    def start(self) -> FakeEngine:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        os.rmdir(self._dir)

    def __enter__(self) -> FakeEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
