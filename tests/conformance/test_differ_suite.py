"""Differ conformance: apply_layer and write_diff in both whiteout formats.

Malicious layers are hand-made; each case checks both the error and that nothing was
written outside the target (a sibling ``outside`` directory with a canary file).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockwright.diff.apply import apply_layer
from dockwright.diff.tarwrite import write_diff, write_tree
from dockwright.errors import InvalidParameter
from dockwright.snapshots.mount import Mount, temp_mount
from dockwright.snapshots.overlay import overlay_supported
from tests.conformance.storage_helpers import (
    E,
    assert_nothing_mounted,
    compress,
    is_root,
    make_tar,
    raw_tar_member,
    tar_names,
    tree,
)
from tests.support import busybox

FORMATS = ["overlay", "native"]
DIR, SYM, LNK = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
FIFO, CHR = tarfile.FIFOTYPE, tarfile.CHRTYPE


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> str:
    if request.param == "overlay" and not is_root():
        pytest.skip("overlay whiteouts are device nodes: needs root")
    return str(request.param)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    target = tmp_path / "target"
    outside = tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    (outside / "canary").write_text("untouched")
    yield target, outside
    assert sorted(os.listdir(outside)) == ["canary"], "something was written outside the target"
    assert (outside / "canary").read_text() == "untouched"
    assert_nothing_mounted(tmp_path)


def apply(target: Path, data: bytes, fmt: str = "overlay"):  # type: ignore[no-untyped-def]
    return apply_layer(target, io.BytesIO(data), whiteouts=fmt)


# -- malicious layers -----------------------------------------------------------------------------
def test_dotdot_escape(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = raw_tar_member("../outside/pwned", data=b"x") + bytes(1024)
    with pytest.raises(InvalidParameter, match=r"layer member \.\./outside/pwned escapes the root"):
        apply(target, data, fmt)
    data = raw_tar_member("a/../../outside/pwned", data=b"x") + bytes(1024)
    with pytest.raises(InvalidParameter, match="escapes the root"):
        apply(target, data, fmt)


def test_absolute_paths_stay_inside(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = raw_tar_member(f"{outside}/pwned", data=b"x") + raw_tar_member("/../../abs", data=b"y")
    data += bytes(1024)
    apply(target, data, fmt)
    assert (target / str(outside).lstrip("/") / "pwned").read_bytes() == b"x"
    assert (target / "abs").read_bytes() == b"y"


def test_file_through_symlink_pointing_out(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    for link in (str(outside), "../outside", "../../../../../../" + str(outside)):
        data = make_tar([E("evil", SYM, linkname=link), E("evil/pwned", data=b"x")])
        with pytest.raises(InvalidParameter, match="evil/pwned.*symlink"):
            apply(target, data, fmt)


def test_symlink_chain(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = make_tar([E("b", SYM, linkname=str(outside)), E("a", SYM, linkname="b"), E("a/pwned", data=b"x")])
    with pytest.raises(InvalidParameter, match="symlink"):
        apply(target, data, fmt)


def test_dir_replaced_by_symlink_later(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = make_tar(
        [
            E("d", DIR, mode=0o755),
            E("d/ok", data=b"1"),
            E("d", SYM, linkname=str(outside)),
            E("d/pwned", data=b"x"),
        ]
    )
    with pytest.raises(InvalidParameter, match="d/pwned"):
        apply(target, data, fmt)


def test_file_replaces_symlink_instead_of_writing_through(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = make_tar([E("s", SYM, linkname=str(outside / "canary")), E("s", data=b"replaced")])
    apply(target, data, fmt)
    assert not (target / "s").is_symlink()
    assert (target / "s").read_bytes() == b"replaced"


def test_hardlinks_must_stay_inside(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = make_tar([E("h", LNK, linkname="../outside/canary")])
    with pytest.raises(InvalidParameter, match="escapes the root"):
        apply(target, data, fmt)
    data = make_tar([E("h", LNK, linkname=str(outside / "canary"))])  # absolute: re-rooted, absent
    with pytest.raises(InvalidParameter, match="does not exist"):
        apply(target, data, fmt)
    data = make_tar([E("l", SYM, linkname=str(outside)), E("h", LNK, linkname="l/canary")])
    with pytest.raises(InvalidParameter, match="symlink"):
        apply(target, data, fmt)


def test_hardlink_to_symlink_links_the_symlink(box: tuple[Path, Path], fmt: str) -> None:
    target, outside = box
    data = make_tar([E("l", SYM, linkname=str(outside / "canary")), E("h", LNK, linkname="l")])
    apply(target, data, fmt)
    assert os.readlink(target / "h") == str(outside / "canary")


def test_overlay_xattrs_from_tar_are_dropped(box: tuple[Path, Path]) -> None:
    target, _ = box
    if not is_root():
        pytest.skip("trusted.* xattrs need root")
    data = make_tar([E("d", DIR, mode=0o755, xattrs={"trusted.overlay.redirect": "/etc"})])
    apply(target, data)
    assert "trusted.overlay.redirect" not in os.listxattr(target / "d")


# -- corrupt input --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["gzip", "zstd", ""])
def test_truncated(box: tuple[Path, Path], kind: str) -> None:
    target, _ = box
    tar = make_tar([E("big", data=os.urandom(300_000)), E("after", data=b"x")])
    blob = compress(tar, kind)
    with pytest.raises(InvalidParameter, match="truncated"):
        apply(target, blob[: len(blob) // 2])


def test_not_a_tar(box: tuple[Path, Path]) -> None:
    target, _ = box
    with pytest.raises(InvalidParameter, match="not a valid tar"):
        apply(target, b"this is not a tar file at all" * 40)
    good = make_tar([E("a", data=b"1"), E("b", data=b"2")])
    bad = bytearray(good)
    bad[1024 + 10] ^= 0xFF  # the second header: after a's header and one block of data
    with pytest.raises(InvalidParameter):
        apply(target, bytes(bad))


def test_empty_layers(box: tuple[Path, Path]) -> None:
    target, _ = box
    assert apply(target, b"").diff_id == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert apply(target, bytes(1024)).size == 0


@pytest.mark.parametrize("kind", ["gzip", "zstd", ""])
def test_digests_per_compression(tmp_path: Path, kind: str) -> None:
    tar = make_tar([E("d", DIR, mode=0o755), E("d/f", data=os.urandom(5000))])
    blob = compress(tar, kind)
    (tmp_path / "t").mkdir()
    res = apply(tmp_path / "t", blob)
    assert res.diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert res.compressed_digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert res.compressed_size == len(blob)
    assert res.size == 5000


# -- fidelity -------------------------------------------------------------------------------------
def test_metadata_preserved(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "t"
    target.mkdir()
    long = "deep/" + "n" * 120 + "/é-ünïcode-file"
    entries = [
        E("bin", DIR, mode=0o755, mtime=1_600_000_000),
        E("bin/su", data=b"#!/bin/sh\n", mode=0o4755, uid=1000, gid=1000, mtime=1_500_000_000),
        E("bin/link", SYM, linkname="su", uid=5, gid=6),
        E("bin/hard", LNK, linkname="bin/su"),
        E("ro", DIR, mode=0o555),
        E("ro/inside", data=b"i"),
        E("fifo", FIFO, mode=0o600),
        E(long, data=b"long"),
        E("x", data=b"x", xattrs={"user.comment": "hello"}),
    ]
    if is_root() and fmt == "overlay":
        entries.append(E("null", CHR, mode=0o666, devmajor=1, devminor=3))
    apply(target, make_tar(entries), fmt)
    st = os.lstat(target / "bin/su")
    assert stat.S_IMODE(st.st_mode) == 0o4755
    if is_root():
        assert (st.st_uid, st.st_gid) == (1000, 1000)
        assert os.lstat(target / "bin/link").st_uid == 5
    assert st.st_mtime == 1_500_000_000
    assert os.lstat(target / "bin").st_mtime == 1_600_000_000  # set after its children
    assert os.readlink(target / "bin/link") == "su"
    assert os.lstat(target / "bin/hard").st_ino == st.st_ino
    assert stat.S_IMODE(os.lstat(target / "ro").st_mode) == 0o555
    assert stat.S_ISFIFO(os.lstat(target / "fifo").st_mode)
    assert (target / long).read_bytes() == b"long"
    try:
        assert os.getxattr(target / "x", "user.comment") == b"hello"
    except OSError:
        pass  # filesystem without user xattrs
    if is_root() and fmt == "overlay":
        assert os.lstat(target / "null").st_rdev == os.makedev(1, 3)


def test_whiteouts_overlay_format(tmp_path: Path) -> None:
    if not is_root():
        pytest.skip("needs root")
    t = tmp_path / "t"
    t.mkdir()
    apply(t, make_tar([E("a", DIR, mode=0o755), E("a/.wh..wh..opq"), E("a/new", data=b"n"), E(".wh.gone")]))
    st = os.lstat(t / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(t / "a", "trusted.overlay.opaque") == b"y"
    assert (t / "a/new").read_bytes() == b"n"


def test_whiteouts_native_format(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    apply(
        t,
        make_tar(
            [
                E("a", DIR, mode=0o755),
                E("a/old", data=b"o"),
                E("a/sub", DIR, mode=0o755),
                E("a/sub/deep", data=b"d"),
                E("gone", DIR, mode=0o755),
                E("gone/x", data=b"x"),
                E("keep", data=b"k"),
            ]
        ),
        "native",
    )
    # Same layer: a/new written before the opaque marker must survive it; a/sub/deep must not.
    apply(
        t,
        make_tar(
            [
                E("a/new", data=b"n"),
                E("a/sub", DIR, mode=0o755),
                E("a/sub/fresh", data=b"f"),
                E("a/.wh..wh..opq"),
                E(".wh.gone"),
            ]
        ),
        "native",
    )
    assert sorted(os.listdir(t)) == ["a", "keep"]
    assert sorted(os.listdir(t / "a")) == ["new", "sub"]
    assert sorted(os.listdir(t / "a/sub")) == ["fresh"]


def test_overlay_round_trip(tmp_path: Path) -> None:
    if not is_root():
        pytest.skip("needs root")
    layer = make_tar(
        [
            E("a", DIR, mode=0o755),
            E("a/.wh..wh..opq"),
            E("a/new", data=b"n"),
            E("b", DIR, mode=0o700),
            E("b/.wh.gone"),
            E("b/f", data=b"f", mode=0o600, uid=3, gid=4),
            E("b/h", LNK, linkname="b/f"),
            E("s", SYM, linkname="/x/y"),
        ]
    )
    t1 = tmp_path / "t1"
    t1.mkdir()
    apply(t1, layer)
    out = io.BytesIO()
    res = write_diff(t1, out)
    assert res.size == len(out.getvalue())
    assert res.diff_id == "sha256:" + hashlib.sha256(out.getvalue()).hexdigest()
    assert sorted(tar_names(out.getvalue())) == sorted(tar_names(layer))
    t2 = tmp_path / "t2"
    t2.mkdir()
    again = apply(t2, out.getvalue())
    assert again.diff_id == res.diff_id
    assert tree(t1) == tree(t2)
    out2 = io.BytesIO()
    assert write_diff(t2, out2).diff_id == res.diff_id  # deterministic


def test_native_diff_against_lower(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    apply(
        lower,
        make_tar(
            [
                E("etc", DIR, mode=0o755),
                E("etc/a", data=b"a"),
                E("etc/b", data=b"b"),
                E("var", DIR, mode=0o755),
                E("var/x", data=b"x"),
            ]
        ),
        "native",
    )
    upper = tmp_path / "upper"
    subprocess.run(["cp", "-a", str(lower), str(upper)], check=True)
    (upper / "etc/b").unlink()
    (upper / "etc/c").write_text("c")
    shutil.rmtree(upper / "var")
    out = io.BytesIO()
    write_diff(upper, out, whiteouts="native", lower=[lower])
    names = tar_names(out.getvalue())
    assert sorted(names) == [".wh.var", "etc/.wh.b", "etc/c"]
    # Applying that diff on a copy of lower reproduces upper.
    again = tmp_path / "again"
    subprocess.run(["cp", "-a", str(lower), str(again)], check=True)
    apply(again, out.getvalue(), "native")
    assert tree(again) == tree(upper)


def test_epoch_clamps_mtimes(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    apply(t, make_tar([E("f", data=b"1", mtime=2_000_000_000), E("g", data=b"2", mtime=1000)]))
    out = io.BytesIO()
    write_tree(t, out, epoch=1_000_000)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        times = {m.name: m.mtime for m in tar.getmembers()}
        assert all(m.uname == "" and m.gname == "" for m in tar.getmembers())
    assert times == {"f": 1_000_000, "g": 1000}


# -- busybox through a real overlay mount ---------------------------------------------------------
def test_busybox_three_layer_overlay(tmp_path: Path) -> None:
    if not is_root() or not overlay_supported(tmp_path / "chk"):
        pytest.skip("needs root and overlayfs")
    l1, l2, l3, work, upper = (tmp_path / n for n in ("l1", "l2", "l3", "work", "upper"))
    for d in (l1, l2, l3, work, upper):
        d.mkdir()
    res = apply(l1, busybox.rootfs_tar_bytes())
    assert res.size > 0
    etc = E("etc", DIR, mode=0o755)
    apply(l2, compress(make_tar([etc, E("etc/.wh.hostname"), E("etc/motd", data=b"hi\n")]), "gzip"))
    app = [E("app", DIR, mode=0o755), E("app/run.sh", data=b"#!/bin/sh\necho ok\n", mode=0o755)]
    apply(l3, compress(make_tar([etc, E("etc/motd", data=b"bye\n"), *app]), "zstd"))
    m = Mount("overlay", "overlay", (f"lowerdir={l3}:{l2}:{l1}", f"upperdir={upper}", f"workdir={work}"))
    with temp_mount([m], base=tmp_path) as root:
        assert (root / "etc/motd").read_text() == "bye\n"
        assert not (root / "etc/hostname").exists()
        assert "root:x:0:0" in (root / "etc/passwd").read_text()
        assert os.path.samefile(root / "bin/sh", root / "bin/busybox")
        assert (root / "app/run.sh").stat().st_mode & 0o111
        (root / "etc/passwd").unlink()
    assert stat.S_ISCHR(os.lstat(upper / "etc/passwd").st_mode)
    out = io.BytesIO()
    write_diff(upper, out)
    assert "etc/.wh.passwd" in tar_names(out.getvalue())
    assert_nothing_mounted(tmp_path)
