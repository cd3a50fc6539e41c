"""A TCP proxy for fault tests: forwards to a registry, optionally cutting big responses once."""

from __future__ import annotations

import socket
import threading


class DropProxy:
    """Cuts the first connection whose response passes ``drop_after`` bytes; later ones pass."""

    def __init__(self, target: tuple[str, int], drop_after: int = 1 << 20, drops: int = 1,
                 upstream: bool = False) -> None:
        self.target = target
        self.upstream = upstream  # cut a big request body (an upload) instead of a big response
        self.drop_after = drop_after
        self.drops_left = drops
        self.dropped = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self._stop = False
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(self.target)
            self._conns += [c, u]
            threading.Thread(target=self._up, args=(c, u), daemon=True).start()
            threading.Thread(target=self._down, args=(u, c), daemon=True).start()

    def _up(self, c: socket.socket, u: socket.socket) -> None:
        sent = 0
        try:
            while data := c.recv(65536):
                sent += len(data)
                with self._lock:
                    self.requests.append(data[:200])
                    cut = self.upstream and sent > self.drop_after and self.drops_left > 0
                    if cut:
                        self.drops_left -= 1
                        self.dropped += 1
                if cut:
                    _close(c)
                    break
                u.sendall(data)
        except OSError:
            pass
        finally:
            _close(u)

    def _down(self, u: socket.socket, c: socket.socket) -> None:
        sent = 0
        try:
            while data := u.recv(65536):
                sent += len(data)
                with self._lock:
                    cut = not self.upstream and sent > self.drop_after and self.drops_left > 0
                    if cut:
                        self.drops_left -= 1
                        self.dropped += 1
                if cut:
                    c.sendall(data[: len(data) // 2])
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            _close(c)
            _close(u)

    def range_requests(self) -> int:
        with self._lock:
            return sum(1 for r in self.requests if b"\r\nrange: bytes=" in r.lower())

    def close(self) -> None:
        self._stop = True
        _close(self.sock)
        for s in self._conns:
            _close(s)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
