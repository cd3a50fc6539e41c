"""The engine's side of an OCI runtime: runc's command-line contract, driven with asyncio.

Any runc-compatible binary works: ``["runc"]``, ``["crun"]`` or the builtin
runtime (``builtin_argv()``, or ``[sys.executable, "-m", "dockwright", "runtime"]``). Each call is one
subprocess with ``--root`` (the runtime's state directory) and ``--log`` (a
JSON-lines file where runc-style runtimes write their errors; the container's
stdio belongs to the container, so stderr cannot carry them for ``create`` and
``exec``). A failure becomes one of ``dockwright.errors``' kinds carrying the
runtime's own message, so the daemon can match Docker's wording on it
("executable file not found in $PATH" → exit 127).

Lifecycle (runc semantics)::

    create(id, bundle, io) → pid      the init waits; state "created"
    start(id)                          the process runs; state "running"
    exec(id, process, io) → pid        detached; the caller (a subreaper) waits for it
    kill(id, sig) / pause / resume / update
    delete(id)                         state "stopped" required unless force
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockwright.errors import (
    AlreadyExists,
    Conflict,
    DockwrightError,
    Internal,
    InvalidParameter,
    NotFound,
    Unavailable,
)

_BUILTIN_BOOT = "import sys; from dockwright.runtime.builtin.cmd import main; sys.exit(main(sys.argv[1:]))"


def builtin_argv() -> list[str]:
    """How to run the builtin runtime fastest: like ``python -m dockwright runtime``, without runpy.

    ``-m`` costs about 4 ms per call (runpy and what it imports); every container start makes
    at least two calls.
    """
    return [sys.executable, "-c", _BUILTIN_BOOT]


@dataclass(frozen=True)
class ProcessIO:
    """The descriptors the container's process gets as stdin/stdout/stderr, or a console socket for a TTY.

    ``None`` means /dev/null. With ``console_socket`` the runtime sends the pty master over that unix
    socket (SCM_RIGHTS) and the std descriptors are ignored.
    """

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None
    console_socket: Path | None = None


@dataclass(frozen=True)
class RuntimeState:
    """The OCI state of a container (``runtime state ID``)."""

    id: str
    status: str  # creating | created | running | paused | stopped
    pid: int
    bundle: str
    created: str = ""
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuntimeState:
        return cls(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            pid=int(data.get("pid") or 0),
            bundle=str(data.get("bundle", "")),
            created=str(data.get("created", "")),
            annotations=dict(data.get("annotations") or {}),
        )


_NOT_FOUND = ("does not exist", "not found", "no such container")
_CONFLICT = (
    "not running", "not stopped", "cannot start", "already running", "not paused", "cannot exec in",
    "is paused", "already been started", "is not running",
)
_INVALID = ("executable file not found", "no such file or directory", "permission denied", "exec format error",
            "not a directory", "invalid", "chdir to cwd", "unable to find user")


def map_error(cmd: str, container_id: str, message: str) -> DockwrightError:
    """One error kind for a runtime failure, keeping the runtime's text."""
    low = message.lower()
    text = message or f"runtime {cmd} failed"
    if "exists" in low and ("already" in low or "with id" in low):
        return AlreadyExists(text)
    if any(s in low for s in _NOT_FOUND) and cmd in ("state", "kill", "delete", "start", "pause", "resume",
                                                        "update", "ps"):
        return NotFound(text)
    if any(s in low for s in _CONFLICT):
        return Conflict(text)
    if cmd in ("create", "exec", "run") and any(s in low for s in _INVALID):
        return InvalidParameter(text)
    return Internal(f"{cmd} {container_id}: {text}")


def _error_text(stderr: bytes, log_text: str) -> str:
    """The runtime's error message: its JSON log's last error, else stderr (logrus text or plain)."""
    msgs: list[str] = []
    for line in log_text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            msgs.append(line)
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic") and entry.get("msg"):
            msgs.append(str(entry["msg"]))
    if msgs:
        return msgs[-1]
    text = stderr.decode(errors="replace").strip()
    for line in reversed(text.splitlines()):
        if 'msg="' in line:
            return line.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return text


