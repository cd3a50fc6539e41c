"""``--user`` resolution against an image's passwd/group, with Docker's results (observed on dockerd)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockwright.errors import InvalidParameter
from dockwright.runtime.spec import resolve_user
from tests.support.busybox import GROUP, PASSWD


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    return tmp_path


@pytest.mark.parametrize(("spec", "want"), [
    ("", (0, 0, [0, 10])),
    ("app", (1000, 1000, [1000, 10])),
    ("1000", (1000, 1000, [1000, 10])),
    ("1000:1000", (1000, 1000, [1000])),
    ("root:wheel", (0, 10, [10])),
    ("nobody", (65534, 65534, [65534])),
    ("4242", (4242, 0, [0])),
    ("app:10", (1000, 10, [10])),
    ("0:app", (0, 1000, [1000])),
    ("4242:4343", (4242, 4343, [4343])),
])
def test_matches_docker(rootfs: Path, spec: str, want: tuple[int, int, list[int]]) -> None:
    assert resolve_user(rootfs, spec) == want


def test_docker_errors(rootfs: Path) -> None:
    with pytest.raises(InvalidParameter, match="^unable to find user bogus: no matching entries in passwd file$"):
        resolve_user(rootfs, "bogus")
    with pytest.raises(InvalidParameter, match="^unable to find group bogus: no matching entries in group file$"):
        resolve_user(rootfs, "0:bogus")


def test_missing_files_numeric_ok(tmp_path: Path) -> None:
    assert resolve_user(tmp_path, "123:456") == (123, 456, [456])
    with pytest.raises(InvalidParameter, match="unable to find user app"):
        resolve_user(tmp_path, "app")


def test_symlinks_never_leave_the_rootfs(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text("evil:x:4444:4444::/:/bin/sh\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink(str(host / "passwd"), root / "etc/passwd")
    with pytest.raises(InvalidParameter, match="unable to find user evil"):
        resolve_user(root, "evil")
    os.unlink(root / "etc/passwd")
    os.symlink("../../../../../../../../" + str(host / "passwd").lstrip("/"), root / "etc/passwd")
    with pytest.raises(InvalidParameter, match="unable to find user evil"):
        resolve_user(root, "evil")
    # a symlink that stays inside is followed
    (root / "data").mkdir()
    (root / "data/passwd").write_text("inside:x:77:77::/:/bin/sh\n")
    os.unlink(root / "etc/passwd")
    os.symlink("/data/passwd", root / "etc/passwd")
    assert resolve_user(root, "inside") == (77, 77, [77])
