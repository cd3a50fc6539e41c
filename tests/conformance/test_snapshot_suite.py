"""Snapshotter conformance: the overlay and the native (copying) snapshotters run every case."""

from __future__ import annotations

import errno
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockwright.diff.apply import apply_layer
from dockwright.diff.tarwrite import write_diff
from dockwright.errors import AlreadyExists, Conflict, FailedPrecondition, NotFound
from dockwright.snapshots.base import BaseSnapshotter
from dockwright.snapshots.mount import temp_mount
from dockwright.snapshots.native import NativeSnapshotter
from dockwright.snapshots.overlay import OverlaySnapshotter, overlay_supported
from dockwright.snapshots.types import Kind
from tests.conformance.storage_helpers import E, assert_nothing_mounted, is_root, make_tar

IMPLEMENTATIONS: dict[str, Callable[[Path], BaseSnapshotter]] = {
    "overlay": OverlaySnapshotter,
    "native": NativeSnapshotter,
}


def needs_root(fn: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.needs_root(pytest.mark.skipif(not is_root(), reason="mounting needs root")(fn))


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_sn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], BaseSnapshotter]]:
    root = tmp_path / "snapshots"
    if request.param == "overlay" and not overlay_supported(tmp_path / "check"):
        pytest.skip("overlayfs is not usable here")
    made: list[BaseSnapshotter] = []

    def make() -> BaseSnapshotter:
        sn = IMPLEMENTATIONS[request.param](root)
        made.append(sn)
        return sn

    yield make
    # Teardown: nothing mounted, and once every snapshot is removed nothing is left on disk.
    assert_nothing_mounted(tmp_path)
    sn = made[0] if made else make()
    for _ in range(200):
        infos = list(sn.walk())
        if not infos:
            break
        parents = {i.parent for i in infos}
        for i in infos:
            if i.name not in parents:
                sn.remove(i.name)
    sn.cleanup()
    left = sorted(p.name for p in root.iterdir() if not p.name.startswith("metadata.db"))
    assert left == [], f"left on disk: {left}"
    for s in made:
        s.close()


@pytest.fixture
def sn(make_sn: Callable[[], BaseSnapshotter]) -> BaseSnapshotter:
    return make_sn()


def layer(sn: BaseSnapshotter, name: str, parent: str, entries: list[E]) -> None:
    key = f"extract-{name}"
    sn.prepare(key, parent)
    apply_layer(sn.upper_dir(key), io.BytesIO(make_tar(entries)), whiteouts=sn.whiteout_format())
    sn.commit(name, key)


def test_prepare_commit_stat_walk(sn: BaseSnapshotter) -> None:
    sn.prepare("a-active", labels={"l": "1"})
    (sn.upper_dir("a-active") / "f").write_bytes(b"x" * 10_000)
    st = sn.stat("a-active")
    assert (st.name, st.parent, st.kind, st.labels) == ("a-active", "", Kind.ACTIVE, {"l": "1"})
    sn.commit("a", "a-active", labels={"committed": "yes"})
    with pytest.raises(NotFound):
        sn.stat("a-active")
    st = sn.stat("a")
    assert st.kind is Kind.COMMITTED and st.labels == {"committed": "yes"}
    u = sn.usage("a")
    assert u.size >= 10_000 and u.inodes >= 1
    sn.prepare("b", "a")
    assert [i.name for i in sn.walk()] == ["a", "b"]
    assert sn.parents("b") == ["a"]
    assert sn.whiteout_format() in ("overlay", "native")


def test_errors(sn: BaseSnapshotter) -> None:
    sn.prepare("k")
    with pytest.raises(AlreadyExists):
        sn.prepare("k")
    with pytest.raises(NotFound):
        sn.prepare("k2", "missing")
    with pytest.raises(NotFound):
        sn.prepare("k2", "k")  # parent must be committed
    with pytest.raises(NotFound):
        sn.stat("missing")
    sn.commit("c", "k")
    with pytest.raises(FailedPrecondition):
        sn.commit("c2", "c")  # not active
    sn.prepare("k3", "c")
    with pytest.raises(AlreadyExists):
        sn.commit("c", "k3")
    with pytest.raises(Conflict):
        sn.remove("c")
    with pytest.raises(FailedPrecondition):
        sn.upper_dir("c")
    sn.remove("k3")
    sn.remove("c")
    assert list(sn.walk()) == []


def test_labels_update_and_persistence(make_sn: Callable[[], BaseSnapshotter]) -> None:
    sn = make_sn()
    sn.prepare("p", labels={"a": "1"})
    sn.update_labels("p", {"b": "2"})
    sn.commit("c", "p")
    again = make_sn()
    st = again.stat("c")
    assert st.labels == {"b": "2"} and st.kind is Kind.COMMITTED


def test_mount_shapes(sn: BaseSnapshotter) -> None:
    [m] = sn.prepare("base-a")
    assert m.type == "bind" and "rw" in m.options
    sn.commit("base", "base-a")
    [v] = sn.view("v1", "base")
    assert v.type == "bind" and "ro" in v.options
    mounts = sn.prepare("child", "base")
    if sn.whiteout_format() == "overlay":
        [o] = mounts
        assert o.type == "overlay"
        assert any(x.startswith("lowerdir=") for x in o.options)
        assert any(x.startswith("upperdir=") for x in o.options)
    assert sn.mounts("child") == mounts


