"""Loopback ports for servers a test or benchmark starts (registries, git daemon, moto, daemons on TCP)."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether 127.0.0.1:``port`` accepts a connection within ``timeout``; False early if ``proc`` exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def http_get(port: int, path: str = "/", wait: float = 5.0, interval: float = 0.1) -> bytes:
    """GET http://127.0.0.1:``port````path``, retried for ``wait`` seconds while the server behind a
    published port is still starting (0: one try)."""
    import urllib.request

    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                return bytes(r.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
