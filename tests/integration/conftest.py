"""Fixtures for integration tests: a real daemon on a temporary data root, a busybox image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker as docker_sdk
import pytest

from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


@pytest.fixture(scope="session")
def dw_daemon() -> Iterator[DaemonProc]:
    if os.geteuid() != 0:
        pytest.skip("the daemon needs root")
    d = new_daemon()
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("busybox") / "busybox.tar"
    p.write_bytes(rootfs_tar_bytes())
    return p


@pytest.fixture
def busybox_image(dw_daemon: DaemonProc, busybox_tar: Path) -> str:
    """busybox:latest, imported again if an earlier test (a prune) removed it."""
    status, _ = dw_daemon.request("GET", "/v1.47/images/busybox:latest/json")
    if status == 200:
        return "busybox:latest"
    status, body = dw_daemon.request(
        "POST", "/v1.47/images/create?fromSrc=-&repo=busybox&tag=latest",
        busybox_tar.read_bytes(), {"Content-Type": "application/x-tar"},
    )
    assert status == 200, body
    return "busybox:latest"


@pytest.fixture
def client(dw_daemon: DaemonProc) -> Iterator[docker_sdk.DockerClient]:
    """The docker SDK against the session daemon."""
    c = docker_sdk.DockerClient(base_url=dw_daemon.host, version="1.47", timeout=60)
    try:
        yield c
    finally:
        c.close()


def docker(d: DaemonProc, *args: str, input: bytes | None = None, check: bool = True,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real docker CLI against the daemon; returns text output."""
    raw = subprocess.run([DOCKER, *args], env=d.env, input=input, capture_output=True, timeout=timeout)
    r = subprocess.CompletedProcess(raw.args, raw.returncode, raw.stdout.decode(errors="replace"),
                                    raw.stderr.decode(errors="replace"))
    if check and r.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                             f"--- daemon log ---\n{d.log()}")
    return r


def api_json(d: DaemonProc, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
    status, raw = d.request(method, path, body)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")
