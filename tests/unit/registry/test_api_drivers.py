"""The same push, chunked upload, pull and GC flow over the inmemory and S3 (moto) drivers."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dockwright.registry.config import from_dict, make_driver
from dockwright.registry.storage.gc import mark_and_sweep
from tests.support.moto import moto_server

from .conftest import Client, Server, sha256

MiB = 1 << 20


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def _doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    storage: dict[str, Any] = {"delete": {"enabled": True}, "redirect": {"disable": True}}
    if request.param == "inmemory":
        storage["inmemory"] = {}
    else:
        endpoint = request.getfixturevalue("moto")
        bucket = f"api-{uuid.uuid4().hex[:10]}"
        storage["s3"] = {"bucket": bucket, "regionendpoint": endpoint, "accesskey": "test", "secretkey": "test",
                         "region": "us-east-1", "secure": False, "chunksize": 5 * MiB}
        make_driver(from_dict({"storage": storage})).client.create_bucket(Bucket=bucket)
    return {"http": {"addr": "127.0.0.1:0"}, "storage": storage, "log": {"accesslog": {"disabled": True}}}


@pytest.fixture(params=["inmemory", "s3"])
def doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _doc(request)


def test_flow(doc: dict[str, Any], start_registry: Callable[..., Server]) -> None:
    cfg = from_dict(doc)
    s = start_registry(cfg)
    c = Client(s.url)
    big = os.urandom(12 * MiB + 3)
    loc = c.req("POST", "/v2/d/app/blobs/uploads/").headers["Location"]
    for off in range(0, len(big), 5 * MiB):
        chunk = big[off:off + 5 * MiB]
        r = c.req("PATCH", loc, data=chunk, headers={"Content-Range": f"{off}-{off + len(chunk) - 1}"})
        assert r.status_code == 202, r.text
        loc = r.headers["Location"]
    assert c.req("PUT", f"{loc}?digest={sha256(big)}").status_code == 201
    r = c.req("GET", f"/v2/d/app/blobs/{sha256(big)}", headers={"Range": "bytes=10-"})
    assert r.status_code == 206 and r.content == big[10:]
    d, doc_ = c.push_image("d/app", "v1")
    r = c.req("GET", "/v2/d/app/manifests/v1")
    assert r.status_code == 200 and json.loads(r.content) == doc_
    assert c.req("POST", f"/v2/d/other/blobs/uploads/?mount={sha256(big)}&from=d/app").status_code == 201
    assert c.req("GET", "/v2/_catalog").json()["repositories"] == ["d/app", "d/other"]
    if cfg.storage_driver == "s3":  # state outlives the server: GC sees it
        stats = mark_and_sweep(make_driver(cfg), grace=0)
        assert stats.blobs == [sha256(big)]
        assert c.req("GET", f"/v2/d/app/blobs/{sha256(big)}").status_code == 404
        assert c.req("GET", f"/v2/d/app/manifests/{d}").status_code == 200
        drv = make_driver(cfg)
        for p in drv.list("/"):
            drv.delete(p)
        drv.client.delete_bucket(Bucket=cfg.storage_params["bucket"])
    c.close()
