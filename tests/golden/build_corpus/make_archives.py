"""Writes the archives that ADD extracts in the corpus (run once; the outputs are committed).

Deterministic: fixed names, modes, owners and times, so the bytes only change
when this script does. python tests/golden/build_corpus/make_archives.py
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MTIME = 1_600_000_000


def _tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        def add(name: str, kind: bytes, mode: int, uid: int = 0, gid: int = 0, data: bytes = b"",
                link: str = "") -> None:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = mode
            ti.uid, ti.gid = uid, gid
            ti.mtime = MTIME
            ti.linkname = link
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("top.txt", tarfile.REGTYPE, 0o644, data=b"top level\n")
        add("./dotslash.txt", tarfile.REGTYPE, 0o600, 7, 8, b"named with ./\n")
        add("pkg", tarfile.DIRTYPE, 0o755, 1234, 5678)
        add("pkg/bin", tarfile.DIRTYPE, 0o750, 1234, 5678)
        add("pkg/bin/tool", tarfile.REGTYPE, 0o755, 1234, 5678, b"#!/bin/sh\necho tool\n")
        add("pkg/etc/conf", tarfile.REGTYPE, 0o640, 0, 42, b"conf=1\n")  # parent dir not in the tar
        add("pkg/current", tarfile.SYMTYPE, 0o777, link="bin")
        add("pkg/hardlink", tarfile.LNKTYPE, 0o755, 1234, 5678, link="pkg/bin/tool")
        add("pkg/suid", tarfile.REGTYPE, 0o4755, 0, 0, b"setuid\n")
        add("private", tarfile.DIRTYPE, 0o700, 1000, 1000)
        add("private/secret", tarfile.REGTYPE, 0o400, 1000, 1000, b"s3cret\n")
    return buf.getvalue()


def _edges() -> bytes:
    """Entries a careful extractor has to think about: absolute and ./ names, a file before its
    directory, a name longer than ustar allows, a duplicate, setuid+setgid, a fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name: str, kind: bytes, mode: int, data: bytes = b"") -> None:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = mode
            ti.mtime = MTIME
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("/abs/file", tarfile.REGTYPE, 0o644, b"absolute\n")
        add("./dot/./x", tarfile.REGTYPE, 0o644, b"dot\n")
        add("later/file", tarfile.REGTYPE, 0o644, b"before its dir\n")
        add("later", tarfile.DIRTYPE, 0o700)
        add("long/" + "n" * 120 + ".txt", tarfile.REGTYPE, 0o644, b"long name\n")
        add("\u00fcnic\u00f6de.txt", tarfile.REGTYPE, 0o644, b"unicode\n")
        add("dup.txt", tarfile.REGTYPE, 0o644, b"first\n")
        add("dup.txt", tarfile.REGTYPE, 0o600, b"second wins\n")
        add("ugs", tarfile.REGTYPE, 0o6755, b"setuid setgid\n")
        add("pipe", tarfile.FIFOTYPE, 0o640)
    return buf.getvalue()


def main() -> None:
    raw = _tar()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(raw)
    outputs = {
        "archive.tar": raw,
        "archive.tar.gz": gz.getvalue(),
        "archive.tar.bz2": bz2.compress(raw),
        "archive.tar.xz": lzma.compress(raw),
    }
    for name, data in outputs.items():
        (HERE / "add-tar-extract" / name).write_bytes(data)
    (HERE / "add-chown" / "archive.tar").write_bytes(raw)
    (HERE / "copy-dest-symlinks" / "archive.tar").write_bytes(raw)
    edges = HERE / "add-tar-edges"
    (edges / "edges.tar").write_bytes(_edges())
    (edges / "gzip-tar-no-extension").write_bytes(gz.getvalue())
    plain = io.BytesIO()
    with gzip.GzipFile(fileobj=plain, mode="wb", mtime=0) as g:
        g.write(b"gzip of a text, not of a tar\n")
    (edges / "text.gz").write_bytes(plain.getvalue())
    (edges / "text.bz2").write_bytes(bz2.compress(b"bzip2 of a text\n"))


if __name__ == "__main__":
    main()
