"""CNCF Distribution (Debian's ``docker-registry``) on a free loopback port: the reference registry."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DISTRIBUTION = Path("/usr/bin/docker-registry")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def cncf_registry(workdir: Path) -> Iterator[str]:
    """Yields ``127.0.0.1:PORT``; stops the registry and removes its storage on exit."""
    if not DISTRIBUTION.exists():
        pytest.skip("CNCF Distribution is not installed (apt-get install -y docker-registry)")
    port = _free_port()
    root = workdir / "dist-root"
    cfg = workdir / "distribution.yml"
    cfg.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
                   f"{root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([str(DISTRIBUTION), "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
