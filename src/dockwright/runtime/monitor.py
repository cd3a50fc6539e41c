"""The per-container monitor (our containerd-shim): it owns the container's stdio, its log
and its exit status, so the container keeps running and logging while the daemon is down.

Started by the daemon in a new session, it creates the container through the OCI runtime
(which leaves the init process blocked until ``runtime start``), reports the init pid on the
ready pipe, then serves a Unix socket until the container exits:

    {"op": "attach", "stdin": b, "stdout": b, "stderr": b}   then frames out, raw stdin in
    {"op": "wait"}                                           -> {"exit_code", "oom_killed", ...}
    {"op": "resize", "height": h, "width": w}
    {"op": "exec", "exec_id", "process", "tty", "stdin"}     then frames; last frame carries the exit
    {"op": "state"}                                          -> {"pid", "running", "exit"}

Frames are ``stream (1 byte) + length (4 bytes, big-endian) + data``: stream 1 stdout,
2 stderr, 3 a JSON status, 0 end. As a child subreaper the monitor inherits the init process
(and detached exec processes) when the runtime exits, so it can wait for them itself. The exit
status goes to ``exit.json`` in the state directory before the monitor says anything else, so a
daemon that was down reads it when it comes back.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jsonlog import LogWriter, rfc3339nano

PR_SET_CHILD_SUBREAPER = 36
FRAME = struct.Struct(">BI")


def frame(stream: int, data: bytes) -> bytes:
    return FRAME.pack(stream, len(data)) + data


def recv_fd(sock: socket.socket) -> int:
    """Receive one file descriptor sent with SCM_RIGHTS (runc's console-socket protocol)."""
    fds = array.array("i")
    _msg, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
            return int(fds[0])
    raise OSError("no file descriptor received on the console socket")


def _runtime_log_error(path: Path) -> str:
    """The last error a runc-style runtime logged (``--log-format json``)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            if line.strip():
                return line.strip()
            continue
        if rec.get("level") in ("error", "fatal"):
            return str(rec.get("msg", ""))
    return ""


@dataclass
class Config:
    id: str
    bundle: str
    state_dir: str
    runtime: list[str]
    log_path: str
    log_max_size: int = 0
    log_max_file: int = 1
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    cgroup_path: str = ""
    socket: str = ""  # short path (sun_path is 108 bytes); default <state_dir>/monitor.sock
    builtin: bool = False  # the runtime is ours: commands that fork nothing run in this process

    @classmethod
    def load(cls, path: str) -> Config:
        with open(path) as f:
            return cls(**json.load(f))


@dataclass
class Proc:
    """The init process or one exec process: its output goes to its attached clients."""

    pid: int = 0
    stdin_w: int = -1
    out_fds: dict[int, int] = field(default_factory=dict)  # fd -> stream number
    master: int = -1
    clients: list[tuple[asyncio.StreamWriter, set[int]]] = field(default_factory=list)
    exit: dict[str, Any] | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    open_streams: int = 0
    stdin_once: bool = False


class Monitor:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.state = Path(cfg.state_dir)
        self.sock_path = Path(cfg.socket) if cfg.socket else self.state / "monitor.sock"
        self.init = Proc(stdin_once=cfg.stdin_once)
        self.log: LogWriter | None = None
        self.execs: dict[int, Proc] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.finished = asyncio.Event()
        self.start_done = asyncio.Event()  # the daemon's `runtime start` returned

    # -- create ---------------------------------------------------------------------
    def _runtime(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[bytes]:
        """Run the runtime; its own messages go to runtime.log (stderr may be the container's)."""
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.PIPE)
        log_path = self.state / "runtime.log"
        with contextlib.suppress(FileNotFoundError):
            log_path.unlink()
        if self.cfg.builtin and args and args[0] in ("create", "delete"):
            return self._builtin(list(args), log_path, kw.get("stdin"), kw.get("stdout"), kw.get("stderr"))
        r = subprocess.run([*self.cfg.runtime, "--log", str(log_path), "--log-format", "json", *args], **kw)
        if r.returncode != 0:
            r.stderr = (r.stderr or b"") + b"\n" + _runtime_log_error(log_path).encode()
        return r

    def _builtin(self, args: list[str], log_path: Path, stdin: Any = None, stdout: Any = None,
                 stderr: Any = None) -> subprocess.CompletedProcess[bytes]:
        """Run a builtin-runtime command in this process: a container start then costs no new
        interpreter. ``create`` forks the init from here, so the init inherits our descriptors 0-2:
        they are swapped for the container's for the duration of the call (the init marks every
        other descriptor close-on-exec itself)."""
        from .builtin import cmd as builtin_cmd

        root = self.cfg.runtime[self.cfg.runtime.index("--root") + 1]
        saved: list[tuple[int, int]] = []
        try:
            for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
                if isinstance(fd, int) and fd >= 0:
                    saved.append((target, os.dup(target)))
                    os.dup2(fd, target)
            rc = builtin_cmd.main(["--root", root, "--log", str(log_path), "--log-format", "json", *args])
        finally:
            for target, copy in saved:
                os.dup2(copy, target)
                os.close(copy)
        return subprocess.CompletedProcess(args, rc, b"", _runtime_log_error(log_path).encode() if rc else b"")

    def _spawn_with_console(self, args: list[str], name: str, stdin: int, stdout: int,
                            stderr: int) -> tuple[subprocess.CompletedProcess[bytes], int]:
        """Run a runtime command that hands back a pty master through a console socket."""
        path = self.sock_path.with_name(f"{self.cfg.id[:12]}-{name[:21]}.c")  # sun_path is 108 bytes
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        srv.listen(1)
        srv.settimeout(30)
        log_path = self.state / "runtime.log"
        with contextlib.suppress(FileNotFoundError):
            log_path.unlink()
        console_args = [*args[:1], "--console-socket", str(path), *args[1:]]
        if self.cfg.builtin and args[0] == "create":
            # in-process, for create only (it runs before the event loop, with no other thread; an exec
            # would join the container's pid namespace from a pooled thread): the runtime connects to
            # the socket and sends the pty master while we are not yet accepting; the listen backlog
            # holds the connection and its message until we are
            srv.settimeout(0)
            try:
                r = self._builtin(console_args, log_path, stdin, stdout, stdout)
                if r.returncode != 0:
                    return r, -1
                conn, _ = srv.accept()
                with conn:
                    return r, recv_fd(conn)
            except OSError as e:
                return subprocess.CompletedProcess(console_args, 1, b"", str(e).encode()), -1
            finally:
                srv.close()
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        proc = subprocess.Popen([*self.cfg.runtime, "--log", str(log_path), "--log-format", "json", *console_args],
                                stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
        master = -1
        try:
            while master < 0:
                try:
                    conn, _ = srv.accept()
                except TimeoutError:
                    break
                except OSError:
                    if proc.poll() is not None:
                        break
                    continue
                with conn:
                    master = recv_fd(conn)
        finally:
            srv.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        _out, err = proc.communicate()
        if proc.returncode:
            err = (err or b"") + b"\n" + _runtime_log_error(log_path).encode()
        return subprocess.CompletedProcess(proc.args, proc.returncode or 0, b"", err), master

    def create(self) -> None:
        cfg = self.cfg
        pid_file = self.state / "init.pid"
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
        devnull = os.open(os.devnull, os.O_RDWR)
        args = ["create", "--bundle", cfg.bundle, "--pid-file", str(pid_file), cfg.id]
        if cfg.tty:
            r, master = self._spawn_with_console(args, "init", devnull, devnull, devnull)
            if r.returncode == 0:
                if master < 0:
                    raise RuntimeError("the runtime did not send the container's terminal")
                os.set_blocking(master, False)
                self.init.master = master
                self.init.out_fds[master] = 1
        else:
            stdin_r = devnull
            if cfg.open_stdin:
                stdin_r, self.init.stdin_w = os.pipe()
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            r = self._runtime(*args, stdin=stdin_r, stdout=out_w, stderr=err_w)
            os.close(out_w)
            os.close(err_w)
            if stdin_r != devnull:
                os.close(stdin_r)
            for fd in (out_r, err_r):
                os.set_blocking(fd, False)
            self.init.out_fds = {out_r: 1, err_r: 2}
        os.close(devnull)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode(errors="replace").strip() or f"runtime create exited {r.returncode}")
        self.init.pid = int(pid_file.read_text().strip())
        self.init.open_streams = len(self.init.out_fds)

    # -- output ---------------------------------------------------------------------
    def _on_readable(self, proc: Proc, fd: int) -> None:
        stream = proc.out_fds[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO on a pty whose other side is gone
            data = b""
        if not data:
            assert self.loop is not None
            self.loop.remove_reader(fd)
            os.close(fd)
            del proc.out_fds[fd]
            if fd == proc.master:
                proc.master = -1
            proc.open_streams -= 1
            if proc.open_streams <= 0:
                proc.drained.set()
            return
        if proc is self.init and self.log is not None:
            self.log.write("stderr" if stream == 2 else "stdout", data)
        dead = []
        for writer, wanted in proc.clients:
            if stream in wanted:
                try:
                    writer.write(frame(stream, data))
                except (ConnectionError, RuntimeError):
                    dead.append((writer, wanted))
        for item in dead:
            with contextlib.suppress(ValueError):
                proc.clients.remove(item)

    def _watch(self, proc: Proc) -> None:
        assert self.loop is not None
        for fd in list(proc.out_fds):
            self.loop.add_reader(fd, self._on_readable, proc, fd)
        if not proc.out_fds:
            proc.drained.set()

    # -- exits ------------------------------------------------------------------------
    def _reap(self) -> None:
        """Reap the processes we own by pid: waitpid(-1) would steal the exit status of the
        runtime commands that worker threads are waiting for."""
        procs = [self.init, *self.execs.values()]
        for p in procs:
            if p.pid <= 0 or p.exit is not None:
                continue
            try:
                pid, status = os.waitpid(p.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = p.pid, 255 << 8  # not our child (any more): nothing to learn
            if pid == 0:
                continue
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
            if p is self.init:
                self._init_exited(code)
            else:
                p.exit = {"exit_code": code}
                p.exited.set()

    def _oom_killed(self) -> bool:
        if not self.cfg.cgroup_path:
            return False
        try:
            from .cgroups import Cgroup

            return bool(Cgroup.for_path(self.cfg.cgroup_path).oom_killed())
        except Exception:  # noqa: BLE001 - best effort: a missing cgroup means no OOM record
            return False

    def _init_exited(self, code: int) -> None:
        oom = self._oom_killed()
        self.init.exit = {"exit_code": code, "oom_killed": oom, "finished_at": rfc3339nano(), "error": ""}
        try:
            tmp = self.state / "exit.json.tmp"
            tmp.write_text(json.dumps(self.init.exit))
            os.replace(tmp, self.state / "exit.json")
        except OSError:
            pass  # the state directory is gone (container removed): nobody will read it
        self.init.exited.set()

    # -- serving -------------------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if not line:
                return
            req = json.loads(line)
            op = req.get("op")
            if op == "wait":
                await self.finished.wait()  # exited, drained and deleted from the runtime
                writer.write(json.dumps(self.init.exit).encode() + b"\n")
            elif op == "state":
                writer.write(json.dumps({"pid": self.init.pid, "running": self.init.exit is None,
                                         "exit": self.init.exit}).encode() + b"\n")
            elif op == "resize":
                self._resize(self.init if not req.get("exec_pid") else self._exec_by_pid(req["exec_pid"]),
                             int(req.get("height", 0)), int(req.get("width", 0)))
                writer.write(b'{"ok":true}\n')
            elif op == "attach":
                await self._attach(self.init, req, reader, writer)
            elif op == "exec":
                await self._exec(req, reader, writer)
            elif op == "started":
                self.start_done.set()
                writer.write(b'{"ok":true}\n')
            elif op == "close_stdin":
                self._close_stdin(self.init)
                writer.write(b'{"ok":true}\n')
            else:
                writer.write(json.dumps({"error": f"unknown op {op!r}"}).encode() + b"\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, TimeoutError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _exec_by_pid(self, pid: int) -> Proc:
        for p in self.execs.values():
            if p.pid == pid:
                return p
        return self.init

    def _resize(self, proc: Proc, h: int, w: int) -> None:
        if proc.master >= 0 and h > 0 and w > 0:
            fcntl.ioctl(proc.master, termios.TIOCSWINSZ, struct.pack("HHHH", h, w, 0, 0))

    def _close_stdin(self, proc: Proc) -> None:
        if proc.stdin_w >= 0:
            os.close(proc.stdin_w)
            proc.stdin_w = -1

    async def _pump_stdin(self, proc: Proc, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            target = proc.master if proc.master >= 0 else proc.stdin_w
            if target < 0:
                continue
            view = memoryview(data)
            while view:
                try:
                    n = os.write(target, view)
                    view = view[n:]
                except BlockingIOError:
                    await asyncio.sleep(0.005)
                except OSError:
                    return
        if proc.stdin_once and proc.master < 0:
            self._close_stdin(proc)

    async def _attach(self, proc: Proc, req: dict[str, Any], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        wanted = {s for s, k in ((1, "stdout"), (2, "stderr")) if req.get(k)}
        writer.write(b'{"ok":true}\n')
        await self._stream_until_exit(proc, wanted, bool(req.get("stdin")), reader, writer)

    async def _stream_until_exit(self, proc: Proc, wanted: set[int], stdin: bool, reader: asyncio.StreamReader,
                                 writer: asyncio.StreamWriter, status: bool = False) -> None:
        """Frame ``proc``'s output to this client (and its stdin to ``proc``) until it exits and its
        output is drained; then the exit status frame if ``status``, and the end frame."""
        entry = (writer, wanted)
        proc.clients.append(entry)
        stdin_task = asyncio.create_task(self._pump_stdin(proc, reader)) if stdin else None
        try:
            await proc.exited.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.drained.wait(), 5)
            if status:
                writer.write(frame(3, json.dumps(proc.exit).encode()))
            writer.write(frame(0, b""))
            await writer.drain()
        finally:
            with contextlib.suppress(ValueError):
                proc.clients.remove(entry)
            if stdin_task is not None:
                stdin_task.cancel()

    async def _exec(self, req: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        exec_id = str(req["exec_id"])
        pfile = self.state / f"exec-{exec_id}.json"
        pfile.write_text(json.dumps(req["process"]))
        pid_file = self.state / f"exec-{exec_id}.pid"
        proc = Proc(stdin_once=True)
        args = ["exec", "--process", str(pfile), "--pid-file", str(pid_file), "-d", self.cfg.id]
        loop = asyncio.get_running_loop()
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            if req.get("tty"):
                r, master = await loop.run_in_executor(
                    None, self._spawn_with_console, args, f"exec-{exec_id}", devnull, devnull, devnull)
                if r.returncode == 0 and master >= 0:
                    os.set_blocking(master, False)
                    proc.master = master
                    proc.out_fds[master] = 1
            else:
                stdin_r = devnull
                if req.get("stdin"):
                    stdin_r, proc.stdin_w = os.pipe()
                    os.set_blocking(proc.stdin_w, False)
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                r = await loop.run_in_executor(None, lambda: self._runtime(
                    *args, stdin=stdin_r, stdout=out_w, stderr=err_w))
                os.close(out_w)
                os.close(err_w)
                if stdin_r != devnull:
                    os.close(stdin_r)
                for fd in (out_r, err_r):
                    os.set_blocking(fd, False)
                proc.out_fds = {out_r: 1, err_r: 2}
        finally:
            os.close(devnull)
        if r.returncode != 0:
            for fd in proc.out_fds:
                os.close(fd)
            msg = r.stderr.decode(errors="replace").strip() or "exec failed"
            writer.write(json.dumps({"error": msg}).encode() + b"\n")
            return
        proc.pid = int(pid_file.read_text().strip())
        proc.open_streams = len(proc.out_fds)
        self.execs[proc.pid] = proc
        writer.write(json.dumps({"ok": True, "pid": proc.pid}).encode() + b"\n")
        self._reap()  # it may have exited already
        self._watch(proc)
        try:
            await self._stream_until_exit(proc, {1, 2}, bool(req.get("stdin")), reader, writer, status=True)
        finally:
            self._close_stdin(proc)
            self.execs.pop(proc.pid, None)
            for f in (pfile, pid_file):
                with contextlib.suppress(FileNotFoundError):
                    f.unlink()

    def listen(self) -> socket.socket:
        """Bound before the daemon hears we are ready, so its first connect cannot miss."""
        with contextlib.suppress(FileNotFoundError):
            self.sock_path.unlink()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(self.sock_path))
        srv.listen(64)
        return srv

    async def run(self, srv: socket.socket) -> None:
        self.loop = asyncio.get_running_loop()
        self.log = LogWriter(Path(self.cfg.log_path), self.cfg.log_max_size, self.cfg.log_max_file)
        self.loop.add_signal_handler(signal.SIGCHLD, self._reap)
        if self.init.stdin_w >= 0:
            os.set_blocking(self.init.stdin_w, False)
        server = await asyncio.start_unix_server(self._client, sock=srv)
        self._watch(self.init)
        self._reap()
        await self.init.exited.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.init.drained.wait(), 10)
        self.log.close()
        for p in self.execs.values():
            p.exited.set()
        # `runtime start` removes its exec fifo after the process runs: a delete before it returns
        # would make a container that ran look as if it failed to start
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.start_done.wait(), 10)
        # the runtime forgets the container (its cgroup goes) before anyone hears it exited:
        # a daemon that removes the container next must find nothing of it left
        await asyncio.to_thread(self._runtime, "delete", "--force", self.cfg.id)
        self.finished.set()
        await asyncio.sleep(0.05)  # let waiting clients read the exit, then go
        server.close()
        with contextlib.suppress(FileNotFoundError):
            self.sock_path.unlink()


def _preload_builtin_runtime() -> None:
    """A warm monitor imports the builtin runtime before it has a container: a ``--runtime dockwright``
    start then pays for no imports, and the container's init (forked from us) needs none either."""
    from .builtin import cmd, create, hooks, libc, ops, seccomp_load  # noqa: F401

    libc.resolve()


def _wait_for_config(ctl_fd: int) -> str:
    """A warm monitor: interpreter started and modules imported, it waits for a container."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = os.read(ctl_fd, 4096)
        if not chunk:
            os._exit(0)  # the daemon let us go (or died): nothing to run
        buf += chunk
    os.close(ctl_fd)
    return buf.decode().strip()


def main(argv: list[str]) -> int:
    # Daemonize: the daemon reaps our short-lived parent at once and we are adopted by init, so a
    # monitor never ties up a daemon thread (or leaves a zombie) for the container's lifetime.
    if os.fork() > 0:
        os._exit(0)
    if argv and argv[0] == "--warm":
        _preload_builtin_runtime()
        ready_fd = int(argv[2])
        cfg_path = _wait_for_config(int(argv[1]))
        cfg = Config.load(cfg_path)
        logfd = os.open(os.path.join(cfg.state_dir, "monitor.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.close(logfd)
    else:
        cfg = Config.load(argv[0])
        ready_fd = int(argv[1]) if len(argv) > 1 else -1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # the container decides when we end, not a signal to us
    mon = Monitor(cfg)
    (mon.state / "monitor.pid").write_text(str(os.getpid()))
    try:
        mon.create()
    except Exception as exc:  # noqa: BLE001 - reported to the daemon, which owns the error
        if ready_fd >= 0:
            os.write(ready_fd, json.dumps({"error": str(exc)}).encode() + b"\n")
            os.close(ready_fd)
        mon._runtime("delete", "--force", cfg.id)
        return 1
    srv = mon.listen()
    if ready_fd >= 0:
        os.write(ready_fd, json.dumps({"pid": mon.init.pid}).encode() + b"\n")
        os.close(ready_fd)
    asyncio.run(mon.run(srv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