class OCIRuntime:
    """Drive a runc-compatible runtime binary.

    ``root`` is the runtime's state directory (``--root``); the driver keeps its per-call error logs in
    ``<root>.logs/`` beside it, removing each after reading it.
    """

    def __init__(self, binary: list[str], root: Path, *, extra_global_args: list[str] | None = None) -> None:
        if not binary:
            raise InvalidParameter("runtime binary must not be empty")
        self.binary = list(binary)
        self.root = Path(root)
        self.log_dir = self.root.parent / (self.root.name + ".logs")
        self.extra = list(extra_global_args or [])

    # --- plumbing ----------------------------------------------------------------------------------

    async def _call(
        self,
        cmd: str,
        args: list[str],
        container_id: str,
        *,
        io: ProcessIO | None = None,
        stdin_data: bytes | None = None,
        capture_stdout: bool = True,
    ) -> bytes:
        await asyncio.to_thread(self._mkdirs)
        log = self.log_dir / f"{container_id or 'runtime'}-{uuid.uuid4().hex[:12]}.log"
        argv = [*self.binary, "--root", str(self.root), "--log", str(log), "--log-format", "json", *self.extra,
                cmd, *args]
        devnull: int | None = None
        stdin: Any
        stdout: Any
        stderr: Any
        if io is not None:
            if io.stdin is None or io.stdout is None or io.stderr is None:
                devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            stdin = devnull if io.stdin is None else io.stdin
            stdout = devnull if io.stdout is None else io.stdout
            stderr = devnull if io.stderr is None else io.stderr
        else:
            stdin = asyncio.subprocess.PIPE if stdin_data is not None else asyncio.subprocess.DEVNULL
            stdout = asyncio.subprocess.PIPE if capture_stdout else asyncio.subprocess.DEVNULL
            stderr = asyncio.subprocess.PIPE
        try:
            try:
                proc = await asyncio.create_subprocess_exec(*argv, stdin=stdin, stdout=stdout, stderr=stderr)
            except FileNotFoundError as exc:
                raise Unavailable(f"OCI runtime binary {self.binary[0]!r} not found: install it or choose "
                                  "another runtime") from exc
            finally:
                if devnull is not None:
                    os.close(devnull)
            out, err = await proc.communicate(stdin_data)
            rc = proc.returncode
            log_text = await asyncio.to_thread(self._read_log, log)
        finally:
            await asyncio.to_thread(self._unlink, log)
        if rc != 0:
            raise map_error(cmd, container_id, _error_text(err or b"", log_text))
        return out or b""

    def _mkdirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o711)
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    @staticmethod
    def _read_log(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass

    @staticmethod
    def _read_pid(path: Path) -> int:
        try:
            pid = int(path.read_text().strip())
        finally:
            try:
                path.unlink()
            except OSError:
                pass
        return pid

    def _pid_file(self, container_id: str, kind: str) -> Path:
        return self.log_dir / f"{container_id}-{kind}-{uuid.uuid4().hex[:12]}.pid"

    # --- OCIRuntime --------------------------------------------------------------------------------

    async def create(self, id: str, bundle: Path, io: ProcessIO) -> int:
        """Create the container; returns the init's host pid (the caller should be its subreaper)."""
        pid_file = self._pid_file(id, "init")
        args = ["--bundle", str(bundle), "--pid-file", str(pid_file)]
        if io.console_socket is not None:
            args += ["--console-socket", str(io.console_socket)]
        await self._call("create", [*args, id], id, io=io)
        return await asyncio.to_thread(self._read_pid, pid_file)

    async def start(self, id: str) -> None:
        await self._call("start", [id], id)

    async def state(self, id: str) -> RuntimeState:
        out = await self._call("state", [id], id)
        try:
            return RuntimeState.from_json(json.loads(out))
        except ValueError as exc:
            raise Internal(f"runtime state {id}: invalid JSON from the runtime") from exc

    async def kill(self, id: str, sig: int, *, all: bool = False) -> None:
        await self._call("kill", [*(["--all"] if all else []), id, str(sig)], id)

    async def exec(self, id: str, process: dict[str, Any], io: ProcessIO) -> int:
        """Start ``process`` (an OCI process object) detached in the container; returns its host pid."""
        pid_file = self._pid_file(id, "exec")
        spec_file = self._pid_file(id, "process").with_suffix(".json")
        await asyncio.to_thread(spec_file.write_text, json.dumps(process))
        try:
            args = ["--process", str(spec_file), "--pid-file", str(pid_file), "--detach"]
            if io.console_socket is not None:
                args += ["--console-socket", str(io.console_socket)]
            await self._call("exec", [*args, id], id, io=io)
        finally:
            await asyncio.to_thread(self._unlink, spec_file)
        return await asyncio.to_thread(self._read_pid, pid_file)

    async def delete(self, id: str, *, force: bool = False) -> None:
        await self._call("delete", [*(["--force"] if force else []), id], id)

    async def pause(self, id: str) -> None:
        await self._call("pause", [id], id)

    async def resume(self, id: str) -> None:
        await self._call("resume", [id], id)

    async def update(self, id: str, resources: dict[str, Any]) -> None:
        await self._call("update", ["--resources", "-", id], id, stdin_data=json.dumps(resources).encode())

    async def ps(self, id: str) -> list[int]:
        out = await self._call("ps", ["--format", "json", id], id)
        try:
            return [int(p) for p in json.loads(out or b"[]") or []]
        except (ValueError, TypeError) as exc:
            raise Internal(f"runtime ps {id}: invalid JSON from the runtime") from exc

    async def features(self) -> dict[str, Any]:
        out = await self._call("features", [], "")
        data: dict[str, Any] = json.loads(out)
        return data
