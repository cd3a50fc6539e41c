"""CNCF Distribution (Debian's ``docker-registry``) on a free loopback port: the reference registry."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_for_port

DISTRIBUTION = Path("/usr/bin/docker-registry")


@contextmanager
def cncf_registry(workdir: Path) -> Iterator[str]:
    """Yields ``127.0.0.1:PORT``; stops the registry and removes its storage on exit."""
    if not DISTRIBUTION.exists():
        pytest.skip("CNCF Distribution is not installed (apt-get install -y docker-registry)")
    port = free_port()
    root = workdir / "dist-root"
    cfg = workdir / "distribution.yml"
    cfg.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
                   f"{root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([str(DISTRIBUTION), "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
