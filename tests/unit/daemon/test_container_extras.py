"""The pure parts of the container extras: ps parsing, path stats, upload checks, overlay changes, --init."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockwright.daemon.containers import archive, extras, health
from dockwright.errors import InvalidParameter, NotFound
from dockwright.runtime import init


def test_parse_ps_keeps_the_containers_rows_and_the_command_with_spaces() -> None:
    out = ("UID PID PPID C STIME TTY TIME CMD\n"
           "root 1 0 0 02:41 ? 00:00:00 /sbin/init splash\n"
           "root 42 1 0 02:41 ? 00:00:00 sleep 300\n")
    top = extras.parse_ps(out, {42})
    assert top == {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                   "Processes": [["root", "42", "1", "0", "02:41", "?", "00:00:00", "sleep 300"]]}
    with pytest.raises(Exception, match="Couldn't find PID field"):
        extras.parse_ps("USER COMMAND\nroot x\n", {1})


def test_go_mode_bits() -> None:
    assert archive.go_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert archive.go_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert archive.go_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755


def _root(tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0\n")
    (root / "esc").symlink_to(outside)
    (root / "up").symlink_to("../../../../..")
    (root / "l").symlink_to("/etc")
    return root


def test_paths_resolve_inside_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("no")
    root = _root(tmp_path, outside)
    with pytest.raises(NotFound, match="Could not find the file /esc/secret in container c1"):
        archive.stat_path(root, "/esc/secret", "c1")
    host, info = archive.stat_path(root, "/up/etc/passwd", "c1")
    assert host == str(root / "etc" / "passwd") and info["name"] == "passwd" and info["size"] == 11
    _, link = archive.stat_path(root, "/l", "c1")
    assert link["linkTarget"] == "/etc" and link["mode"] == (1 << 27) | 0o777
    _, followed = archive.stat_path(root, "/l/", "c1")
    assert followed["name"] == "l" and int(str(followed["mode"])) & (1 << 31)
    assert json.loads(base64.b64decode(archive.stat_header(link)))["linkTarget"] == "/etc"


def _tar(names: list[str]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for n in names:
            ti = tarfile.TarInfo(n)
            ti.size = 1
            ti.uid = 1234
            tf.addfile(ti, io.BytesIO(b"x"))
    buf.seek(0)
    return buf


def test_upload_refuses_climbing_names_and_maps_owners(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = _root(tmp_path, outside)
    with pytest.raises(InvalidParameter, match="outside the destination"):
        archive.extract_into(root, "/etc", "c1", _tar(["../../outside/evil"]), no_overwrite_dir_non_dir=True,
                             copy_uid_gid=False, spool_dir=tmp_path)
    with pytest.raises(InvalidParameter, match="cannot overwrite directory"):
        archive.extract_into(root, "/", "c1", _tar(["etc"]), no_overwrite_dir_non_dir=True, copy_uid_gid=False,
                             spool_dir=tmp_path)
    with pytest.raises(InvalidParameter, match="extraction point is not a directory"):
        archive.extract_into(root, "/etc/passwd", "c1", _tar(["a"]), no_overwrite_dir_non_dir=True,
                             copy_uid_gid=False, spool_dir=tmp_path)
    with pytest.raises(NotFound):  # the link's target is looked up in the container, where it is missing
        archive.extract_into(root, "/esc", "c1", _tar(["a"]), no_overwrite_dir_non_dir=True, copy_uid_gid=False,
                             spool_dir=tmp_path)
    archive.extract_into(root, "/etc", "c1", _tar(["new"]), no_overwrite_dir_non_dir=True, copy_uid_gid=False,
                         spool_dir=tmp_path)
    st = os.lstat(root / "etc" / "new")
    assert st.st_size == 1 and (st.st_uid == 0 or os.geteuid() != 0)
    assert os.listdir(outside) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="overlay whiteouts (0/0 char devices) need root")
def test_overlay_changes(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in ("bin", "etc", "var"):
        (lower / d).mkdir(parents=True)
    (lower / "bin" / "ls").write_text("ls")
    (lower / "etc" / "hosts").write_text("")
    (upper / "bin").mkdir(parents=True)
    os.mknod(upper / "bin" / "ls", stat.S_IFCHR | 0o600, 0)
    (upper / "etc").mkdir()
    (upper / "etc" / "hosts").write_text("")  # the engine's mount point: hidden, and so is /etc
    (upper / "new").mkdir()
    (upper / "new" / "f").write_text("hi")
    changes = extras.overlay_changes(upper, [lower])
    assert changes == [{"Path": "/bin", "Kind": 0}, {"Path": "/bin/ls", "Kind": 2},
                       {"Path": "/new", "Kind": 1}, {"Path": "/new/f", "Kind": 1}]


def test_probe_command_and_init(tmp_path: Path) -> None:
    assert health.probe_command({"Test": ["CMD-SHELL", "curl -f x"]}) == ["/bin/sh", "-c", "curl -f x"]
    assert health.probe_command({"Test": ["CMD", "true"]}) == ["true"]
    assert health.probe_command({"Test": ["NONE"]}) is None and health.probe_command(None) is None
    fake = tmp_path / "tini"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    spec = init.with_init({"process": {"args": ["sh", "-c", "x"]}}, str(fake))
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "sh", "-c", "x"]
    assert spec["mounts"][-1]["source"] == str(fake) and spec["mounts"][-1]["destination"] == "/sbin/docker-init"


def test_native_changes(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for root in (lower, upper):
        (root / "bin").mkdir(parents=True)
        (root / "etc").mkdir()
        (root / "etc" / "keep").write_text("same")
    os.utime(upper / "etc" / "keep", ns=(os.stat(lower / "etc" / "keep").st_mtime_ns,) * 2)
    (lower / "bin" / "ls").write_text("ls")
    (upper / "etc" / "hosts").write_text("")
    (upper / "new").mkdir()
    (upper / "new" / "f").write_text("hi")
    assert extras.native_changes(upper, [lower]) == [
        {"Path": "/bin", "Kind": 0}, {"Path": "/bin/ls", "Kind": 2},
        {"Path": "/new", "Kind": 1}, {"Path": "/new/f", "Kind": 1}]
