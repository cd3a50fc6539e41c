"""Layer compression: detect by magic bytes, decompress and compress as streams.

gzip goes through ISA-L (``isal.igzip``), several times zlib's speed on both sides;
zstd through ``zstandard``. Everything is a file-like stream so a layer flows from
the network to the disk without being held whole in memory or on disk.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Protocol, cast

import zstandard
from isal import igzip

from dockwright.errors import InvalidParameter

try:  # ISA-L's decoder raises its own error (a plain Exception) on corrupt deflate data
    from isal.isal_zlib import error as _isal_error

    _IsalError = cast("type[BaseException]", _isal_error)
except ImportError:  # pragma: no cover - older isal
    _IsalError = OSError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_HEAD = 8


def detect(head: bytes) -> str:
    """'gzip', 'zstd' or '' (uncompressed, or unknown: the tar reader judges that)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return ""


class Reader(Protocol):
    """The one method the layer path needs; the wrappers below add no copy of their own."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Prefixed:
    """Gives back the bytes read for detection, then reads on from the stream."""

    def __init__(self, head: bytes, stream: Reader) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if size is None or size < 0:
                out, self._head = self._head + self._stream.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._stream.read(size)

    def readinto(self, b: bytearray | memoryview) -> int:
        """ISA-L's gzip reader fills its own buffer with ``readinto``."""
        data = self.read(len(b))
        n = len(data)
        memoryview(b).cast("B")[:n] = data
        return n


class _Exact:
    """``read(n)`` returns n bytes unless the stream ends: sockets and pipes return short reads."""

    def __init__(self, inner: Reader) -> None:
        self._inner = inner

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        if size is None or size < 0 or len(data) == size or not data:
            return data
        parts = [data]
        got = len(data)
        while got < size:
            more = self._inner.read(size - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        return b"".join(parts)


def _read_head(stream: Reader) -> bytes:
    head = b""
    while len(head) < _HEAD:
        chunk = stream.read(_HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


class _Guarded:
    """Turns decompressor failures into InvalidParameter so callers see one error kind."""

    def __init__(self, inner: Reader, kind: str) -> None:
        self._inner = inner
        self._kind = kind

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._inner.read(size)
        except EOFError as exc:
            raise InvalidParameter(f"{self._kind} layer is truncated: {exc}") from exc
        except (OSError, zstandard.ZstdError, _IsalError) as exc:
            raise InvalidParameter(f"{self._kind} layer is corrupt: {exc}") from exc


class _AsRaw(io.RawIOBase):
    """Adapts a ``Reader`` to the io stack, for the public ``decompressing_reader``."""

    def __init__(self, inner: Reader) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(b))
        n = len(data)
        memoryview(b).cast("B")[:n] = data
        return n


def read_head(stream: Reader) -> bytes:
    """The first bytes of ``stream``, enough for ``detect``; give them back to ``open_decompressed``."""
    return _read_head(stream)


def decompressing_reader(stream: BinaryIO) -> BinaryIO:
    """A reader of the uncompressed bytes, whatever the compression of ``stream``."""
    head = _read_head(stream)
    inner = open_decompressed(detect(head), head, stream)
    return cast(BinaryIO, io.BufferedReader(_AsRaw(inner), buffer_size=1 << 20))


def open_decompressed(kind: str, head: bytes, stream: Reader) -> Reader:
    """The uncompressed bytes once the caller has read ``head`` and detected ``kind``.

    ``read(n)`` returns exactly n bytes until the end, and raises ``InvalidParameter``
    on corrupt or truncated input.
    """
    raw = _Prefixed(head, stream)
    if kind == "gzip":
        gz = igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[no-untyped-call]
        return _Guarded(cast(Reader, gz), kind)
    if kind == "zstd":
        return _Exact(_Guarded(_ZstdReader(raw), kind))
    return _Exact(raw)


class _ZstdReader(io.RawIOBase):
    """Frame-by-frame zstd decoding that notices a stream cut inside a frame.

    ``zstandard``'s stream reader returns a short read on truncated input; a layer must
    fail loudly instead, so frame ends are tracked explicitly.
    """

    def __init__(self, raw: Reader) -> None:
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 20
        while not self._pending and not self._eof:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                self._eof = True
                if self._in_frame:
                    raise EOFError("zstd stream ended inside a frame")
                break
            self._feed(chunk)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def _feed(self, chunk: bytes) -> None:
        parts: list[bytes] = []
        while chunk:
            self._in_frame = True
            parts.append(self._obj.decompress(chunk))
            if self._obj.eof:
                self._in_frame = False
                chunk = self._obj.unused_data
                self._obj = self._dctx.decompressobj()
            else:
                chunk = b""
        self._pending += b"".join(parts)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        memoryview(b).cast("B")[: len(data)] = data
        return len(data)


class _ClosingZstd(io.RawIOBase):
    """zstd writer whose close ends the frame but leaves ``out`` open, like gzip's."""

    def __init__(self, out: BinaryIO, level: int) -> None:
        cctx = zstandard.ZstdCompressor(level=level, threads=-1, write_checksum=True)
        self._w = cctx.stream_writer(out, closefd=False)

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._w.write(b)
        return len(b)

    def close(self) -> None:
        if not self.closed:
            self._w.close()  # type: ignore[no-untyped-call]
        super().close()


def compressing_writer(out: BinaryIO, kind: str, level: int | None = None) -> BinaryIO:
    """A writer compressing into ``out``; closing it finishes the stream but keeps ``out`` open."""
    if kind == "gzip":
        lvl = igzip._COMPRESS_LEVEL_TRADEOFF if level is None else level
        gz = igzip.IGzipFile(fileobj=out, mode="wb", compresslevel=lvl)  # type: ignore[no-untyped-call]
        return cast(BinaryIO, gz)
    if kind == "zstd":
        return cast(BinaryIO, _ClosingZstd(out, 3 if level is None else level))
    if kind == "":
        return cast(BinaryIO, _Unclosing(out))
    raise InvalidParameter(f"unsupported compression {kind!r}: use gzip, zstd or none")


class _Unclosing(io.RawIOBase):
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._out.write(b)
        return len(b)
