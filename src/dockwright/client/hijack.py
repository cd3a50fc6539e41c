"""Connection hijack for attach and exec: the HTTP ``101`` upgrade, then a raw stream.

The request carries ``Connection: Upgrade`` and ``Upgrade: tcp``; the daemon
answers ``101 UPGRADED`` (old daemons ``200 OK``) and from then on the socket
carries the container's stdio. Without a TTY the output is multiplexed in
frames with docker's 8-byte header: stream (0 stdin, 1 stdout, 2 stderr),
three zero bytes, big-endian payload length.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator, Mapping

from dockwright.client.errors import DaemonUnavailable, api_error

MAX_HEADER = 64 * 1024
STDIN, STDOUT, STDERR = 0, 1, 2


class HijackedSocket:
    """The upgraded connection; bytes the daemon sent along with its headers are read first."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self.sock = sock
        self._buf = buffered

    def recv(self, n: int = 65536) -> bytes:
        if self._buf:
            out, self._buf = self._buf[:n], self._buf[n:]
            return out
        return self.sock.recv(n)

    def recv_exactly(self, n: int) -> bytes:
        """``n`` bytes, or fewer only at end of stream."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = self.recv(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: tells the daemon stdin is done while output keeps flowing."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """``(stream, payload)`` for each multiplexed frame until the stream ends."""
        while True:
            header = self.recv_exactly(8)
            if len(header) < 8:
                return
            stream, length = header[0], struct.unpack(">I", header[4:])[0]
            payload = self.recv_exactly(length)
            yield stream, payload
            if len(payload) < length:
                return

    def __enter__(self) -> HijackedSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode_frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(payload)) + payload


def upgrade(
    sock: socket.socket,
    method: str,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    host_header: str = "localhost",
) -> HijackedSocket:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}", "Connection: Upgrade", "Upgrade: tcp"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise DaemonUnavailable("hijacked connection", "the daemon closed the connection during upgrade")
        data += chunk
        if len(data) > MAX_HEADER:
            raise DaemonUnavailable("hijacked connection", "response headers too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        raise DaemonUnavailable("hijacked connection", f"bad status line {status_line!r}") from None
    hdrs = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if status >= 400:
        message = _read_error_body(sock, hdrs, rest)
        raise api_error(status, message or status_line)
    if status not in (101, 200):
        raise api_error(status, f"unexpected answer to an upgrade request: {status_line}")
    return HijackedSocket(sock, rest)


def _read_error_body(sock: socket.socket, hdrs: Mapping[str, str], data: bytes) -> str:
    import json

    def more() -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        while len(data) < n:
            chunk = more()
            if not chunk:
                break
            data += chunk
        body = data[:n]
    elif hdrs.get("transfer-encoding", "").lower() == "chunked":
        while not data.endswith(b"0\r\n\r\n"):
            chunk = more()
            if not chunk:
                break
            data += chunk
        body = b""
        rest = data
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2 :]
    else:
        body = data
    text = body.decode(errors="replace").strip()
    try:
        obj = json.loads(text)
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            return str(obj["message"])
    except ValueError:
        pass
    return text
