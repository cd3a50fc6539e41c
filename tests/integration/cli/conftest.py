"""CLI integration fixtures.

By default the tests use the lead's ``dw_daemon``/``busybox_image`` (a real
dockwright daemon on a temporary root). With
``DOCKWRIGHT_TEST_AGAINST=unix:///var/run/docker.sock`` the same tests run
against that daemon instead (a real dockerd, say): the fixtures below then
override those names, and the busybox image gets a unique tag that is
removed at the end, so a shared daemon is left as it was found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AGAINST = os.environ.get("DOCKWRIGHT_TEST_AGAINST", "")
DW = [sys.executable, "-m", "dockwright"]
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


@dataclass
class ExternalDaemon:
    """Quacks like the lead's ``DaemonProc`` for what the CLI tests use: ``host``, ``env``, ``data_root``."""

    host: str
    data_root: Path | None = None
    tmp: Path = field(default_factory=lambda: Path("/tmp"))

    @property
    def env(self) -> dict[str, str]:
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        e["DOCKWRIGHT_HOST"] = self.host
        e.pop("DOCKER_CONTEXT", None)
        return e


if AGAINST:

    @pytest.fixture(scope="session")
    def dw_daemon() -> Iterator[ExternalDaemon]:
        d = ExternalDaemon(AGAINST)
        r = subprocess.run([*DW, "-H", AGAINST, "version"], capture_output=True, text=True, env=d.env)
        if r.returncode != 0:
            pytest.skip(f"no daemon at {AGAINST}: {r.stderr.strip()}")
        yield d

    @pytest.fixture(scope="session")
    def busybox_image(dw_daemon: ExternalDaemon, busybox_tar: Path) -> Iterator[str]:
        name = f"dwcli-busybox-{uuid.uuid4().hex[:8]}:latest"
        subprocess.run([*DW, "import", str(busybox_tar), name], check=True, capture_output=True,
                       env=dw_daemon.env)
        yield name
        subprocess.run([*DW, "rmi", "-f", name], capture_output=True, env=dw_daemon.env)


@pytest.fixture
def cleanup_images(dw_daemon: ExternalDaemon) -> Iterator[list[str]]:
    """Names and IDs a test created; removed afterwards whatever happened."""
    created: list[str] = []
    yield created
    if created:
        subprocess.run([*DW, "rmi", "-f", *created], capture_output=True, env=dw_daemon.env)
