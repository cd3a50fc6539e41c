"""Bad input of every kind: a clear error with the right status, nothing half-stored,
nothing written outside the data root, and the daemon still answering."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProc


def _tar(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            if isinstance(e, tuple):
                tar.addfile(e[0], io.BytesIO(e[1]))
            else:
                tar.addfile(e)
    return buf.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    return ti, data


def _link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    return ti


def _state(d: DaemonProc) -> tuple[list[str], dict[str, object]]:
    status, body = d.request("GET", "/v1.47/images/json?all=1")
    assert status == 200
    ids = sorted(i["Id"] for i in json.loads(body))
    status, body = d.request("GET", "/v1.47/dockwright/system/check")
    assert status == 200
    return ids, json.loads(body)


def _import(d: DaemonProc, data: bytes, repo: str = "") -> tuple[int, dict[str, object]]:
    q = f"&repo={repo}" if repo else ""
    status, body = d.request("POST", f"/v1.47/images/create?fromSrc=-{q}", data)
    try:
        return status, json.loads(body.splitlines()[0])
    except (ValueError, IndexError):
        return status, {"raw": body.decode(errors="replace")}


@pytest.fixture
def outside() -> Path:
    p = Path("/tmp") / f"dw-escape-{uuid.uuid4().hex}"
    yield p
    if p.exists() or p.is_symlink():
        p.unlink()


def test_malicious_layers_are_refused(dw_daemon: DaemonProc, busybox_image: str, outside: Path) -> None:
    before = _state(dw_daemon)
    cases = {
        "dotdot": _tar([_file("../../../../../.." + str(outside), b"pwned")]),
        "dotdot-inner": _tar([_file("a/../../../../../../.." + str(outside), b"pwned")]),
        "symlink-out": _tar([_link("evil", str(outside.parent)), _file("evil/" + outside.name, b"pwned")]),
        "symlink-rel-out": _tar([_link("evil", "../../../../../../../../tmp"), _file("evil/" + outside.name, b"x")]),
        "hardlink-out": _tar([_link("evil", "../../../../../../../etc/passwd", hard=True)]),
    }
    for name, data in cases.items():
        status, body = _import(dw_daemon, data, repo=f"bad-{name}")
        assert status == 400, (name, status, body)
        assert "message" in body and body["message"], (name, body)
        assert not outside.exists(), name
    assert not (Path("/etc") / "pwned").exists()
    after = _state(dw_daemon)
    assert after[0] == before[0]
    assert after[1]["Errors"] == [] and after[1]["Orphans"] == []


def test_absolute_paths_stay_inside(dw_daemon: DaemonProc, outside: Path) -> None:
    """Docker strips the leading slash of absolute member names: they land inside the layer."""
    status, body = _import(dw_daemon, _tar([_file(str(outside), b"inside")]), repo="abs-path")
    assert not outside.exists()
    if status == 200:
        status, raw = dw_daemon.request("DELETE", "/v1.47/images/abs-path")
        assert status == 200
    else:
        assert status == 400, body


def test_corrupt_and_truncated_archives(dw_daemon: DaemonProc, busybox_image: str) -> None:
    before = _state(dw_daemon)
    status, good = dw_daemon.request("GET", f"/v1.47/images/{busybox_image}/get")
    assert status == 200
    for name, data in {
        "garbage": os.urandom(5000),
        "truncated": good[: len(good) // 2],
        "empty-tar": _tar([]),
        "no-manifest": _tar([_file("hello.txt", b"hi")]),
        "bad-manifest": _tar([_file("manifest.json", b"{not json")]),
        "missing-layer": _tar([_file("manifest.json", json.dumps(
            [{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["nope/layer.tar"]}]).encode()),
            _file("c.json", b'{"rootfs":{"type":"layers","diff_ids":["sha256:' + b"0" * 64 + b'"]}}')]),
    }.items():
        status, body = dw_daemon.request("POST", "/v1.47/images/load", data)
        # dockerd answers 200 and reports the failure in the stream (the SDK's ImageLoadError)
        assert status == 200, (name, status, body)
        messages = [json.loads(line) for line in body.splitlines()]
        assert messages[-1]["error"] and messages[-1]["errorDetail"]["message"] == messages[-1]["error"], name
    for name, data in {"garbage": os.urandom(5000), "truncated": good[:700]}.items():
        status, body = _import(dw_daemon, data, repo="bad-import")
        assert status == 400, (name, status, body)
    after = _state(dw_daemon)
    assert after[0] == before[0]
    assert after[1]["Errors"] == [] and after[1]["Orphans"] == []


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/v1.47/images/no-such-image:1/json", 404, "No such image: no-such-image:1"),
        ("GET", "/v1.47/images/no-such-image/history", 404, "No such image: no-such-image:latest"),
        ("DELETE", "/v1.47/images/no-such-image", 404, "No such image: no-such-image:latest"),
        ("GET", "/v1.47/images/Busybox/json", 400, "must be lowercase"),
        ("POST", "/v1.47/images/busybox/tag?repo=UPPER&tag=x", 400, "must be lowercase"),
        ("POST", "/v1.47/images/busybox/tag?repo=ok&tag=" + "x" * 200, 400, "invalid tag format"),
        ("POST", "/v1.47/images/busybox/tag?repo=" + "a" * 300, 400, "255"),
        ("GET", "/v1.47/images/busybox@sha256:zz/json", 400, "invalid reference format"),
        ("GET", "/v1.47/images/json?filters=notjson", 400, "invalid filters"),
        ("GET", "/v1.47/images/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D", 400, "invalid filter 'bogus'"),
        ("GET", "/v1.47/images/json?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D", 400, "dangling"),
        ("POST", "/v1.47/images/create", 400, "fromSrc or fromImage"),
        ("POST", "/v1.47/images/create?fromSrc=-&changes=BOGUS%20x", 400, "not a valid change command"),
        ("GET", "/v1.47/system/df?type=bogus", 400, "invalid type"),
    ],
)
def test_bad_requests(dw_daemon: DaemonProc, busybox_image: str, method: str, path: str, status: int,
                      message: str) -> None:
    got, body = dw_daemon.request(method, path, b"" if method == "POST" else None)
    assert got == status, body
    assert message in json.loads(body)["message"]
    assert dw_daemon.request("GET", "/_ping") == (200, b"OK")
