"""``kill -9`` in the middle of a large load: after a restart nothing half-loaded is listed,
the store check is clean, and the same load succeeds."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import time
from pathlib import Path

from tests.support.daemon import new_daemon


def _big_archive(path: Path, layers: int = 3, mib: int = 48) -> str:
    """A legacy docker-save tarball with ``layers`` random layers of ``mib`` MiB each."""
    diff_ids = []
    layer_tars = []
    for i in range(layers):
        ltar = path.parent / f"layer{i}.tar"
        with tarfile.open(ltar, "w", format=tarfile.PAX_FORMAT) as t:
            ti = tarfile.TarInfo(f"data{i}.bin")
            ti.size = mib << 20
            rnd = io.BytesIO(os.urandom(ti.size))
            t.addfile(ti, rnd)
        h = hashlib.sha256()
        with open(ltar, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        diff_ids.append("sha256:" + h.hexdigest())
        layer_tars.append(ltar)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "created": "2026-01-01T00:00:00Z"}).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["big:crash"],
                            "Layers": [f"l{i}/layer.tar" for i in range(layers)]}]).encode()
    with tarfile.open(path, "w") as t:
        for i, ltar in enumerate(layer_tars):
            t.add(ltar, f"l{i}/layer.tar")
            ltar.unlink()
        for name, data in ((cfg_name, config), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return "sha256:" + hashlib.sha256(config).hexdigest()


def test_kill9_mid_load(tmp_path: Path) -> None:
    d = new_daemon("dw-crash-")
    archive = d.tmp / "big.tar"
    image_id = _big_archive(archive)
    try:
        d.start()
        errors: list[BaseException] = []

        def load() -> None:
            try:
                with open(archive, "rb") as f:
                    d.request("POST", "/v1.47/images/load", f.read())
            except BaseException as exc:  # the daemon dies under it
                errors.append(exc)

        t = threading.Thread(target=load)
        t.start()
        # wait until the daemon is visibly writing, then kill it
        deadline = time.time() + 20
        content = d.data_root / "content"
        while time.time() < deadline:
            if sum(f.stat().st_size for f in content.rglob("*") if f.is_file()) > 40 << 20:
                break
            time.sleep(0.02)
        d.kill9()
        t.join(30)
        d.start()
        status, body = d.request("GET", "/v1.47/images/json?all=1")
        assert status == 200 and json.loads(body) == []
        status, body = d.request("GET", "/v1.47/dockwright/system/check")
        report = json.loads(body)
        assert report["Errors"] == [] and report["Orphans"] == [], report
        status, body = d.request("POST", "/v1.47/images/load", archive.read_bytes())
        assert status == 200, body
        assert b"Loaded image: big:crash" in body
        status, body = d.request("GET", "/v1.47/images/big:crash/json")
        assert json.loads(body)["Id"] == image_id
        status, body = d.request("GET", "/v1.47/dockwright/system/check")
        report = json.loads(body)
        assert report["Errors"] == [] and report["Orphans"] == [], report
    finally:
        d.cleanup()
