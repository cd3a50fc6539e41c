"""The strict tar reader: header formats and the errors a corrupt stream must raise."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockwright.diff import tarread
from dockwright.errors import InvalidParameter
from tests.conformance.storage_helpers import raw_tar_member


def members(data: bytes) -> list[tarread.Member]:
    tr = tarread.TarReader(io.BytesIO(data))
    out = []
    for m in tr:
        if m.is_file():
            tr.read_data(m.size)
        out.append(m)
    return out


def build(fmt: int, infos: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in infos:
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names_in_every_format(fmt: int) -> None:
    name = "a/" * 60 + "file"  # 124 chars: ustar needs the prefix field, GNU an L record, PAX a path
    ti = tarfile.TarInfo(name)
    ti.size = 3
    ti.mtime = 1234
    link = tarfile.TarInfo("sym")
    link.type = tarfile.SYMTYPE
    link.linkname = "t" * 99
    [m, s] = members(build(fmt, [(ti, b"abc"), (link, b"")]))
    assert (m.name, m.size, m.mtime_ns) == (name, 3, 1234 * 10**9)
    assert s.linkname == "t" * 99 and s.type == tarread.SYM


def test_pax_fields_and_xattrs() -> None:
    ti = tarfile.TarInfo("é-file")
    ti.size = 1
    ti.uid = 3_000_000  # beyond octal 8 digits: PAX record
    ti.pax_headers = {"SCHILY.xattr.user.k": "v", "mtime": "1700000000.5"}
    [m] = members(build(tarfile.PAX_FORMAT, [(ti, b"x")]))
    assert m.name == "é-file" and m.uid == 3_000_000
    assert m.xattrs == {"user.k": b"v"}
    assert m.mtime_ns == 1_700_000_000_500_000_000


def test_base256_numbers() -> None:
    ti = tarfile.TarInfo("big")
    ti.uid = 1 << 40
    [m] = members(build(tarfile.GNU_FORMAT, [(ti, b"")]))
    assert m.uid == 1 << 40


def test_hash_covers_every_byte() -> None:
    data = raw_tar_member("a", data=b"hello") + bytes(1024) + b"trailing"
    tr = tarread.TarReader(io.BytesIO(data))
    for m in tr:
        tr.read_data(m.size)
    tr.drain()
    import hashlib

    assert tr.digest() == "sha256:" + hashlib.sha256(data).hexdigest()
    assert tr.consumed == len(data)


def test_bad_checksum() -> None:
    data = bytearray(raw_tar_member("a", data=b"x"))
    data[0] = ord("b")
    with pytest.raises(InvalidParameter, match="checksum"):
        members(bytes(data))


def test_truncated_header_and_data() -> None:
    data = raw_tar_member("a", data=b"x" * 1000)
    with pytest.raises(InvalidParameter, match="truncated"):
        members(data[:300])
    with pytest.raises(InvalidParameter, match="truncated"):
        members(data[:800])


def test_sparse_refused() -> None:
    ti = tarfile.TarInfo("s")
    ti.pax_headers = {"GNU.sparse.major": "1"}
    with pytest.raises(InvalidParameter, match="sparse"):
        members(build(tarfile.PAX_FORMAT, [(ti, b"")]))
