"""A strict, streaming tar reader (ustar, GNU long names, PAX) that hashes what it reads.

The standard library's ``tarfile`` quietly ends the archive at the first corrupt or
truncated header once past offset 0; a layer must instead fail, because a silently
shortened layer is a corrupted image. Reading headers ourselves also lets the diff ID be
hashed over exactly the bytes consumed, in the same pass as extraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from dockwright.diff.compression import Reader
from dockwright.errors import InvalidParameter

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)

REG = "0"
AREG = "\0"
LNK = "1"
SYM = "2"
CHR = "3"
BLK = "4"
DIR = "5"
FIFO = "6"
CONT = "7"


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass
class Member:
    name: str
    type: str
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)

    def is_file(self) -> bool:
        return self.type in (REG, AREG, CONT)


def _nts(b: bytes) -> bytes:
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def _num(b: bytes, what: str) -> int:
    if b and b[0] & 0x80:  # GNU base-256
        neg = b[0] == 0xFF
        v = int.from_bytes(bytes([b[0] & 0x7F]) + b[1:], "big")
        if neg:
            v -= 1 << (8 * len(b) - 1)
        return v
    s = b.partition(b"\0")[0].strip(b" ")
    if not s:
        return 0
    try:
        return int(s, 8)
    except ValueError:
        raise InvalidParameter(f"layer is not a valid tar: bad {what} field {s!r}") from None


def _checksum_ok(block: bytes) -> bool:
    stored = block[148:156].partition(b"\0")[0].strip(b" ")
    try:
        want = int(stored, 8)
    except ValueError:
        return False
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32  # the field counts as spaces
    if want == unsigned:
        return True
    # Some old tars summed signed bytes.
    signed = unsigned - 256 * sum(1 for x in block[:148] + block[156:] if x > 127)
    return want == signed


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class TarReader:
    """Iterates members of a tar stream; ``read_data`` must consume each file's bytes in order."""

    def __init__(self, src: Reader, hasher: Hasher | None = None) -> None:
        self._src = src
        self._hash: Hasher = hasher if hasher is not None else hashlib.sha256()
        self.consumed = 0
        self._remaining = 0  # data + padding bytes left of the current member
        self._data_left = 0
        self._global: dict[str, str] = {}
        self.ended_cleanly = False

    def _read(self, n: int, what: str) -> bytes:
        data = self._src.read(n)
        if len(data) != n:
            raise InvalidParameter(
                f"layer is truncated: the tar stream ended inside {what} at offset {self.consumed + len(data)}"
            )
        self._hash.update(data)
        self.consumed += n
        return data

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def drain(self) -> None:
        """Hash whatever follows the end-of-archive marker: it is part of the diff ID."""
        while chunk := self._src.read(1 << 20):
            self._hash.update(chunk)
            self.consumed += len(chunk)

    def read_data(self, n: int) -> bytes:
        n = min(n, self._data_left)
        data = self._read(n, "a file's data") if n else b""
        self._data_left -= n
        self._remaining -= n
        return data

    def _skip_rest(self) -> None:
        while self._remaining:
            k = min(self._remaining, 1 << 20)
            self._read(k, "a file's data")
            self._remaining -= k
        self._data_left = 0

    def _finish_member(self, size: int) -> None:
        self._data_left = size
        self._remaining = size + (-size % BLOCK)

    def __iter__(self) -> Iterator[Member]:
        while True:
            m = self._next()
            if m is None:
                return
            yield m

    def _next(self) -> Member | None:
        self._skip_rest()
        pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            first = self._src.read(BLOCK)
            if not first:
                if self.consumed == 0:
                    self.ended_cleanly = True
                return None  # no end-of-archive blocks: accepted, as Go's archive/tar does
            if len(first) != BLOCK:
                raise InvalidParameter(
                    f"layer is truncated: the tar stream ended inside a header at offset {self.consumed}"
                )
            self._hash.update(first)
            self.consumed += BLOCK
            block = first
            if block == _ZERO_BLOCK:
                self.ended_cleanly = True
                return None
            if not _checksum_ok(block):
                raise InvalidParameter(
                    f"layer is not a valid tar: bad header checksum at offset {self.consumed - BLOCK}"
                )
            typ = chr(block[156])
            size = _num(block[124:136], "size")
            if size < 0:
                raise InvalidParameter("layer is not a valid tar: negative size")
            if typ in ("x", "g", "L", "K"):
                if size > 64 << 20:
                    raise InvalidParameter("layer is not a valid tar: extended header too large")
                body = self._read(size, "an extended header")
                pad = -size % BLOCK
                if pad:
                    self._read(pad, "an extended header")
                if typ == "x":
                    pax.update(self._parse_pax(body))
                elif typ == "g":
                    self._global.update(self._parse_pax(body))
                elif typ == "L":
                    long_name = _decode(_nts(body))
                else:
                    long_link = _decode(_nts(body))
                continue
            return self._member(block, typ, size, {**self._global, **pax}, long_name, long_link)

    @staticmethod
    def _parse_pax(body: bytes) -> dict[str, str]:
        out: dict[str, str] = {}
        pos = 0
        while pos < len(body):
            if body[pos] == 0:
                break
            sp = body.find(b" ", pos)
            if sp < 0:
                raise InvalidParameter("layer is not a valid tar: malformed PAX record")
            try:
                length = int(body[pos:sp])
            except ValueError:
                raise InvalidParameter("layer is not a valid tar: malformed PAX record length") from None
            rec = body[sp + 1 : pos + length]
            if length <= 0 or pos + length > len(body) or not rec.endswith(b"\n") or b"=" not in rec:
                raise InvalidParameter("layer is not a valid tar: malformed PAX record")
            k, _, v = rec[:-1].partition(b"=")
            out[_decode(k)] = _decode(v)
            pos += length
        return out

    def _member(
        self,
        block: bytes,
        typ: str,
        size: int,
        pax: dict[str, str],
        long_name: str | None,
        long_link: str | None,
    ) -> Member:
        name_b = _nts(block[0:100])
        magic = block[257:263]
        if magic == b"ustar\x00":
            prefix = _nts(block[345:500])
            if prefix:
                name_b = prefix + b"/" + name_b
        name = long_name if long_name is not None else _decode(name_b)
        linkname = long_link if long_link is not None else _decode(_nts(block[157:257]))
        mode = _num(block[100:108], "mode") & 0o7777
        uid = _num(block[108:116], "uid")
        gid = _num(block[116:124], "gid")
        mtime_ns = _num(block[136:148], "mtime") * 1_000_000_000
        devmajor = _num(block[329:337], "devmajor") if typ in (CHR, BLK) else 0
        devminor = _num(block[337:345], "devminor") if typ in (CHR, BLK) else 0
        xattrs: dict[str, bytes] = {}
        for k, v in pax.items():
            if k == "path":
                name = v
            elif k == "linkpath":
                linkname = v
            elif k == "size":
                size = self._pax_int(k, v)
            elif k == "uid":
                uid = self._pax_int(k, v)
            elif k == "gid":
                gid = self._pax_int(k, v)
            elif k == "mtime":
                mtime_ns = self._pax_time(v)
            elif k.startswith("SCHILY.xattr."):
                xattrs[k[len("SCHILY.xattr.") :]] = v.encode("utf-8", "surrogateescape")
            elif k.startswith("GNU.sparse."):
                raise InvalidParameter(f"layer member {name}: sparse files are not supported")
        if typ == AREG and name.endswith("/"):
            typ = DIR  # pre-POSIX tars mark directories only by the trailing slash
        self._finish_member(size)
        if typ in (LNK, SYM, DIR, CHR, BLK, FIFO):
            self._data_left = 0  # any bytes recorded for these are skipped, never written
        return Member(name, typ, mode, uid, gid, size, mtime_ns, linkname, devmajor, devminor, xattrs)

    @staticmethod
    def _pax_int(k: str, v: str) -> int:
        try:
            n = int(v)
        except ValueError:
            raise InvalidParameter(f"layer is not a valid tar: bad PAX {k} {v!r}") from None
        if n < 0:
            raise InvalidParameter(f"layer is not a valid tar: negative PAX {k}")
        return n

    @staticmethod
    def _pax_time(v: str) -> int:
        try:
            sec, _, frac = v.partition(".")
            ns = int(sec) * 1_000_000_000
            if frac:
                digits = (frac + "000000000")[:9]
                ns += int(digits) if not sec.startswith("-") else -int(digits)
            return ns
        except ValueError:
            raise InvalidParameter(f"layer is not a valid tar: bad PAX mtime {v!r}") from None
