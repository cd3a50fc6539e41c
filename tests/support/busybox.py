"""The offline base image of every test: Debian's busybox-static as a rootfs.

One binary at /bin/busybox plus an applet link for each command, a minimal
/etc (passwd, group, hosts), and the usual empty directories. Built
deterministically (fixed mtimes, sorted entries) so its diff ID is stable
within one busybox build.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = Path(os.environ.get("DOCKWRIGHT_TEST_BUSYBOX", "/bin/busybox"))
MTIME = 1_700_000_000

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    "app:x:1000:1000:app:/home/app:/bin/sh\n"
)
GROUP = "root:x:0:\ndaemon:x:1:\nwheel:x:10:root,app\nnogroup:x:65534:\napp:x:1000:\n"
DIRS = ["bin", "dev", "etc", "home", "home/app", "proc", "root", "sys", "tmp", "usr", "usr/bin", "var"]


def applets() -> list[str]:
    if not BUSYBOX.exists():
        raise RuntimeError(f"{BUSYBOX} is missing: apt-get install busybox-static")
    out = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True, text=True).stdout
    return sorted(a for a in out.split() if a and a != "busybox")


def rootfs_tar_bytes() -> bytes:
    """A tar of the busybox rootfs, as ``docker import`` would take it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.DIRTYPE
            ti.mode = mode
            ti.mtime = MTIME
            tar.addfile(ti)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = mode
            ti.mtime = MTIME
            tar.addfile(ti, io.BytesIO(data))

        for d in DIRS:
            add_dir(d, 0o1777 if d == "tmp" else (0o700 if d == "root" else 0o755))
        with BUSYBOX.open("rb") as f:
            data = f.read()
        add_file("bin/busybox", data, 0o755)
        for a in applets():
            if a in ("busybox",):
                continue
            ti = tarfile.TarInfo(f"bin/{a}")
            ti.type = tarfile.LNKTYPE
            ti.linkname = "bin/busybox"
            ti.mode = 0o755
            ti.mtime = MTIME
            tar.addfile(ti)
        add_file("etc/passwd", PASSWD.encode())
        add_file("etc/group", GROUP.encode())
        add_file("etc/hostname", b"busybox\n")
    return buf.getvalue()


def write_rootfs_tar(path: Path) -> Path:
    path.write_bytes(rootfs_tar_bytes())
    return path


def make_rootfs_dir(target: Path) -> Path:
    """Unpack the same rootfs into a directory (for runtime tests that need no image store)."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(rootfs_tar_bytes())) as tar:
        tar.extractall(target, filter="fully_trusted")
    return target


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
