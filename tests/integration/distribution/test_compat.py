"""CNCF Distribution as the registry; cross-repository mounts; zstd and OCI pushes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import api_json, docker
from tests.integration.registry.conftest import RegistryProc
from tests.support.certs import make_tls
from tests.support.cncf import cncf_registry as cncf_registry_at
from tests.support.daemon import DaemonProc

from .conftest import unique


@pytest.fixture
def cncf_registry(tmp_path: Path) -> Iterator[str]:
    with cncf_registry_at(tmp_path) as addr:
        yield addr


def _import(d: DaemonProc, tar: Path, ref: str) -> None:
    repo, tag = ref.rsplit(":", 1)
    status, body = d.request("POST", f"/v1.47/images/create?fromSrc=-&repo={repo}&tag={tag}", tar.read_bytes(),
                             {"Content-Type": "application/x-tar"})
    assert status == 200, body


def test_push_pull_with_cncf_distribution(dw_daemon: DaemonProc, cncf_registry: str, busybox_tar: Path) -> None:
    name = f"{cncf_registry}/{unique('cncf')}/bb:v1"
    _import(dw_daemon, busybox_tar, name)
    out = docker(dw_daemon, "push", name).stdout
    digest = out.split("v1: digest: ")[1].split()[0]
    docker(dw_daemon, "rmi", name)
    out = docker(dw_daemon, "pull", name).stdout
    assert f"Digest: {digest}" in out and "Downloaded newer image" in out
    status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{name}/json")
    assert status == 200 and isinstance(info, dict) and info["RepoDigests"]
    docker(dw_daemon, "rmi", name)


def test_cross_repository_mount(dw_daemon: DaemonProc, registry: RegistryProc, busybox_tar: Path) -> None:
    a = f"{registry.addr}/{unique('src')}:v1"
    b = f"{registry.addr}/{unique('dst')}:v1"
    _import(dw_daemon, busybox_tar, a)
    docker(dw_daemon, "push", a)
    docker(dw_daemon, "tag", a, b)
    out = docker(dw_daemon, "push", b).stdout
    assert f"Mounted from {a.split('/', 1)[1].rsplit(':', 1)[0]}" in out, out
    docker(dw_daemon, "rmi", a, b)


@pytest.mark.parametrize(("query", "layer_type", "manifest_type"), [
    ("compression=zstd", "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.manifest.v1+json"),
    ("oci=1", "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.manifest.v1+json"),
])
def test_push_options(dw_daemon: DaemonProc, registry: RegistryProc, busybox_tar: Path, query: str,
                      layer_type: str, manifest_type: str) -> None:
    repo = f"{registry.addr}/{unique('opt')}"
    _import(dw_daemon, busybox_tar, f"{repo}:v1")
    status, raw = dw_daemon.request("POST", f"/v1.47/images/{repo}/push?tag=v1&{query}",
                                    headers={"X-Registry-Auth": "e30="})
    assert status == 200
    msgs = [json.loads(x) for x in raw.decode().splitlines() if x.strip()]
    assert not [m for m in msgs if "error" in m], msgs
    r = registry.get(f"/v2/{repo.split('/', 1)[1]}/manifests/v1", headers={"Accept": manifest_type})
    assert r.headers["Content-Type"].startswith(manifest_type)
    assert r.json()["layers"][0]["mediaType"] == layer_type
    docker(dw_daemon, "rmi", f"{repo}:v1")
    out = docker(dw_daemon, "pull", f"{repo}:v1").stdout
    assert "Downloaded newer image" in out
    docker(dw_daemon, "rmi", f"{repo}:v1")


def test_loopback_registry_over_tls(dw_daemon: DaemonProc, start_registry: Callable[..., RegistryProc],
                                    busybox_tar: Path, tmp_path: Path) -> None:
    """Loopback is insecure by default, as in Docker: TLS is tried (unverified) before plain HTTP."""
    certs = make_tls(tmp_path / "tls")
    reg = start_registry({"http": {"tls": {"certificate": str(certs["server-cert.pem"]),
                                           "key": str(certs["server-key.pem"])}}})
    assert reg.url.startswith("https://")
    name = f"{reg.addr}/{unique('tls')}:v1"
    _import(dw_daemon, busybox_tar, name)
    docker(dw_daemon, "push", name)
    docker(dw_daemon, "rmi", name)
    out = docker(dw_daemon, "pull", name).stdout
    assert "Downloaded newer image" in out or "Image is up to date" in out
    docker(dw_daemon, "rmi", name)
