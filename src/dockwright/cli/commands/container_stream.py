"""The local end of attach and exec: stdio over a hijacked connection, the terminal, signals.

Output is copied on the calling thread until the daemon ends the stream
(8-byte frames without a TTY, raw bytes with one); stdin is copied by a
daemon thread, and its end half-closes the connection (``SHUT_WR``) so the
process sees EOF while its output keeps flowing, as docker does. With a
TTY the local terminal goes raw for the duration and window sizes follow
``SIGWINCH``; without one, ``--sig-proxy`` turns signals the CLI receives
into ``POST /containers/{id}/kill``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from dockwright.cli.context import Cli
from dockwright.client.hijack import STDERR, HijackedSocket

# left alone: children, SIGPIPE and SIGURG (as docker), the window, job control, and the faults a
# process raises on itself, which must keep their default action
_NOT_FORWARDED = {"SIGCHLD", "SIGPIPE", "SIGURG", "SIGWINCH", "SIGKILL", "SIGSTOP", "SIGTSTP", "SIGTTIN",
                  "SIGTTOU", "SIGCONT", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGTRAP", "SIGSYS",
                  "SIGPROF", "SIGVTALRM"}


def _fileno(stream: Any) -> int | None:
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    return fd if isinstance(fd, int) else None


def terminal_size(stream: Any) -> tuple[int, int] | None:
    """``(rows, columns)`` of the terminal behind ``stream``, or None when it is not one."""
    fd = _fileno(stream)
    if fd is None or not os.isatty(fd):
        return None
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


@contextmanager
def raw_terminal(*streams: Any) -> Iterator[None]:
    """Put the terminals behind ``streams`` in raw mode and restore them however the block ends."""
    import termios
    import tty

    saved: list[tuple[int, list[Any]]] = []
    seen: set[str] = set()
    try:
        for s in streams:
            fd = _fileno(s)
            if fd is None or not os.isatty(fd):
                continue
            name = os.ttyname(fd)
            if name in seen:
                continue
            seen.add(name)
            saved.append((fd, termios.tcgetattr(fd)))
            tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        for fd, attrs in reversed(saved):
            try:
                termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
            except OSError:
                pass


def copy_output(sock: HijackedSocket, tty: bool, out: IO[bytes] | None, err: IO[bytes] | None) -> None:
    """Daemon to local streams until the stream ends (the process exited, or the user detached)."""
    try:
        if tty:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                if out is not None:
                    out.write(data)
                    out.flush()
        for stream, payload in sock.frames():
            target = err if stream == STDERR else out
            if target is not None:
                target.write(payload)
                target.flush()
    except (ConnectionResetError, BrokenPipeError):
        return


def start_stdin_copy(sock: HijackedSocket, stdin: Any) -> threading.Thread:
    """Copy local stdin to the daemon in a thread; at its end, half-close so the process reads EOF."""

    def pump() -> None:
        fd = _fileno(stdin)
        try:
            while True:
                if fd is not None:
                    data = os.read(fd, 65536)
                else:
                    data = stdin.read1(65536) if hasattr(stdin, "read1") else stdin.read(65536)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            return
        sock.close_write()

    t = threading.Thread(target=pump, name="dockwright-stdin", daemon=True)
    t.start()
    return t


@contextmanager
def follow_window_size(cli: Cli, path: str, enabled: bool) -> Iterator[None]:
    """Send the terminal size to ``path`` (a ``.../resize`` endpoint) now and on every ``SIGWINCH``."""
    if not enabled or terminal_size(cli.stdout) is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def send(attempts: int = 1) -> None:
        import time

        size = terminal_size(cli.stdout)
        if size is None:
            return
        for attempt in range(attempts):
            try:
                with _side_client(cli) as c:
                    c.post(path, params={"h": size[0], "w": size[1]})
                return
            except Exception:  # noqa: BLE001 - a resize that fails must not end the session
                time.sleep(0.01 * (attempt + 1))  # an exec is "not running" for a moment after its start

    threading.Thread(target=send, args=(10,), daemon=True).start()
    previous = signal.signal(signal.SIGWINCH, lambda _s, _f: threading.Thread(target=send, daemon=True).start())
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _side_client(cli: Cli) -> Any:
    """A fresh client for calls made from signal handlers, so they never share the main connection."""
    from dockwright.client.api import APIClient

    return APIClient(cli.host, cli.tls, cli.client.negotiated_version(), negotiate=False)


@contextmanager
def proxy_signals(cli: Cli, container: str, enabled: bool) -> Iterator[None]:
    """Forward the signals this process receives to the container (``--sig-proxy``)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    from urllib.parse import quote

    path = f"/containers/{quote(container, safe='')}/kill"
    version = cli.client.negotiated_version()

    def forward(signum: int) -> None:
        from dockwright.client.api import APIClient

        try:
            with APIClient(cli.host, cli.tls, version, negotiate=False) as c:
                c.post(path, params={"signal": signal.Signals(signum).name.removeprefix("SIG")})
        except Exception:  # noqa: BLE001 - docker only logs a failed forward
            pass

    def handler(signum: int, _frame: Any) -> None:
        threading.Thread(target=forward, args=(signum,), daemon=True).start()

    previous: dict[signal.Signals, Any] = {}
    for sig in signal.valid_signals():
        if not isinstance(sig, signal.Signals) or sig.name in _NOT_FORWARDED:
            continue
        try:
            previous[sig] = signal.signal(sig, handler)
        except (OSError, ValueError):
            continue
    try:
        yield
    finally:
        for sig, prev in previous.items():
            try:
                signal.signal(sig, prev)
            except (OSError, ValueError, TypeError):
                pass


class StatusWaiter:
    """Reads ``POST /containers/{id}/wait`` in a thread, so output and exit status arrive independently."""

    def __init__(self, opener: Callable[[], Any]) -> None:
        self._resp = opener()  # the request is sent (and registered by the daemon) before start
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="dockwright-wait", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import json

        try:
            data = self._resp.read()
            self.result = json.loads(data) if data.strip() else {}
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
        finally:
            self._resp.close()

    def done(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Stop waiting (the reader thread ends on its own and closes the response)."""
        self._resp.abort()

    def status(self, cli: Cli) -> int:
        """The exit code, or 125 (with docker's message) when waiting failed."""
        self.done()
        if self.error is not None:
            cli.err(f"Error waiting for container: {self.error}")
            return 125
        res = self.result or {}
        err = res.get("Error")
        if isinstance(err, dict) and err.get("Message"):
            cli.err(f"Error waiting for container: {err['Message']}")
            return 125
        return int(res.get("StatusCode") or 0)
