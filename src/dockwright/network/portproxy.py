"""The port proxy of one container (dockerd's ``docker-proxy``, one process for all its ports).

    python -m dockwright.network.portproxy --owner EXEC_ROOT --container ID SPEC_JSON

SPEC_JSON lists ``{"fd", "proto", "target_ip", "target_port"}``: listening sockets the daemon
bound and passed down (so it reports a taken port itself and early connections wait in the
backlog). The proxy runs in its own session, so it keeps forwarding while the daemon is down, as
the container keeps running; the daemon stops it when the container stops, or at its next start
if the container ended meanwhile (``--owner`` tells one daemon's proxies from another's).

TCP: an accept thread per listener; per client an upstream connection spliced both ways on two
pooled threads (the bytes never enter Python), half-closes passed on. UDP: one upstream socket per
client address, dropped after ``UDP_IDLE`` seconds without traffic, as docker-proxy does.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ports import Listener

UDP_IDLE = 90.0
CMD_MARK = "dockwright.network.portproxy"


SPLICE_CHUNK = 1 << 20
# two threads per open connection, reused once it closes (starting threads cost more than a request)
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2048, thread_name_prefix="relay")


def _splice_one_way(src: socket.socket, dst: socket.socket) -> None:
    """Kernel-to-kernel copy through a pipe (no bytes through Python), then pass the half-close on."""
    r, w = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, SPLICE_CHUNK)
    try:
        while True:
            n = os.splice(src.fileno(), w, SPLICE_CHUNK, flags=os.SPLICE_F_MOVE)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n, flags=os.SPLICE_F_MOVE)
    except OSError:
        pass
    finally:
        os.close(r)
        os.close(w)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, target: tuple[str, int]) -> None:
    """One client connection: blocking splices both ways until both ends close."""
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = _POOL.submit(_splice_one_way, upstream, client)
    _splice_one_way(client, upstream)
    back.result()
    client.close()
    upstream.close()


def _serve_tcp(sock: socket.socket, target: tuple[str, int]) -> None:
    """The accept loop of one listener, on its own thread."""
    sock.setblocking(True)
    while True:
        try:
            client, _ = sock.accept()
        except OSError:
            return
        _POOL.submit(_relay, client, target)


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards the container: replies go back to that client."""

    def __init__(self, front: asyncio.DatagramTransport, client: Any) -> None:
        self.front, self.client = front, client
        self.transport: asyncio.DatagramTransport | None = None
        self.last = asyncio.get_running_loop().time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.last = asyncio.get_running_loop().time()
        self.front.sendto(data, self.client)


class _Front(asyncio.DatagramProtocol):
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.clients: dict[Any, _Upstream] = {}
        self.pending: dict[Any, list[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        up = self.clients.get(addr)
        if up is not None and up.transport is not None:
            up.last = asyncio.get_running_loop().time()
            up.transport.sendto(data)
        elif addr in self.pending:
            self.pending[addr].append(data)
        else:
            self.pending[addr] = [data]
            asyncio.ensure_future(self._open(addr))

    async def _open(self, addr: Any) -> None:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        try:
            _, up = await loop.create_datagram_endpoint(lambda: _Upstream(self.transport, addr),  # type: ignore[arg-type]
                                                        remote_addr=self.target)
        except OSError:
            self.pending.pop(addr, None)
            return
        self.clients[addr] = up
        for data in self.pending.pop(addr, []):
            assert up.transport is not None
            up.transport.sendto(data)

    async def expire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(UDP_IDLE / 3)
            for addr, up in list(self.clients.items()):
                if loop.time() - up.last > UDP_IDLE and up.transport is not None:
                    up.transport.close()
                    del self.clients[addr]


async def serve(spec: list[dict[str, Any]]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    keep: list[Any] = []
    for item in spec:
        target = (str(item["target_ip"]), int(item["target_port"]))
        fd = int(item["fd"])
        if item["proto"] == "tcp":
            threading.Thread(target=_serve_tcp, args=(socket.socket(fileno=fd), target), daemon=True).start()
        else:
            sock = socket.socket(fileno=fd)
            sock.setblocking(False)
            front = _Front(target)
            await loop.create_datagram_endpoint(lambda f=front: f, sock=sock)  # type: ignore[misc]
            keep.append(asyncio.ensure_future(front.expire()))
    await stop.wait()


# -- the daemon's side -----------------------------------------------------------------------
def spawn(owner: str, container_id: str, listeners: list[Listener], target_ip: str) -> subprocess.Popen[bytes]:
    """Start the proxy with ``listeners``' sockets; the caller closes its own copies."""
    spec = [{"fd": x.sock.fileno(), "proto": x.proto, "target_ip": target_ip, "target_port": x.container_port}
            for x in listeners]
    return subprocess.Popen(
        [sys.executable, "-m", CMD_MARK, "--owner", owner, "--container", container_id, json.dumps(spec)],
        pass_fds=[x.sock.fileno() for x in listeners], start_new_session=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _identity(pid: int) -> tuple[str, str] | None:
    """(owner, container) of a running port proxy, None for any other process."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv]
    if CMD_MARK not in words:
        return None
    try:
        return words[words.index("--owner") + 1], words[words.index("--container") + 1]
    except (ValueError, IndexError):
        return None


def stop(pid: int, owner: str, container_id: str) -> None:
    """Stop a proxy found by pid (one a previous daemon started), if it is still that proxy."""
    if pid > 0 and _identity(pid) == (owner, container_id):
        _terminate([pid])


def stop_stale(owner: str, keep: set[str]) -> None:
    """At start-up: the proxies of this daemon's containers that ended while it was down."""
    stale = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            who = _identity(int(entry))
            if who is not None and who[0] == owner and who[1] not in keep:
                stale.append(int(entry))
    _terminate(stale)


def _terminate(pids: list[int], timeout: float = 5) -> None:
    """SIGTERM, and SIGKILL what still runs after ``timeout``; returns once they are gone (their
    ports free), as a stop of the container's own proxy does."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for sig in (signal.SIGKILL, None):
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            time.sleep(0.01)
            pids = [p for p in pids if _identity(p) is not None]
        if not pids or sig is None:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=CMD_MARK)
    p.add_argument("--owner", required=True)
    p.add_argument("--container", required=True)
    p.add_argument("spec")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(json.loads(args.spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