@needs_root
def test_deleted_files_in_child_snapshot(sn: BaseSnapshotter, tmp_path: Path) -> None:
    layer(
        sn,
        "l1",
        "",
        [
            E("etc/", b"5", mode=0o755),
            E("etc/keep", data=b"k"),
            E("etc/gone", data=b"g"),
            E("opq/", b"5", mode=0o755),
            E("opq/old", data=b"o"),
        ],
    )
    layer(
        sn,
        "l2",
        "l1",
        [E("etc/.wh.gone"), E("opq/", b"5", mode=0o755), E("opq/.wh..wh..opq"), E("opq/new", data=b"n")],
    )
    sn.prepare("run", "l2")
    with temp_mount(sn.mounts("run"), base=tmp_path) as root:
        assert (root / "etc/keep").read_bytes() == b"k"
        assert not (root / "etc/gone").exists()
        assert sorted(os.listdir(root / "opq")) == ["new"]
        (root / "etc/written").write_text("w")
    with temp_mount(sn.mounts("run"), base=tmp_path) as root:
        assert (root / "etc/written").read_text() == "w"


@needs_root
def test_view_is_read_only(sn: BaseSnapshotter, tmp_path: Path) -> None:
    layer(sn, "l1", "", [E("a", data=b"1")])
    layer(sn, "l2", "l1", [E("b", data=b"2")])
    for key, parent in (("view1", "l1"), ("view2", "l2")):
        mounts = sn.view(key, parent)
        with temp_mount(mounts, base=tmp_path) as root:
            assert (root / "a").read_bytes() == b"1"
            with pytest.raises(OSError) as ei:
                (root / "new").write_text("x")
            assert ei.value.errno == errno.EROFS


@needs_root
def test_128_layers_mount(sn: BaseSnapshotter, tmp_path: Path) -> None:
    parent = ""
    for i in range(128):
        name = f"layer-{i:03d}-{'x' * 40}"  # long keys: the mount options must still fit
        key = f"extract-{i}"
        sn.prepare(key, parent)
        (sn.upper_dir(key) / f"f{i:03d}").write_text(str(i))
        sn.commit(name, key)
        parent = name
    sn.prepare("top", parent)
    with temp_mount(sn.mounts("top"), base=tmp_path) as root:
        names = sorted(os.listdir(root))
        assert len(names) == 128
        assert (root / "f000").read_text() == "0" and (root / "f127").read_text() == "127"
    sn.view("top-view", parent)
    with temp_mount(sn.mounts("top-view"), base=tmp_path) as root:
        assert len(os.listdir(root)) == 128
    assert len(sn.parents("top")) == 128


def test_remove_and_orphans(sn: BaseSnapshotter) -> None:
    sn.prepare("x")
    (sn.upper_dir("x") / "data").write_text("1")
    d = sn.upper_dir("x").parent
    sn.remove("x")
    assert not d.exists()
    with pytest.raises(NotFound):
        sn.remove("x")
    # Simulate crashes: a prepare that never got its row, a removal cut short, a dir without row.
    (sn.root / "new-deadbeef" / "fs").mkdir(parents=True)
    (sn.root / "rm-7-cafe" / "fs" / "sub").mkdir(parents=True)
    (sn.root / "9999" / "fs").mkdir(parents=True)
    sn.prepare("kept")
    orphans = sorted(p.name for p in sn.orphans())
    assert orphans == ["9999", "new-deadbeef", "rm-7-cafe"]
    sn.cleanup()
    assert sn.orphans() == []
    assert sn.upper_dir("kept").is_dir()


def test_usage_of_active_and_view(sn: BaseSnapshotter) -> None:
    sn.prepare("a")
    (sn.upper_dir("a") / "big").write_bytes(os.urandom(64 * 1024))
    assert sn.usage("a").size >= 64 * 1024
    sn.commit("c", "a")
    sn.view("v", "c")
    assert sn.usage("v").size == 0


def test_concurrent_prepare_commit(sn: BaseSnapshotter) -> None:
    import threading

    sn.prepare("base-a")
    sn.commit("base", "base-a")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                key = f"a-{i}-{j}"
                sn.prepare(key, "base")
                (sn.upper_dir(key) / "f").write_text(key)
                sn.commit(f"c-{i}-{j}", key)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(list(sn.walk())) == 31


def test_two_instances_share_one_root(make_sn: Callable[[], BaseSnapshotter]) -> None:
    a, b = make_sn(), make_sn()
    a.prepare("x")
    with pytest.raises(AlreadyExists):
        b.prepare("x")
    b.commit("y", "x")
    assert a.stat("y").kind is Kind.COMMITTED


def test_write_diff_of_an_active_snapshot(sn: BaseSnapshotter) -> None:
    layer(sn, "l1", "", [E("etc/", b"5", mode=0o755), E("etc/a", data=b"a"), E("etc/b", data=b"b")])
    sn.prepare("c", "l1")
    up = sn.upper_dir("c")
    fmt = sn.whiteout_format()
    if fmt == "native":
        (up / "etc/b").unlink()
    elif is_root():
        (up / "etc").mkdir()
        os.mknod(up / "etc/b", 0o020000, os.makedev(0, 0))
    else:
        pytest.skip("overlay whiteouts need root")
    (up / "etc/new").write_text("n")
    out = io.BytesIO()
    write_diff(up, out, whiteouts=fmt, lower=sn.lower_dirs("c"))
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        names = sorted(m.name for m in t.getmembers())
    assert "etc/.wh.b" in names and "etc/new" in names and "etc/a" not in names
    assert sn.diff_dir("l1").is_dir()
