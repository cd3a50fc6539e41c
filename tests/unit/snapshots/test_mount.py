"""mount(2) helpers: binds, read-only remounts, overlays beyond a page of options."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dockwright.snapshots.mount import Mount, is_mounted, mount_all, temp_mount, unmount
from dockwright.snapshots.overlay import overlay_supported
from tests.conformance.storage_helpers import assert_nothing_mounted, is_root

needs_root = pytest.mark.skipif(not is_root(), reason="mounting needs root")


def test_to_dict() -> None:
    m = Mount("bind", "/src", ("rbind", "ro"))
    assert m.to_dict() == {"type": "bind", "source": "/src", "options": ["rbind", "ro"]}
    assert m.readonly()


@needs_root
def test_ro_bind(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    target = tmp_path / "t"
    target.mkdir()
    mount_all([Mount("bind", str(src), ("rbind", "ro"))], target)
    try:
        assert is_mounted(target)
        assert (target / "f").read_text() == "x"
        with pytest.raises(OSError) as ei:
            (target / "g").write_text("y")
        assert ei.value.errno == errno.EROFS
    finally:
        unmount(target)
    assert not is_mounted(target)
    unmount(target)  # not mounted: no error
    assert_nothing_mounted(tmp_path)


@needs_root
def test_overlay_with_options_longer_than_a_page(tmp_path: Path) -> None:
    if not overlay_supported(tmp_path / "chk"):
        pytest.skip("no overlayfs")
    lowers = []
    for i in range(100):
        d = tmp_path / ("lower-with-a-rather-long-name-" + "x" * 30 + f"-{i:03d}")
        d.mkdir()
        (d / f"f{i}").write_text(str(i))
        lowers.append(str(d))
    opts = "lowerdir=" + ":".join(lowers)
    assert len(opts) > 4096
    with temp_mount([Mount("overlay", "overlay", (opts,))], base=tmp_path) as root:
        assert len(os.listdir(root)) == 100
    assert_nothing_mounted(tmp_path)
    assert [p for p in tmp_path.iterdir() if p.name.startswith("dockwright-mount-")] == []


def test_open_snapshotter(tmp_path: Path) -> None:
    from dockwright.snapshots.select import open_snapshotter

    sel = open_snapshotter(tmp_path, "native")
    assert sel.driver == "native" and sel.snapshotter.whiteout_format() == "native"
    sel.snapshotter.close()
    auto = open_snapshotter(tmp_path)
    assert auto.driver == ("overlay" if overlay_supported(tmp_path / "chk") else "native")
    assert (tmp_path / auto.driver / "metadata.db").exists()
    auto.snapshotter.close()
    assert_nothing_mounted(tmp_path)


def test_force_rmtree_through_read_only_dirs(tmp_path: Path) -> None:
    from dockwright.snapshots.base import force_rmtree

    d = tmp_path / "t"
    (d / "ro" / "sub").mkdir(parents=True)
    (d / "ro" / "sub" / "f").write_text("x")
    os.chmod(d / "ro" / "sub", 0o555)
    os.chmod(d / "ro", 0o000)
    force_rmtree(d)
    assert not d.exists()
