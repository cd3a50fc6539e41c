"""write_diff / write_tree details: determinism, hardlinks, sockets, root-level opaque."""

from __future__ import annotations

import io
import os
import socket
import tarfile
from pathlib import Path

import pytest

from dockwright.diff.apply import apply_layer
from dockwright.diff.tarwrite import write_diff, write_tree
from tests.conformance.storage_helpers import E, is_root, make_tar


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return t.getmembers()


def test_same_tree_same_digest_regardless_of_creation_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root, order in ((a, ["x", "y", "z"]), (b, ["z", "x", "y"])):
        root.mkdir()
        for n in order:
            (root / n).write_text(n)
            os.utime(root / n, (1000, 1000))
    os.utime(a, (5, 5))
    out_a, out_b = io.BytesIO(), io.BytesIO()
    assert write_tree(a, out_a).diff_id == write_tree(b, out_b).diff_id
    assert [m.name for m in members(out_a.getvalue())] == ["x", "y", "z"]


def test_hardlinks_and_sockets(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("data")
    os.link(tmp_path / "f", tmp_path / "g")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(tmp_path / "sock"))
    s.close()
    out = io.BytesIO()
    write_tree(tmp_path, out)
    ms = {m.name: m for m in members(out.getvalue())}
    assert "sock" not in ms
    assert ms["f"].isreg() and ms["g"].islnk() and ms["g"].linkname == "f"


def test_root_opaque_round_trip(tmp_path: Path) -> None:
    if not is_root():
        pytest.skip("trusted.overlay xattrs need root")
    t = tmp_path / "t"
    t.mkdir()
    apply_layer(t, io.BytesIO(make_tar([E(".wh..wh..opq"), E("only", data=b"1")])))
    out = io.BytesIO()
    write_diff(t, out)
    assert [m.name for m in members(out.getvalue())] == [".wh..wh..opq", "only"]


def test_unknown_format(tmp_path: Path) -> None:
    from dockwright.errors import InvalidParameter

    with pytest.raises(InvalidParameter):
        write_diff(tmp_path, io.BytesIO(), whiteouts="aufs")
