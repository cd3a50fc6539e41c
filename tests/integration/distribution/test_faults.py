"""Pull under faults: dropped connections resume, corrupt blobs are refused, kill -9 leaves nothing."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import api_json, docker
from tests.integration.registry.conftest import RegistryProc
from tests.support.archives import big_archive
from tests.support.daemon import DaemonProc, new_daemon

from .conftest import unique
from .proxies import DropProxy


def _load_big(d: DaemonProc, tmp: Path, ref: str, mib: int = 4, layers: int = 2) -> str:
    arc = tmp / f"{unique('arc')}.tar"
    image_id = big_archive(arc, layers=layers, mib=mib, tag=ref)
    status, body = d.request("POST", "/v1.47/images/load?quiet=1", arc.read_bytes(),
                             {"Content-Type": "application/x-tar"})
    arc.unlink()
    assert status == 200, body
    return image_id


def _clean(d: DaemonProc) -> dict[str, object]:
    d.request("POST", "/v1.47/dockwright/system/check?remove=1")
    status, report = api_json(d, "GET", "/v1.47/dockwright/system/check")
    assert status == 200 and isinstance(report, dict)
    return report


def test_dropped_connection_resumes_with_range(dw_daemon: DaemonProc, registry: RegistryProc,
                                               tmp_path: Path) -> None:
    repo = unique("drop")
    image_id = _load_big(dw_daemon, tmp_path, f"{registry.addr}/{repo}:v1")
    docker(dw_daemon, "push", f"{registry.addr}/{repo}:v1")
    docker(dw_daemon, "rmi", f"{registry.addr}/{repo}:v1")
    proxy = DropProxy(("127.0.0.1", registry.port), drop_after=1 << 20, drops=2)
    try:
        ref = f"{proxy.addr}/{repo}:v1"
        docker(dw_daemon, "pull", ref)
        assert proxy.dropped == 2
        assert proxy.range_requests() >= 1
        status, info = api_json(dw_daemon, "GET", f"/v1.47/images/{ref}/json")
        assert status == 200 and isinstance(info, dict) and info["Id"] == image_id
    finally:
        proxy.close()
        docker(dw_daemon, "rmi", f"{proxy.addr}/{repo}:v1", check=False)


def test_push_retries_after_a_dropped_upload(dw_daemon: DaemonProc, registry: RegistryProc,
                                             tmp_path: Path) -> None:
    proxy = DropProxy(("127.0.0.1", registry.port), drop_after=1 << 20, drops=1, upstream=True)
    ref = f"{proxy.addr}/{unique('upl')}:v1"
    try:
        _load_big(dw_daemon, tmp_path, ref, mib=3, layers=1)
        out = docker(dw_daemon, "push", ref).stdout
        assert proxy.dropped == 1
        assert "Retrying in 1 second" in out and "v1: digest: sha256:" in out
        docker(dw_daemon, "rmi", ref)
        docker(dw_daemon, "pull", ref)
    finally:
        proxy.close()
        docker(dw_daemon, "rmi", ref, check=False)


def test_corrupt_blob_is_refused_and_nothing_stays(dw_daemon: DaemonProc, registry: RegistryProc,
                                                   tmp_path: Path) -> None:
    repo = unique("bad")
    ref = f"{registry.addr}/{repo}:v1"
    _load_big(dw_daemon, tmp_path, ref, mib=2, layers=2)
    docker(dw_daemon, "push", ref)
    docker(dw_daemon, "rmi", ref)
    blobs = sorted((p for p in registry.root.rglob("data") if p.stat().st_size > (1 << 20)),
                   key=lambda p: p.stat().st_size)
    assert blobs
    victim = blobs[-1]
    raw = bytearray(victim.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 64] = bytes(b ^ 0xFF for b in raw[mid:mid + 64])
    victim.chmod(0o644)
    victim.write_bytes(bytes(raw))
    r = docker(dw_daemon, "pull", ref, check=False)
    assert r.returncode != 0
    assert "verification failed" in r.stderr or "digest" in r.stderr, r.stderr + dw_daemon.log()
    status, _ = dw_daemon.request("GET", f"/v1.47/images/{ref}/json")
    assert status == 404
    report = _clean(dw_daemon)
    assert report["Errors"] == [] and report["Orphans"] == [], report


@pytest.fixture
def own_daemon() -> Iterator[DaemonProc]:
    d = new_daemon(prefix="dw-dist-kill-")
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


def test_kill9_mid_pull_then_pull_again(own_daemon: DaemonProc, registry: RegistryProc, tmp_path: Path) -> None:
    d = own_daemon
    repo = unique("k9")
    ref = f"{registry.addr}/{repo}:v1"
    _load_big(d, tmp_path, ref, mib=24, layers=3)
    docker(d, "push", ref)
    docker(d, "rmi", ref)
    proc = subprocess.Popen(["docker", "pull", ref], env=d.env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    seen = threading.Event()

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if b"Downloading" in line or b"Pull complete" in line:
                seen.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    assert seen.wait(60)
    d.kill9()
    proc.wait(30)
    d.start()
    status, imgs = api_json(d, "GET", "/v1.47/images/json")
    assert status == 200 and isinstance(imgs, list)
    assert not any(ref in (i.get("RepoTags") or []) for i in imgs)
    report = _clean(d)
    assert report["Errors"] == [], report
    out = docker(d, "pull", ref).stdout
    assert "Downloaded newer image" in out
    report = _clean(d)
    assert report["Errors"] == [] and report["Orphans"] == [], report
