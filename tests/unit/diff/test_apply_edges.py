"""apply_layer corner cases that the conformance suite does not spell out."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockwright.diff.apply import apply_layer
from dockwright.errors import InvalidParameter
from tests.conformance.storage_helpers import E, is_root, make_tar, raw_tar_member

DIR, LNK = tarfile.DIRTYPE, tarfile.LNKTYPE


def run(target: Path, data: bytes, fmt: str = "native") -> None:
    apply_layer(target, io.BytesIO(data), whiteouts=fmt)


def test_hardlink_into_own_subtree(tmp_path: Path) -> None:
    data = make_tar([E("a", DIR, mode=0o755), E("a/b", data=b"1"), E("a", LNK, linkname="a/b")])
    with pytest.raises(InvalidParameter, match="own subtree"):
        run(tmp_path, data)


def test_hardlink_to_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="is a directory"):
        run(tmp_path, make_tar([E("d", DIR, mode=0o755), E("h", LNK, linkname="d")]))


def test_embedded_nul_in_pax_path(tmp_path: Path) -> None:
    ti = tarfile.TarInfo("x")
    ti.pax_headers = {"path": "a\0b"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(ti, io.BytesIO(b""))
    with pytest.raises(InvalidParameter):
        run(tmp_path, buf.getvalue())


@pytest.mark.parametrize("bad", [".wh.", ".wh..", ".wh..."])
def test_invalid_whiteout_names(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidParameter):
        run(tmp_path, make_tar([E(bad)]))


def test_whiteout_does_not_hide_same_layer_entry(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("lower")
    run(tmp_path, make_tar([E("f", data=b"upper"), E(".wh.f")]))
    assert (tmp_path / "f").read_text() == "upper"


def test_entry_after_whiteout_wins(tmp_path: Path) -> None:
    fmt = "overlay" if is_root() else "native"
    run(tmp_path, make_tar([E(".wh.f"), E("f", data=b"new")]), fmt)
    assert (tmp_path / "f").read_text() == "new"


def test_old_style_directory_and_dotdot_inside(tmp_path: Path) -> None:
    data = raw_tar_member("olddir/", typ=b"\0") + raw_tar_member("olddir/x/../y", data=b"y") + bytes(1024)
    run(tmp_path, data)
    assert (tmp_path / "olddir").is_dir()
    assert (tmp_path / "olddir/y").read_bytes() == b"y"


def test_dir_replaces_file_and_file_replaces_dir(tmp_path: Path) -> None:
    data = make_tar(
        [
            E("p", data=b"file"),
            E("p", DIR, mode=0o755),
            E("p/in", data=b"1"),
            E("q", DIR, mode=0o755),
            E("q/deep", data=b"2"),
            E("q", data=b"now a file"),
        ]
    )
    run(tmp_path, data)
    assert (tmp_path / "p/in").read_bytes() == b"1"
    assert (tmp_path / "q").read_bytes() == b"now a file"


def test_many_directories_do_not_exhaust_descriptors(tmp_path: Path) -> None:
    entries = []
    for i in range(600):
        entries.append(E(f"d{i}", DIR, mode=0o755))
        entries.append(E(f"d{i}/f", data=b"x"))
    for i in range(600):
        entries.append(E(f"d{i}/g", data=b"y"))  # revisit every directory after eviction
    run(tmp_path, make_tar(entries))
    assert len(os.listdir(tmp_path)) == 600
    assert (tmp_path / "d599/g").read_bytes() == b"y"


def test_devices_skipped_in_native(tmp_path: Path) -> None:
    run(tmp_path, make_tar([E("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)]), "native")
    assert not (tmp_path / "null").exists()


def test_whiteout_of_implicit_parent_keeps_same_layer_children(tmp_path: Path) -> None:
    fmt = "overlay" if is_root() else "native"
    run(tmp_path, make_tar([E("a/b/file", data=b"1"), E(".wh.a")]), fmt)
    assert (tmp_path / "a/b/file").read_bytes() == b"1"
