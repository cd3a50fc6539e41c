"""kill -9 in the middle of a chunked upload: nothing becomes visible, a retry succeeds, GC cleans up."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from .conftest import RegistryProc, skopeo

MiB = 1 << 20


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob_files(root: Path) -> set[str]:
    base = root / "docker/registry/v2/blobs"
    return {f"{p.parent.parent.parent.name}:{p.parent.name}" for p in base.rglob("data")} if base.exists() else set()


def _push(url: str, repo: str, data: bytes) -> str:
    d = _sha(data)
    r = requests.post(f"{url}/v2/{repo}/blobs/uploads/?digest={d}", data=data, timeout=30)
    assert r.status_code == 201, r.text
    return d


def test_kill9_during_chunked_upload_then_retry_and_gc(
    start_proc: Callable[..., RegistryProc], tmp_path: Path
) -> None:
    reg = start_proc({"storage": {"delete": {"enabled": True}}})
    big = os.urandom(40 * MiB)
    digest = _sha(big)
    r = requests.post(f"{reg.url}/v2/crash/blobs/uploads/", timeout=10)
    loc = r.headers["Location"]
    stale_id = r.headers["Docker-Upload-UUID"]
    r = requests.patch(f"{reg.url}{loc}", data=big[:16 * MiB], headers={"Content-Range": f"0-{16 * MiB - 1}"},
                       timeout=30)
    assert r.status_code == 202
    halfway = threading.Event()
    killed = threading.Event()

    def body() -> Iterator[bytes]:
        for i in range(16, 40):
            yield big[i * MiB:(i + 1) * MiB]
            if i == 28:
                halfway.set()
                killed.wait(20)

    errors: list[BaseException] = []

    def send() -> None:
        try:
            requests.patch(f"{reg.url}{loc}", data=body(), timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    t = threading.Thread(target=send)
    t.start()
    assert halfway.wait(20)
    data_file = reg.root / f"docker/registry/v2/repositories/crash/_uploads/{stale_id}/data"
    deadline = time.time() + 10
    while time.time() < deadline and data_file.stat().st_size <= 16 * MiB:
        time.sleep(0.05)
    reg.kill9()
    killed.set()
    t.join(30)
    assert errors, "the in-flight PATCH should have failed when the server died"
    assert digest not in _blob_files(reg.root)
    reg.start()
    assert requests.head(f"{reg.url}/v2/crash/blobs/{digest}", timeout=5).status_code == 404
    # the client starts over with a fresh session, in chunks, and succeeds
    r = requests.post(f"{reg.url}/v2/crash/blobs/uploads/", timeout=10)
    loc = r.headers["Location"]
    for off in range(0, len(big), 16 * MiB):
        chunk = big[off:off + 16 * MiB]
        r = requests.patch(f"{reg.url}{loc}", data=chunk,
                           headers={"Content-Range": f"{off}-{off + len(chunk) - 1}"}, timeout=30)
        assert r.status_code == 202, r.text
        loc = r.headers["Location"]
    r = requests.put(f"{reg.url}{loc}?digest={digest}", timeout=30)
    assert r.status_code == 201, r.text
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers",
                                                                             "diff_ids": [digest]}}).encode()
    cfg = _push(reg.url, "crash", config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(big)}],
    }).encode()
    r = requests.put(f"{reg.url}/v2/crash/manifests/v1", data=manifest,
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=10)
    assert r.status_code == 201, r.text
    orphan = _push(reg.url, "crash", b"nobody references me")
    before = _blob_files(reg.root)
    out = reg.gc("--grace-period", "0s")
    assert f"deleting blob {orphan}" in out.stdout
    assert f"deleting stale upload {stale_id}" in out.stdout
    assert _blob_files(reg.root) == before - {orphan}
    assert not (reg.root / f"docker/registry/v2/repositories/crash/_uploads/{stale_id}").exists()
    skopeo("copy", "--src-tls-verify=false", f"docker://{reg.addr}/crash:v1", f"oci:{tmp_path / 'out'}:v1")
    assert any(p.stat().st_size >= len(big) // 2 for p in (tmp_path / "out/blobs/sha256").iterdir())


def test_gc_dry_run_and_delete_untagged_cli(start_proc: Callable[..., RegistryProc]) -> None:
    reg = start_proc({"storage": {"delete": {"enabled": True}}})
    orphan = _push(reg.url, "dry", b"orphan")
    out = reg.gc("--dry-run", "--grace-period", "0s", "--delete-untagged")
    assert f"would delete blob {orphan}" in out.stdout
    assert orphan in _blob_files(reg.root)
