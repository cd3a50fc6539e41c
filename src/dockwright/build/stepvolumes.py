"""VOLUME paths during a RUN step, as dockerd's legacy builder has them.

dockerd runs each RUN step in a container created from the image config, so
every declared VOLUME gets an anonymous volume there: it starts as a copy of
what the image has at that path, the step writes into it, and the volume is
thrown away with the container. So nothing a RUN writes under a VOLUME reaches
the layer, while a mount point the runtime had to create (the path did not
exist yet) does. Each volume here is a scratch directory seeded with that copy
and bind-mounted over the path for the step.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dockwright.runtime.securejoin import secure_join


def prepare(rootfs: Path, scratch: Path, volumes: list[str]) -> list[tuple[str, str]]:
    """(host dir, container path) bind mounts for the image's volumes; blocking (tar-like IO)."""
    out: list[tuple[str, str]] = []
    base = scratch / "volumes"
    for n, path in enumerate(sorted(volumes)):
        if not path.startswith("/") or not path.strip("/"):
            continue  # "/" is no volume dockerd would create
        inside = Path(secure_join(str(rootfs), path))
        if os.path.lexists(inside) and not inside.is_dir():
            continue  # a file there: dockerd would refuse to start the step's container; leave it be
        d = base / str(n)
        d.mkdir(parents=True)
        if inside.is_dir():
            _seed(inside, d)
        out.append((str(d), path))
    return out


def _seed(src: Path, dst: Path) -> None:
    """The image's content at the path, with owners, modes and links (``cp -a``)."""
    st = os.lstat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, st.st_mode & 0o7777)
    if any(src.iterdir()):
        subprocess.run(["cp", "-a", f"{src}/.", str(dst)], check=True, capture_output=True)
