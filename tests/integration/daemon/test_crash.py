"""``kill -9`` in the middle of a large load: after a restart nothing half-loaded is listed,
the store check is clean, and the same load succeeds."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from tests.support.archives import big_archive
from tests.support.daemon import new_daemon


def test_kill9_mid_load(tmp_path: Path) -> None:
    d = new_daemon("dw-crash-")
    archive = d.tmp / "big.tar"
    image_id = big_archive(archive)
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
