"""docker push / pull / login against our daemon and our registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.integration.conftest import api_json, docker
from tests.integration.registry.conftest import RegistryProc
from tests.support.archives import tiny_rootfs
from tests.support.daemon import DaemonProc

from .conftest import unique


def _import(d: DaemonProc, busybox_tar: Path, ref: str) -> str:
    status, body = d.request("POST", f"/v1.47/images/create?fromSrc=-&repo={ref.rsplit(':', 1)[0]}"
                             f"&tag={ref.rsplit(':', 1)[1]}", busybox_tar.read_bytes(),
                             {"Content-Type": "application/x-tar"})
    assert status == 200, body
    return ref


def test_push_then_pull_with_docker_cli(dw_daemon: DaemonProc, busybox_tar: Path, registry: RegistryProc) -> None:
    name = f"{registry.addr}/{unique('bb')}/app:v1"
    _import(dw_daemon, busybox_tar, name)
    out = docker(dw_daemon, "push", name).stdout
    assert f"The push refers to repository [{name.rsplit(':', 1)[0]}]" in out
    assert "v1: digest: sha256:" in out
    digest = out.split("v1: digest: ")[1].split()[0]
    # registry has it, as a Docker schema 2 manifest
    r = registry.get(f"/v2/{name.split('/', 1)[1].rsplit(':', 1)[0]}/manifests/v1",
                     headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == digest
    assert r.json()["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    # re-push: nothing uploaded again
    out2 = docker(dw_daemon, "push", name).stdout
    assert "Layer already exists" in out2 and digest in out2
    docker(dw_daemon, "rmi", name)
    out3 = docker(dw_daemon, "pull", name).stdout
    assert f"Digest: {digest}" in out3
    assert f"Status: Downloaded newer image for {name}" in out3
    status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{name}/json")
    assert status == 200 and isinstance(info, dict)
    assert f"{name.rsplit(':', 1)[0]}@{digest}" in info["RepoDigests"]
    out4 = docker(dw_daemon, "pull", name).stdout
    assert f"Status: Image is up to date for {name}" in out4
    r5 = docker(dw_daemon, "run", "--rm", name, "echo", "pulled-ok", check=False)
    if r5.returncode == 0:
        assert "pulled-ok" in r5.stdout
    docker(dw_daemon, "rmi", name)


def test_pull_progress_json(dw_daemon: DaemonProc, tmp_path: Path, registry: RegistryProc) -> None:
    name = f"{registry.addr}/{unique('pj')}:latest"
    layer = tmp_path / "layer.tar"
    layer.write_bytes(tiny_rootfs(unique("progress")))  # a layer no other test has: it must be downloaded
    _import(dw_daemon, layer, name)
    docker(dw_daemon, "push", name)
    docker(dw_daemon, "rmi", name)
    status, raw = dw_daemon.request("POST", f"/v1.47/images/create?fromImage={name.rsplit(':', 1)[0]}&tag=latest")
    assert status == 200
    msgs = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    statuses = [m.get("status", "") for m in msgs]
    assert statuses[0] == f"Pulling from {name.split('/', 1)[1].rsplit(':', 1)[0]}"
    assert msgs[0]["id"] == "latest"
    for s in ("Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete", "Extracting",
              "Pull complete"):
        assert s in statuses, (s, statuses)
    dl = next(m for m in msgs if m.get("status") == "Downloading")
    assert set(dl["progressDetail"]) == {"current", "total"}
    assert statuses[-2].startswith("Digest: sha256:")
    assert statuses[-1] == f"Status: Downloaded newer image for {name}"
    docker(dw_daemon, "rmi", name)


def test_unknown_tag_is_manifest_unknown(dw_daemon: DaemonProc, registry: RegistryProc) -> None:
    r = docker(dw_daemon, "pull", f"{registry.addr}/nothing/here:nope", check=False)
    assert r.returncode != 0
    assert "manifest unknown" in r.stderr
    status, body = dw_daemon.request("POST", f"/v1.47/images/create?fromImage={registry.addr}/nothing/here&tag=x")
    assert status == 404 and b"manifest unknown" in body


def test_unreachable_registry(dw_daemon: DaemonProc) -> None:
    from tests.support.ports import free_port

    status, body = dw_daemon.request("POST", f"/v1.47/images/create?fromImage=127.0.0.1:{free_port()}/x&tag=1")
    assert 500 <= status < 600
    assert b"connection refused" in body


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_login_push_pull_with_auth(dw_daemon: DaemonProc, busybox_tar: Path, kind: str,
                                   request: pytest.FixtureRequest) -> None:
    reg: RegistryProc = request.getfixturevalue(f"{kind}_registry")
    name = f"{reg.addr}/{unique('au')}/img:v1"
    _import(dw_daemon, busybox_tar, name)
    bad = docker(dw_daemon, "login", "-u", "alice", "--password-stdin", reg.addr, input=b"wrong\n", check=False)
    assert bad.returncode != 0 and ("401" in bad.stderr or "nauthorized" in bad.stderr), bad.stderr
    anon = docker(dw_daemon, "push", name, check=False)
    assert anon.returncode != 0 and "unauthorized" in (anon.stderr + anon.stdout).lower()
    ok = docker(dw_daemon, "login", "-u", "alice", "--password-stdin", reg.addr, input=b"pw-alice\n")
    assert "Login Succeeded" in ok.stdout
    try:
        docker(dw_daemon, "push", name)
        docker(dw_daemon, "rmi", name)
        wrong = base64.urlsafe_b64encode(json.dumps({"username": "alice", "password": "bad",
                                                     "serveraddress": reg.addr}).encode()).decode()
        repo, tag = name.rsplit(":", 1)
        status, body = dw_daemon.request("POST", f"/v1.47/images/create?fromImage={repo}&tag={tag}",
                                         headers={"X-Registry-Auth": wrong})
        assert status == 401, body
        message = json.loads(body)["message"]
        assert "unauthorized" in message and "password" in message, message
        out = docker(dw_daemon, "pull", name).stdout
        assert "Downloaded newer image" in out
    finally:
        docker(dw_daemon, "logout", reg.addr, check=False)
        docker(dw_daemon, "rmi", name, check=False)
