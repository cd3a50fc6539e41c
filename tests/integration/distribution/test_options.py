"""Daemon options (registry-mirrors, max-concurrent-downloads), pulls by digest, concurrent pulls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.conftest import api_json, docker
from tests.integration.registry.conftest import RegistryProc
from tests.support.archives import big_archive
from tests.support.daemon import DaemonProc, new_daemon

from .conftest import unique


@pytest.fixture
def mirrored(registry: RegistryProc) -> Iterator[DaemonProc]:
    d = new_daemon(prefix="dw-dist-opt-", extra_args=[
        "--registry-mirror", f"http://{registry.addr}", "--max-concurrent-downloads", "1"])
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


def test_mirror_serves_docker_hub_names_one_download_at_a_time(mirrored: DaemonProc, registry: RegistryProc,
                                                               tmp_path: Path) -> None:
    d = mirrored
    name = unique("mirrored")
    arc = tmp_path / "img.tar"
    big_archive(arc, layers=3, mib=1, tag=f"{registry.addr}/library/{name}:v1")
    status, body = d.request("POST", "/v1.47/images/load?quiet=1", arc.read_bytes(),
                             {"Content-Type": "application/x-tar"})
    assert status == 200, body
    docker(d, "push", f"{registry.addr}/library/{name}:v1")
    docker(d, "rmi", f"{registry.addr}/library/{name}:v1")
    status, raw = d.request("POST", f"/v1.47/images/create?fromImage={name}&tag=v1")
    assert status == 200, raw
    msgs = [json.loads(x) for x in raw.decode().splitlines() if x.strip()]
    assert msgs[0] == {"status": f"Pulling from library/{name}", "id": "v1"}
    assert sum(1 for m in msgs if m.get("status") == "Waiting") == 2
    assert msgs[-1]["status"] == f"Status: Downloaded newer image for {name}:v1"
    status, info = api_json(d, "GET", f"/v1.47/images/{name}:v1/json")
    assert status == 200 and isinstance(info, dict) and info["RepoTags"] == [f"{name}:v1"]


def test_pull_by_digest_and_concurrent_pulls(dw_daemon: DaemonProc, registry: RegistryProc,
                                             tmp_path: Path) -> None:
    ref = f"{registry.addr}/{unique('cc')}"
    arc = tmp_path / "img.tar"
    image_id = big_archive(arc, layers=2, mib=3, tag=f"{ref}:v1")
    status, body = dw_daemon.request("POST", "/v1.47/images/load?quiet=1", arc.read_bytes(),
                                     {"Content-Type": "application/x-tar"})
    assert status == 200, body
    out = docker(dw_daemon, "push", f"{ref}:v1").stdout
    digest = out.split("v1: digest: ")[1].split()[0]
    docker(dw_daemon, "rmi", f"{ref}:v1")

    def pull(_: int) -> tuple[int, bytes]:
        return dw_daemon.request("POST", f"/v1.47/images/create?fromImage={ref}&tag=v1")

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(pull, range(3)))
    for status, raw in results:
        assert status == 200
        assert b'"error"' not in raw, raw
    status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{ref}:v1/json")
    assert status == 200 and isinstance(info, dict) and info["Id"] == image_id
    docker(dw_daemon, "rmi", f"{ref}:v1")
    out = docker(dw_daemon, "pull", f"{ref}@{digest}").stdout
    assert f"Digest: {digest}" in out
    status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{ref}@{digest}/json")
    assert status == 200 and isinstance(info, dict)
    assert info["RepoTags"] == [] and info["RepoDigests"] == [f"{ref}@{digest}"]
    docker(dw_daemon, "rmi", f"{ref}@{digest}")


def test_pull_all_tags(dw_daemon: DaemonProc, registry: RegistryProc, tmp_path: Path) -> None:
    from tests.support.archives import tiny_rootfs

    repo = f"{registry.addr}/{unique('all')}"
    for t in ("a", "b"):
        status, body = dw_daemon.request("POST", f"/v1.47/images/create?fromSrc=-&repo={repo}&tag={t}",
                                         tiny_rootfs(unique(t)), {"Content-Type": "application/x-tar"})
        assert status == 200, body
        docker(dw_daemon, "push", f"{repo}:{t}")
        docker(dw_daemon, "rmi", f"{repo}:{t}")
    out = docker(dw_daemon, "pull", "-a", repo).stdout
    assert "a: Pulling from" in out and "b: Pulling from" in out
    assert f"Status: Downloaded newer image for {repo}" in out
    for t in ("a", "b"):
        docker(dw_daemon, "rmi", f"{repo}:{t}")
