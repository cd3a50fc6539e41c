"""Multi-arch indexes pick the platform; the docker SDK's pull, push and login."""

from __future__ import annotations

import json
from pathlib import Path

import docker as docker_sdk
import pytest
import requests

from tests.integration.conftest import api_json, docker
from tests.integration.registry.conftest import RegistryProc
from tests.support.archives import tiny_rootfs
from tests.support.daemon import DaemonProc

from .conftest import unique

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def _import(d: DaemonProc, ref: str, platform: str) -> str:
    repo, tag = ref.rsplit(":", 1)
    status, body = d.request("POST", f"/v1.47/images/create?fromSrc=-&repo={repo}&tag={tag}&platform={platform}",
                             tiny_rootfs(unique(platform)), {"Content-Type": "application/x-tar"})
    assert status == 200, body
    status, info = api_json(d, "GET", f"/v1.47/images/{ref}/json")
    assert status == 200 and isinstance(info, dict)
    return str(info["Id"])


@pytest.mark.parametrize("index_type", ["application/vnd.oci.image.index.v1+json",
                                        "application/vnd.docker.distribution.manifest.list.v2+json"])
def test_index_picks_platform(dw_daemon: DaemonProc, registry: RegistryProc, index_type: str) -> None:
    repo = unique("multi")
    base = f"{registry.addr}/{repo}"
    ids = {}
    entries = []
    for plat in ("linux/amd64", "linux/arm64"):
        tag = plat.replace("/", "-")
        ids[plat] = _import(dw_daemon, f"{base}:{tag}", plat)
        docker(dw_daemon, "push", f"{base}:{tag}")
        r = registry.get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": DOCKER_MANIFEST})
        assert r.status_code == 200
        os_, arch = plat.split("/")
        p = {"os": os_, "architecture": arch}
        if arch == "arm64":
            p["variant"] = "v8"
        entries.append({"mediaType": DOCKER_MANIFEST, "digest": r.headers["Docker-Content-Digest"],
                        "size": len(r.content), "platform": p})
        docker(dw_daemon, "rmi", f"{base}:{tag}")
    index = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": entries}).encode()
    r = requests.put(f"{registry.url}/v2/{repo}/manifests/multi", data=index,
                     headers={"Content-Type": index_type}, timeout=10)
    assert r.status_code == 201, r.text
    index_digest = r.headers["Docker-Content-Digest"]
    out = docker(dw_daemon, "pull", f"{base}:multi").stdout
    assert f"Digest: {index_digest}" in out
    status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{base}:multi/json")
    assert status == 200 and isinstance(info, dict)
    assert info["Id"] == ids["linux/amd64"] and info["Architecture"] == "amd64"
    assert f"{base}@{index_digest}" in info["RepoDigests"]
    docker(dw_daemon, "rmi", f"{base}:multi")
    docker(dw_daemon, "pull", "--platform", "linux/arm64", f"{base}:multi")
    status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{base}:multi/json")
    assert status == 200 and isinstance(info, dict) and info["Id"] == ids["linux/arm64"]
    r2 = docker(dw_daemon, "pull", "--platform", "linux/s390x", f"{base}:multi", check=False)
    assert r2.returncode != 0 and "no matching manifest" in r2.stderr
    status, dist = api_json(dw_daemon, "GET", f"/v1.47/distribution/{base}:multi/json")
    assert status == 200 and isinstance(dist, dict)
    assert dist["Descriptor"]["digest"] == index_digest
    assert {p["architecture"] for p in dist["Platforms"]} == {"amd64", "arm64"}
    docker(dw_daemon, "rmi", f"{base}:multi")


def test_docker_sdk_login_push_pull(dw_daemon: DaemonProc, basic_registry: RegistryProc,
                                    busybox_tar: Path) -> None:
    client = docker_sdk.DockerClient(base_url=dw_daemon.host, version="1.47")
    try:
        with pytest.raises(docker_sdk.errors.APIError) as err:
            client.login("alice", "nope", registry=basic_registry.addr, reauth=True)
        assert err.value.status_code == 401
        res = client.login("alice", "pw-alice", registry=basic_registry.addr, reauth=True)
        assert res["Status"] == "Login Succeeded"
        repo = f"{basic_registry.addr}/{unique('sdk')}"
        status, body = dw_daemon.request("POST", f"/v1.47/images/create?fromSrc=-&repo={repo}&tag=v1",
                                         busybox_tar.read_bytes(), {"Content-Type": "application/x-tar"})
        assert status == 200, body
        lines = list(client.images.push(repo, "v1", stream=True, decode=True))
        aux = [m["aux"] for m in lines if "aux" in m]
        assert aux and aux[-1]["Tag"] == "v1" and aux[-1]["Digest"].startswith("sha256:")
        assert not [m for m in lines if "error" in m]
        client.images.remove(f"{repo}:v1")
        img = client.images.pull(repo, tag="v1")
        assert f"{repo}:v1" in img.tags
        assert img.attrs["RepoDigests"] == [f"{repo}@{aux[-1]['Digest']}"]
        client.images.remove(f"{repo}:v1")
    finally:
        client.close()
