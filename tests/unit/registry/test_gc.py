"""GC: mark from tags (or every revision) and referrers, sweep the rest, honour the grace period."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from dockwright.registry.storage.driver.filesystem import FilesystemDriver
from dockwright.registry.storage.gc import mark_and_sweep

from .conftest import Client, Server, config, sha256

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _blobs(root: Path) -> set[str]:
    base = root / "docker/registry/v2/blobs"
    return {f"{p.parent.parent.parent.name}:{p.parent.name}" for p in base.rglob("data")} if base.exists() else set()


def _setup(start_registry: Callable[..., Server], root: Path) -> tuple[Client, dict[str, str]]:
    s = start_registry(config(root))
    c = Client(s.url)
    ids: dict[str, str] = {}
    ids["tagged"], tdoc = c.push_image("g", "v1", layer=b"tagged layer")
    ids["tagged_layer"] = tdoc["layers"][0]["digest"]
    ids["untagged"], udoc = c.push_image("g", "tmp", layer=b"untagged layer")
    ids["untagged_layer"] = udoc["layers"][0]["digest"]
    ids["untagged_config"] = udoc["config"]["digest"]
    assert c.req("DELETE", "/v2/g/manifests/tmp").status_code == 202
    ids["orphan"] = c.push_blob("g", b"orphan blob")
    child, cdoc = c.push_image("g", "child-tmp", layer=b"child layer")
    ids["child"], ids["child_layer"] = child, cdoc["layers"][0]["digest"]
    idx = {"schemaVersion": 2, "mediaType": OCI_INDEX,
           "manifests": [{"mediaType": OCI_MANIFEST, "digest": child, "size": len(json.dumps(cdoc))}]}
    ids["index"], r = c.push_manifest("g", "multi", idx)
    assert r.status_code == 201
    c.req("DELETE", "/v2/g/manifests/child-tmp")
    empty = c.push_blob("g", b"{}")
    sig_layer = c.push_blob("g", b"signature")
    ref = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x-sig",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
           "layers": [{"mediaType": "text/plain", "digest": sig_layer, "size": 9}],
           "subject": {"mediaType": OCI_MANIFEST, "digest": ids["tagged"], "size": len(json.dumps(tdoc))}}
    ids["referrer"], r = c.push_manifest("g", sha256(json.dumps(ref).encode()), ref)
    assert r.status_code == 201
    ids["sig_layer"] = sig_layer
    c.req("POST", "/v2/g/blobs/uploads/")
    return c, ids


def test_gc_keeps_every_revision_by_default(start_registry: Callable[..., Server], tmp_path: Path) -> None:
    root = tmp_path / "r"
    c, ids = _setup(start_registry, root)
    before = _blobs(root)
    dry = mark_and_sweep(FilesystemDriver(str(root)), dry_run=True, grace=0)
    assert dry.blobs == [ids["orphan"]] and len(dry.uploads) == 1
    assert _blobs(root) == before
    stats = mark_and_sweep(FilesystemDriver(str(root)), grace=0)
    assert stats.blobs == [ids["orphan"]]
    assert _blobs(root) == before - {ids["orphan"]}
    assert not list((root / "docker/registry/v2/repositories/g/_uploads").glob("*"))
    assert c.req("GET", f"/v2/g/manifests/{ids['untagged']}").status_code == 200
    assert c.req("GET", f"/v2/g/blobs/{ids['orphan']}").status_code == 404
    c.close()


def test_gc_delete_untagged_keeps_referrers_and_index_children(
    start_registry: Callable[..., Server], tmp_path: Path
) -> None:
    root = tmp_path / "r"
    c, ids = _setup(start_registry, root)
    stats = mark_and_sweep(FilesystemDriver(str(root)), delete_untagged=True, grace=0)
    assert {d for _, d in stats.manifests} == {ids["untagged"]}
    gone = set(stats.blobs)
    assert gone == {ids["orphan"], ids["untagged"], ids["untagged_layer"], ids["untagged_config"]}
    for keep in ("tagged", "tagged_layer", "child", "child_layer", "index", "referrer", "sig_layer"):
        assert ids[keep] in _blobs(root), keep
    assert c.req("GET", f"/v2/g/manifests/{ids['untagged']}").status_code == 404
    assert c.req("GET", "/v2/g/manifests/multi").status_code == 200
    r = c.req("GET", f"/v2/g/referrers/{ids['tagged']}")
    assert [m["digest"] for m in r.json()["manifests"]] == [ids["referrer"]]
    c.close()


def test_gc_grace_period_keeps_young_blobs_and_uploads(
    start_registry: Callable[..., Server], tmp_path: Path
) -> None:
    root = tmp_path / "r"
    c, ids = _setup(start_registry, root)
    stats = mark_and_sweep(FilesystemDriver(str(root)), grace=3600)
    assert stats.blobs == [] and stats.uploads == []
    stats = mark_and_sweep(FilesystemDriver(str(root)), grace=60, now=time.time() + 120)
    assert stats.blobs == [ids["orphan"]] and len(stats.uploads) == 1
    c.close()
