"""Shared by the content, snapshot and differ suites: hand-made tars and leak checks."""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from dockwright.diff.compression import compressing_writer
from dockwright.snapshots.mount import unmount


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (from /proc/self/mountinfo)."""
    base = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            mp = line.split(" ")[4].replace("\\040", " ")
            if mp == base or mp.startswith(base + "/"):
                out.append(mp)
    return out


def assert_nothing_mounted(path: Path) -> None:
    left = mounts_under(path)
    for mp in reversed(left):  # clean up anyway so one failure does not leak into the next test
        unmount(Path(mp), lazy=True)
    assert not left, f"left mounted: {left}"


def is_root() -> bool:
    return os.geteuid() == 0


@dataclass
class E:
    """One tar entry for hand-made layers."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    mtime: int = 1_700_000_000
    xattrs: dict[str, str] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0


def make_tar(entries: list[E]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            ti = tarfile.TarInfo(e.name)
            ti.type = e.type
            ti.mode = e.mode
            ti.uid, ti.gid = e.uid, e.gid
            ti.mtime = e.mtime
            ti.linkname = e.linkname
            ti.devmajor, ti.devminor = e.devmajor, e.devminor
            if e.xattrs:
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e.xattrs.items()}
            if e.type == tarfile.REGTYPE:
                ti.size = len(e.data)
                tar.addfile(ti, io.BytesIO(e.data))
            else:
                tar.addfile(ti)
    return buf.getvalue()


def raw_tar_member(name: str, typ: bytes = b"0", linkname: str = "", data: bytes = b"") -> bytes:
    """A ustar header + data built by hand, for names ``tarfile`` would normalise away."""
    ti = tarfile.TarInfo("x")
    ti.type = typ
    ti.size = len(data)
    ti.linkname = linkname
    ti.mode = 0o644
    hdr = bytearray(ti.tobuf(tarfile.USTAR_FORMAT))
    nb = name.encode()
    hdr[0:100] = nb.ljust(100, b"\0")
    hdr[148:156] = b"        "
    chk = sum(hdr)
    hdr[148:156] = f"{chk:06o}\0 ".encode()
    pad = -len(data) % 512
    return bytes(hdr) + data + bytes(pad)


def compress(data: bytes, kind: str) -> bytes:
    out = io.BytesIO()
    w = compressing_writer(out, kind)
    w.write(data)
    w.close()
    return out.getvalue()


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return [m.name for m in t.getmembers()]


def tree(root: Path) -> dict[str, tuple[str, int, int, int, str]]:
    """A comparable picture of a directory: type, mode, uid, gid, content or link target."""
    out: dict[str, tuple[str, int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            m = st.st_mode
            if os.path.islink(p):
                out[rel] = ("l", 0, st.st_uid, st.st_gid, os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("d", m & 0o7777, st.st_uid, st.st_gid, "")
            elif os.path.isfile(p):
                out[rel] = ("f", m & 0o7777, st.st_uid, st.st_gid, Path(p).read_bytes().hex()[:64])
            else:
                out[rel] = ("o", m, st.st_uid, st.st_gid, str(st.st_rdev))
    return out
