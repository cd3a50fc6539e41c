"""Cache specs and the cacheconfig shape, without a registry."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from dockwright.build.cache import remote
from dockwright.errors import InvalidParameter
from dockwright.images.model import LayerRecord
from dockwright.images.unpack import chain_of


def test_parse_spec() -> None:
    assert remote.parse_spec("busybox:latest") is None
    spec = remote.parse_spec("type=registry,ref=127.0.0.1:5000/app:cache,mode=max")
    assert spec is not None and spec.type == "registry" and spec.ref == "127.0.0.1:5000/app:cache"
    assert spec.mode == "max"
    s3 = remote.parse_spec("type=s3,bucket=b,region=us-east-1,prefix=p/")
    assert s3 is not None and s3.type == "s3" and s3.attrs["bucket"] == "b" and s3.mode == "min"
    inline = remote.parse_spec("type=inline")
    assert inline is not None and inline.type == "inline"
    for bad in ("type=gha,url=x", "type=registry", "type=registry,ref=a,mode=all", "type=registry,junk"):
        with pytest.raises(InvalidParameter):
            remote.parse_spec(bad)


def _layers(*diffs: str) -> list[LayerRecord]:
    out, parent = [], ""
    for d in diffs:
        chain = chain_of(parent, d)
        out.append(LayerRecord(chain, d, parent, 10))
        parent = chain
    return out


class _NoDaemon:
    pass


def test_inline_doc_round_trip() -> None:
    d1, d2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    steps = [
        remote.ExportStep("sha256:k1", "sha256:base", {"n": 1}, _layers(d1)),
        remote.ExportStep("sha256:k2", "sha256:k1", {"n": 2}, _layers(d1)),
        remote.ExportStep("sha256:k3", "sha256:k2", {"n": 3}, _layers(d1, d2), alias="sha256:a3"),
    ]
    value = asyncio.run(remote.inline_value(steps))
    doc: dict[str, Any] = json.loads(base64.b64decode(value))
    assert [x["parent"] for x in doc["layers"]] == [-1, 0]
    assert [r["digest"] for r in doc["records"]] == ["sha256:k1", "sha256:k2", "sha256:k3"]
    assert doc["records"][1]["inputs"] == [[{"selector": "", "link": 0}]]
    rc = remote.RemoteCache(_NoDaemon(), None, lambda _: None)
    assert rc.load_inline("img", {remote.INLINE_KEY: value})
    found = rc.lookup("sha256:k3")
    assert found is not None and found[0] == {"n": 3} and [x.diff_id for x in found[1]] == [d1, d2]
    assert found[1][1].chain_id == chain_of(chain_of("", d1), d2)
    alias = rc.lookup_alias("sha256:a3")
    assert alias is not None and alias[0] == "sha256:k3"
    assert rc.lookup("sha256:nope") is None
