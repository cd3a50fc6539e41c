"""skopeo against a real registry process: copy in and out over every transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .conftest import RegistryProc, skopeo
from .layouts import multi_arch, single_image

NO_TLS_DST = "--dest-tls-verify=false"
NO_TLS_SRC = "--src-tls-verify=false"


def test_copy_in_and_out_every_transport(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    reg = start_proc()
    src = tmp_path / "layout"
    desc = single_image(src, "v1")
    skopeo("copy", NO_TLS_DST, f"oci:{src}:v1", f"docker://{reg.addr}/lib/app:v1")
    # oci out
    out = tmp_path / "out-oci"
    skopeo("copy", NO_TLS_SRC, f"docker://{reg.addr}/lib/app:v1", f"oci:{out}:v1")
    idx = json.loads((out / "index.json").read_text())
    assert idx["manifests"][0]["digest"] == desc["digest"]
    # docker-archive out and back in
    archive = tmp_path / "img.tar"
    skopeo("copy", NO_TLS_SRC, f"docker://{reg.addr}/lib/app:v1", f"docker-archive:{archive}:lib/app:v1")
    skopeo("copy", NO_TLS_DST, f"docker-archive:{archive}", f"docker://{reg.addr}/from/archive:latest")
    # dir out and back in
    d = tmp_path / "dir"
    skopeo("copy", NO_TLS_SRC, f"docker://{reg.addr}/from/archive:latest", f"dir:{d}")
    assert (d / "manifest.json").exists()
    skopeo("copy", NO_TLS_DST, f"dir:{d}", f"docker://{reg.addr}/from/dir:x")
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{reg.addr}/from/dir:x").stdout)
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{reg.addr}/lib/app").stdout)
    assert tags["Tags"] == ["v1"]
    skopeo("copy", NO_TLS_SRC, NO_TLS_DST, f"docker://{reg.addr}/lib/app:v1", f"docker://{reg.addr}/lib/app:v2")
    skopeo("delete", "--tls-verify=false", f"docker://{reg.addr}/lib/app:v2")
    r = skopeo("inspect", "--tls-verify=false", f"docker://{reg.addr}/lib/app:v1", check=False)
    assert r.returncode != 0  # deleting by digest removed the manifest v1 also pointed at
    assert reg.get("/v2/lib/app/tags/list").json()["tags"] == []


def test_multi_arch_index_whole(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    reg = start_proc()
    src = tmp_path / "multi"
    idx = multi_arch(src, "v1")
    skopeo("copy", "--all", NO_TLS_DST, f"oci:{src}:v1", f"docker://{reg.addr}/multi:v1")
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.addr}/multi:v1").stdout)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert {m["platform"]["architecture"] for m in raw["manifests"]} == {"amd64", "arm64"}
    out = tmp_path / "out"
    skopeo("copy", "--all", NO_TLS_SRC, f"docker://{reg.addr}/multi:v1", f"oci:{out}:v1")
    got = json.loads((out / "index.json").read_text())["manifests"][0]
    assert got["digest"] == idx["digest"]
    for m in raw["manifests"]:
        assert (out / "blobs" / "sha256" / m["digest"].split(":")[1]).exists()
    arm = json.loads(skopeo("inspect", "--override-arch", "arm64", "--tls-verify=false",
                            f"docker://{reg.addr}/multi:v1").stdout)
    assert arm["Architecture"] == "arm64"
