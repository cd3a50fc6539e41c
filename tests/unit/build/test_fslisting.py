"""The image listing the build corpus compares: layers flattened with whiteouts, opaque dirs, hard links."""

from __future__ import annotations

import io
import tarfile

from tests.support import fslisting


def _layer(*entries: tuple[str, bytes, str]) -> io.BytesIO:
    """(name, type, data or link target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            data = payload.encode()
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                ti.linkname = payload
                data = b""
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data else None)
    buf.seek(0)
    return buf


def test_whiteouts_opaque_and_hardlinks() -> None:
    tree = fslisting.Tree()
    tree.apply(_layer(("a", tarfile.DIRTYPE, ""), ("a/x", tarfile.REGTYPE, "x"), ("a/y", tarfile.REGTYPE, "y"),
                      ("b", tarfile.DIRTYPE, ""), ("b/old", tarfile.REGTYPE, "o"), ("f", tarfile.REGTYPE, "f"),
                      ("h2", tarfile.LNKTYPE, "f"), ("h1", tarfile.LNKTYPE, "f")), 0)
    base = tree.listing()
    tree.apply(_layer(("a/.wh.x", tarfile.REGTYPE, ""), ("b/new", tarfile.REGTYPE, "n"),
                      ("b/.wh..wh..opq", tarfile.REGTYPE, ""), ("h1", tarfile.SYMTYPE, "f")), 1)
    got = tree.listing()
    assert base["/h1"]["hardlink"] == "/f" and base["/h2"]["hardlink"] == "/f" and "hardlink" not in base["/f"]
    assert got["/h2"]["hardlink"] == "/f" and got["/h1"] == {"type": "symlink", "mode": "0644", "uid": 0, "gid": 0,
                                                            "target": "f"}
    d = fslisting.diff(base, got)
    assert d["deleted"] == ["/a/x", "/b/old"]
    assert sorted(d["changed"]) == ["/b/new", "/h1"]
