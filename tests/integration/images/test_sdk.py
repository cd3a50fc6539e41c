"""The docker Python SDK against our daemon, and response bodies against the v1.47 schemas."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import docker
import pytest

from tests.support.daemon import DaemonProc
from tests.support.schemas import validate_definition, validate_response


def test_sdk_image_workflow(client: docker.DockerClient, busybox_image: str, tmp_path: Path) -> None:
    img = client.images.get(busybox_image)
    assert img.id.startswith("sha256:") and "busybox:latest" in img.tags
    assert img.tag("sdk-img", "v1")
    assert any("sdk-img:v1" in i.tags for i in client.images.list())
    assert [i.id for i in client.images.list(name="sdk-img")] == [img.id]
    hist = img.history()
    assert hist[0]["Id"] == img.id and hist[0]["Size"] > 0
    data = b"".join(img.save(named=True))
    assert len(data) > 1_000_000
    client.images.remove("sdk-img:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("sdk-img:v1")
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [img.id]
    client.images.remove("sdk-img:v1") if any("sdk-img:v1" in i.tags for i in client.images.list()) else None


def test_sdk_info_df_prune(client: docker.DockerClient, dw_daemon: DaemonProc, busybox_tar: Path) -> None:
    info = client.info()
    assert info["Driver"] == "overlay2" and info["DockerRootDir"] == str(dw_daemon.data_root)
    assert info["OSType"] == "linux" and info["NCPU"] >= 1
    df = client.df()
    assert set(df) >= {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
    image_id = client.api.import_image(src=str(busybox_tar), changes=["ENV SDK_DANGLING=1"])
    dangling_id = json.loads(image_id.strip().splitlines()[-1])["status"] if isinstance(image_id, str) else None
    result = client.images.prune(filters={"dangling": True})
    assert dangling_id is None or {"Deleted": dangling_id} in (result["ImagesDeleted"] or [])
    assert isinstance(result["SpaceReclaimed"], int)


def test_sdk_events(client: docker.DockerClient, busybox_image: str) -> None:
    got: list[dict[str, object]] = []
    since = time.time()

    def tag_later() -> None:
        time.sleep(0.3)
        client.images.get(busybox_image).tag("sdk-events", "x")

    t = threading.Thread(target=tag_later)
    t.start()
    stream = client.events(decode=True, filters={"type": "image", "event": "tag"}, since=since,
                           until=since + 3)
    for ev in stream:
        got.append(ev)
    t.join()
    assert any(e["Actor"]["Attributes"]["name"] == "sdk-events:x" for e in got)  # type: ignore[index]
    client.images.remove("sdk-events:x")


def test_bodies_validate_against_schemas(dw_daemon: DaemonProc, busybox_image: str) -> None:
    def get(path: str) -> object:
        status, body = dw_daemon.request("GET", path)
        assert status == 200, body
        return json.loads(body)

    images = get("/v1.47/images/json")
    validate_response(images, "/images/json")
    assert images and isinstance(images, list)
    inspect = get(f"/v1.47/images/{busybox_image}/json")
    validate_definition(inspect, "ImageInspect")
    validate_response(get(f"/v1.47/images/{busybox_image}/history"), "/images/{name}/history")
    df = get("/v1.47/system/df")
    validate_response(df, "/system/df")
    validate_definition(get("/v1.47/info"), "SystemInfo")
    validate_definition(get("/v1.47/version"), "SystemVersion")
    status, body = dw_daemon.request("POST", "/v1.47/images/prune")
    validate_response(json.loads(body), "/images/prune", "post")


def test_version_prefixes_and_ping(dw_daemon: DaemonProc) -> None:
    for prefix in ("", "/v1.24", "/v1.41", "/v1.47"):
        status, body = dw_daemon.request("GET", f"{prefix}/_ping")
        assert (status, body) == (200, b"OK")
    status, body = dw_daemon.request("GET", "/v1.99/version")
    assert status == 400 and b"too new" in body
    status, body = dw_daemon.request("GET", "/v1.12/version")
    assert status == 400 and b"too old" in body
    status, body = dw_daemon.request("GET", "/v1.47/nope")
    assert status == 404 and json.loads(body) == {"message": "page not found"}
    import http.client
    import socket

    conn = http.client.HTTPConnection("localhost")
    s = socket.socket(socket.AF_UNIX)
    s.connect(dw_daemon.socket)
    conn.sock = s
    conn.request("HEAD", "/_ping")
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("API-Version") == "1.47" and r.getheader("OSType") == "linux"
    assert r.getheader("Builder-Version") == "1"
    conn.close()
    status, body = dw_daemon.request("POST", "/v1.47/swarm/leave")
    assert status == 503 and b"not a swarm manager" in body
    _ = io
