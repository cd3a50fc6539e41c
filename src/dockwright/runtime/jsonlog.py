"""The json-file log driver: one JSON object per line, rotated by size, as Docker writes it.

    {"log":"hi\\n","stream":"stdout","time":"2026-11-28T01:02:03.123456789Z"}

The monitor writes (it owns the container's output, so logs keep flowing while
the daemon is down); the daemon reads, for ``docker logs`` with ``--since``,
``--until``, ``--tail`` and ``--follow``. Lines over 16 KiB are split, as
Docker splits them, and a final line without a newline is kept as is.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_LINE = 16 * 1024


def rfc3339nano(t_ns: int | None = None) -> str:
    t = time.time_ns() if t_ns is None else t_ns
    s, ns = divmod(t, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ns:09d}Z"


def parse_size(value: str) -> int:
    """Docker's sizes for ``max-size``: ``10m``, ``1g``, ``512k``, plain bytes."""
    v = value.strip().lower()
    mult = 1
    for suffix, m in (("kb", 1000), ("mb", 1000**2), ("gb", 1000**3), ("k", 1024), ("m", 1024**2),
                      ("g", 1024**3), ("b", 1)):
        if v.endswith(suffix):
            mult, v = m, v[: -len(suffix)]
            break
    try:
        return int(float(v) * mult)
    except ValueError as exc:
        raise ValueError(f"invalid size: {value!r}") from exc


class LogWriter:
    """Appends records; rotates ``path`` to ``path.1`` ... ``path.N-1`` when it grows past ``max_size``."""

    def __init__(self, path: Path, max_size: int = 0, max_file: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self._f = open(path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the writer
        self._size = self._f.tell()
        self._partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes) -> None:
        buf = self._partial.pop(stream, b"") + data
        out = []
        while True:
            i = buf.find(b"\n")
            if i == -1 or i >= MAX_LINE:
                if len(buf) >= MAX_LINE:
                    out.append(buf[:MAX_LINE])
                    buf = buf[MAX_LINE:]
                    continue
                break
            out.append(buf[: i + 1])
            buf = buf[i + 1 :]
        if buf:
            self._partial[stream] = buf
        for line in out:
            self._emit(stream, line)

    def flush_partial(self) -> None:
        for stream, buf in list(self._partial.items()):
            if buf:
                self._emit(stream, buf)
        self._partial.clear()

    def _emit(self, stream: str, line: bytes) -> None:
        rec = json.dumps({"log": line.decode("utf-8", errors="replace"), "stream": stream,
                          "time": rfc3339nano()}, ensure_ascii=False, separators=(",", ":"))
        raw = rec.encode() + b"\n"
        if self.max_size and self._size + len(raw) > self.max_size and self._size > 0:
            self._rotate()
        self._f.write(raw)
        self._size += len(raw)

    def _rotate(self) -> None:
        """Renames or unlinks, never truncates: a follower holding the old file reads it to its end
        and then sees the path name a new inode."""
        self._f.close()
        for i in range(self.max_file - 1, 0, -1):
            src = self.path.with_name(self.path.name + (f".{i - 1}" if i > 1 else ""))
            dst = self.path.with_name(self.path.name + f".{i}")
            if src.exists():
                os.replace(src, dst)
        if self.max_file == 1:
            self.path.unlink(missing_ok=True)
        self._f = open(self.path, "wb", buffering=0)  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        self.flush_partial()
        self._f.close()


@dataclass(frozen=True)
class LogRecord:
    stream: str
    data: bytes
    time: str  # RFC 3339 with nanoseconds

    def timestamp(self) -> float:
        from datetime import datetime

        head, _, frac = self.time.rstrip("Z").partition(".")
        base = datetime.fromisoformat(head + "+00:00").timestamp()
        return base + (float("0." + frac) if frac else 0.0)


def _parse(line: bytes) -> LogRecord | None:
    try:
        obj = json.loads(line)
        return LogRecord(obj.get("stream", "stdout"), obj.get("log", "").encode(), obj.get("time", ""))
    except (ValueError, AttributeError):
        return None


def files(path: Path) -> list[Path]:
    """Oldest first: path.N-1 ... path.1, path."""
    rotated = sorted(
        (p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()),
        key=lambda p: -int(p.suffix[1:]),
    )
    return [*rotated, path] if path.exists() else rotated


class LogReader:
    """Reads a container's log as the monitor appends to it, holding the file open: Docker's
    ``docker run`` (and the SDK's ``containers.run(remove=True)``) remove the container before they
    finish reading a followed log, so a reader that reopened by path would lose the last lines.
    Rotation is noticed by the path naming another inode (the writer never truncates); the old file
    is read to its end before the new one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: BinaryIO | None = None
        self._buf = b""

    def snapshot(self) -> list[LogRecord]:
        """Every complete record now in the log, oldest file first; :meth:`read_new` goes on from there."""
        self._f = self._open()  # first: a rotation while the older files are read leaves us behind, not ahead
        recs: list[LogRecord] = []
        for p in files(self.path):
            if p == self.path:
                continue  # read through the open file below
            try:
                recs.extend(_records(p.read_bytes()))
            except FileNotFoundError:
                continue
        return recs + self.read_new()

    def read_new(self) -> list[LogRecord]:
        """The complete records appended since the last call (a partial last line waits)."""
        if self._f is None:
            self._f = self._open()
            if self._f is None:
                return []
        data = self._f.read()
        if self._rotated():  # the writer is done with the old file: read what came since, then the new one
            data += self._f.read()
            self._f.close()
            self._f = self._open()
            if self._f is not None:
                data += self._f.read()
        self._buf += data
        end = self._buf.rfind(b"\n") + 1
        complete, self._buf = self._buf[:end], self._buf[end:]
        return _records(complete)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def _open(self) -> BinaryIO | None:
        try:
            return open(self.path, "rb")  # noqa: SIM115 - held until close()
        except FileNotFoundError:
            return None

    def _rotated(self) -> bool:
        assert self._f is not None
        try:
            return os.stat(self.path).st_ino != os.fstat(self._f.fileno()).st_ino
        except FileNotFoundError:
            return False  # the container is gone: what we hold is all there is


def _records(data: bytes) -> list[LogRecord]:
    return [rec for rec in map(_parse, data.splitlines()) if rec is not None]
