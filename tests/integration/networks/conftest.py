"""Fixtures for the networks tests: one running container on each predefined network."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import DOCKER
from tests.support.daemon import DaemonProc


@pytest.fixture(scope="module")
def attached(dw_daemon: DaemonProc, busybox_tar: Path) -> Iterator[dict[str, dict[str, str]]]:
    """``{network: {"name", "id"}}``: a ``sleep`` on bridge (the default), host and none, removed afterwards."""
    status, _ = dw_daemon.request("GET", "/v1.47/images/busybox:latest/json")
    if status != 200:  # an earlier prune removed it
        status, body = dw_daemon.request("POST", "/v1.47/images/create?fromSrc=-&repo=busybox&tag=latest",
                                         busybox_tar.read_bytes(), {"Content-Type": "application/x-tar"})
        assert status == 200, body
    out: dict[str, dict[str, str]] = {}
    try:
        for net in ("bridge", "host", "none"):
            name = f"nw-{net}-{uuid.uuid4().hex[:8]}"
            args = [] if net == "bridge" else ["--network", net]
            r = subprocess.run([DOCKER, "run", "-d", "--name", name, *args, "busybox:latest", "sleep", "60"],
                               env=dw_daemon.env, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            out[net] = {"name": name, "id": r.stdout.strip()}
        yield out
    finally:
        names = [v["name"] for v in out.values()]
        if names:
            subprocess.run([DOCKER, "rm", "-f", *names], env=dw_daemon.env, capture_output=True, timeout=60)
