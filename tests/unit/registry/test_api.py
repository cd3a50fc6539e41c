"""Protocol tests: every endpoint of the distribution spec and its error paths."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable

from .conftest import Client, Server, error_code, image_manifest, sha256

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def test_base_endpoint(client: Client) -> None:
    r = client.req("GET", "/v2/")
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_monolithic_post_then_put_and_pull(client: Client) -> None:
    data = os.urandom(3000)
    d = sha256(data)
    r = client.req("POST", "/v2/a/b/blobs/uploads/")
    assert r.status_code == 202
    loc = r.headers["Location"]
    assert r.headers["Docker-Upload-UUID"] in loc
    r = client.req("PUT", f"{loc}?digest={d}", data=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/v2/a/b/blobs/{d}"
    assert r.headers["Docker-Content-Digest"] == d
    r = client.req("HEAD", f"/v2/a/b/blobs/{d}")
    assert r.status_code == 200 and r.headers["Content-Length"] == "3000"
    assert r.headers["Docker-Content-Digest"] == d
    r = client.req("GET", f"/v2/a/b/blobs/{d}")
    assert r.content == data
    r = client.req("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    r = client.req("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=5000-"})
    assert r.status_code == 416


def test_single_post_with_digest_and_wrong_digest(client: Client) -> None:
    data = b"hello world"
    assert client.push_blob("r", data) == sha256(data)
    bad = sha256(b"other")
    r = client.req("POST", f"/v2/r/blobs/uploads/?digest={bad}", data=data)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert client.req("HEAD", f"/v2/r/blobs/{bad}").status_code == 404
    r = client.req("POST", "/v2/r/blobs/uploads/?digest=sha256:zz", data=data)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


def test_chunked_upload_in_order_out_of_order_and_status(client: Client) -> None:
    data = os.urandom(10_000)
    loc = client.req("POST", "/v2/c/blobs/uploads/", headers={"Content-Length": "0"}).headers["Location"]
    r = client.req("PATCH", loc, data=data[:4000], headers={"Content-Range": "0-3999",
                                                           "Content-Type": "application/octet-stream"})
    assert r.status_code == 202 and r.headers["Range"] == "0-3999"
    loc = r.headers["Location"]
    r = client.req("PATCH", loc, data=data[5000:6000], headers={"Content-Range": "5000-5999"})
    assert r.status_code == 416
    r = client.req("GET", loc)
    assert r.status_code == 204 and r.headers["Range"] == "0-3999"
    r = client.req("PATCH", loc, data=data[4000:8000], headers={"Content-Range": "4000-7999"})
    assert r.status_code == 202 and r.headers["Range"] == "0-7999"
    r = client.req("PUT", f"{loc}?digest={sha256(data)}", data=data[8000:],
                   headers={"Content-Range": "8000-9999"})
    assert r.status_code == 201, r.text
    assert client.req("GET", f"/v2/c/blobs/{sha256(data)}").content == data
    assert error_code(client.req("GET", loc)) == "BLOB_UPLOAD_UNKNOWN"


def test_chunked_without_content_range_and_final_put_without_body(client: Client) -> None:
    data = os.urandom(5000)
    loc = client.req("POST", "/v2/c/blobs/uploads/").headers["Location"]
    loc = client.req("PATCH", loc, data=data[:2500]).headers["Location"]
    loc = client.req("PATCH", loc, data=data[2500:]).headers["Location"]
    r = client.req("PUT", f"{loc}?digest={sha256(data)}")
    assert r.status_code == 201, r.text


def test_wrong_digest_on_close_and_missing_digest(client: Client) -> None:
    loc = client.req("POST", "/v2/c/blobs/uploads/").headers["Location"]
    r = client.req("PUT", loc, data=b"abc")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    loc = client.req("POST", "/v2/c/blobs/uploads/").headers["Location"]
    r = client.req("PUT", f"{loc}?digest={sha256(b'xyz')}", data=b"abc")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert client.req("HEAD", f"/v2/c/blobs/{sha256(b'xyz')}").status_code == 404


def test_sha512_blob(client: Client) -> None:
    data = os.urandom(2048)
    d = "sha512:" + hashlib.sha512(data).hexdigest()
    loc = client.req("POST", "/v2/s/blobs/uploads/?digest-algorithm=sha512").headers["Location"]
    r = client.req("PUT", f"{loc}?digest={d}", data=data)
    assert r.status_code == 201, r.text
    r = client.req("GET", f"/v2/s/blobs/{d}")
    assert r.content == data and r.headers["Docker-Content-Digest"] == d
    r = client.req("POST", "/v2/s/blobs/uploads/?digest-algorithm=md5")
    assert r.status_code in (400, 405)


def test_cancel_upload(client: Client) -> None:
    loc = client.req("POST", "/v2/c/blobs/uploads/").headers["Location"]
    client.req("PATCH", loc, data=b"partial")
    assert client.req("DELETE", loc).status_code == 204
    r = client.req("GET", loc)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    r = client.req("PATCH", loc, data=b"x")
    assert r.status_code == 404


def test_cross_repository_mount(client: Client) -> None:
    d = client.push_blob("src/repo", b"shared layer")
    assert client.req("HEAD", f"/v2/dst/blobs/{d}").status_code == 404
    r = client.req("POST", f"/v2/dst/blobs/uploads/?mount={d}&from=src/repo")
    assert r.status_code == 201 and r.headers["Location"] == f"/v2/dst/blobs/{d}"
    assert client.req("GET", f"/v2/dst/blobs/{d}").content == b"shared layer"
    r = client.req("POST", f"/v2/auto/blobs/uploads/?mount={d}")
    assert r.status_code == 201
    missing = sha256(b"nope")
    r = client.req("POST", f"/v2/dst2/blobs/uploads/?mount={missing}&from=src/repo")
    assert r.status_code == 202 and "/blobs/uploads/" in r.headers["Location"]


def test_resume_after_dropped_connection(registry: Server, client: Client) -> None:
    data = os.urandom(300_000)
    loc = client.req("POST", "/v2/resume/blobs/uploads/").headers["Location"]
    sent = 120_000
    with socket.create_connection(("127.0.0.1", registry.port)) as s:
        head = (f"PATCH {loc} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        s.sendall(head + data[:sent])
        time.sleep(0.3)
    deadline = time.time() + 5
    offset = -1
    while time.time() < deadline:
        r = client.req("GET", loc)
        assert r.status_code == 204
        offset = int(r.headers["Range"].split("-")[1]) + 1
        if offset == sent:
            break
        time.sleep(0.1)
    assert offset == sent
    r = client.req("PATCH", loc, data=data[offset:], headers={"Content-Range": f"{offset}-{len(data) - 1}"})
    assert r.status_code == 202
    r = client.req("PUT", f"{loc}?digest={sha256(data)}")
    assert r.status_code == 201, r.text
    assert client.req("GET", f"/v2/resume/blobs/{sha256(data)}").content == data


def test_manifest_push_pull_by_tag_and_digest(client: Client) -> None:
    d, doc = client.push_image("app", "v1")
    for ref in ("v1", d):
        r = client.req("GET", f"/v2/app/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
        assert r.status_code == 200
        assert r.headers["Content-Type"] == OCI_MANIFEST
        assert r.headers["Docker-Content-Digest"] == d
        assert json.loads(r.content) == doc
        h = client.req("HEAD", f"/v2/app/manifests/{ref}")
        assert h.status_code == 200 and h.headers["Content-Length"] == str(len(r.content))
    data = json.dumps(doc).encode()
    r = client.req("PUT", f"/v2/app/manifests/{sha256(b'other')}", data=data,
                   headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


def test_manifest_validation(client: Client) -> None:
    cfg = client.push_blob("v", b"{}")
    missing = sha256(b"missing layer")
    doc = image_manifest(cfg, 2, missing, 13)
    _, r = client.push_manifest("v", "t", doc)
    assert r.status_code == 404 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    r = client.req("PUT", "/v2/v/manifests/t", data=b"{not json", headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"
    r = client.req("PUT", "/v2/v/manifests/t", data=json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}),
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"
    big = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "pad": "x" * (4 * 1024 * 1024)})
    r = client.req("PUT", "/v2/v/manifests/t", data=big, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 413
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{"mediaType": OCI_MANIFEST, "digest": missing, "size": 10}]}
    _, r = client.push_manifest("v", "idx", index)
    assert r.status_code == 404 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    wrong_type = dict(image_manifest(cfg, 2, cfg, 2))
    r = client.req("PUT", "/v2/v/manifests/t", data=json.dumps(wrong_type), headers={"Content-Type": OCI_INDEX})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"


def test_docker_schema2_and_list_with_negotiation(client: Client) -> None:
    cfg = client.push_blob("d", b'{"architecture":"amd64","os":"linux"}')
    layer = client.push_blob("d", b"layer")
    m = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
         "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cfg, "size": 37},
         "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer,
                     "size": 5}]}
    md, r = client.push_manifest("d", "amd64", m)
    assert r.status_code == 201
    lst = {"schemaVersion": 2, "mediaType": DOCKER_LIST,
           "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": md, "size": len(json.dumps(m)),
                          "platform": {"architecture": "amd64", "os": "linux"}}]}
    ld, r = client.push_manifest("d", "multi", lst)
    assert r.status_code == 201, r.text
    r = client.req("GET", "/v2/d/manifests/multi", headers={"Accept": f"{DOCKER_LIST}, {DOCKER_MANIFEST}"})
    assert r.headers["Content-Type"] == DOCKER_LIST and r.headers["Docker-Content-Digest"] == ld
    r = client.req("GET", "/v2/d/manifests/multi", headers={"Accept": DOCKER_MANIFEST})
    assert r.headers["Content-Type"] == DOCKER_MANIFEST and r.headers["Docker-Content-Digest"] == md
    r = client.req("GET", "/v2/d/manifests/amd64", headers={"Accept": OCI_MANIFEST})
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"


def test_unknown_things_are_404_with_codes(client: Client) -> None:
    d = sha256(b"none")
    r = client.req("GET", f"/v2/nothing/blobs/{d}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    r = client.req("GET", f"/v2/nothing/manifests/{d}")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    r = client.req("GET", "/v2/nothing/manifests/latest")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    r = client.req("GET", "/v2/nothing/tags/list")
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"
    r = client.req("GET", "/v2/nothing/blobs/uploads/0f0f0f0f-0000-0000-0000-000000000000")
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    r = client.req("HEAD", f"/v2/nothing/blobs/{d}")
    assert r.status_code == 404 and r.content == b""


def _raw(server: Server, method: str, path: str) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_repository_names_and_tags_validated(registry: Server, client: Client) -> None:
    for name in ("Upper/case", "a/../b", "..", "a//b", "-lead", "a" * 256, "/".join(["abcdefgh"] * 40)):
        status, body = _raw(registry, "GET", f"/v2/{name}/tags/list")
        assert status == 400, name
        assert json.loads(body)["errors"][0]["code"] == "NAME_INVALID"
    status, body = _raw(registry, "GET", "/v2/a/../b/manifests/latest")
    assert status == 400 and b"NAME_INVALID" in body
    d, doc = client.push_image("t", "ok")
    data = json.dumps(doc).encode()
    r = client.req("PUT", "/v2/t/manifests/" + "x" * 129, data=data, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400
    r = client.req("PUT", "/v2/t/manifests/" + "x" * 128, data=data, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201
    r = client.req("PUT", "/v2/t/manifests/.bad", data=data, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400


def test_tags_pagination_exact(client: Client) -> None:
    d, doc = client.push_image("p", "seed")
    data = json.dumps(doc).encode()
    tags = sorted(["seed", "a", "b", "c", "d", "e", "B", "Z1"])
    for t in tags:
        client.req("PUT", f"/v2/p/manifests/{t}", data=data, headers={"Content-Type": OCI_MANIFEST})
    assert client.req("GET", "/v2/p/tags/list").json() == {"name": "p", "tags": tags}
    r = client.req("GET", "/v2/p/tags/list?n=3")
    assert r.json()["tags"] == tags[:3]
    assert r.headers["Link"] == f'</v2/p/tags/list?last={tags[2]}&n=3>; rel="next"'
    got: list[str] = []
    path = "/v2/p/tags/list?n=3"
    while path:
        r = client.req("GET", path)
        got += r.json()["tags"]
        link = r.headers.get("Link")
        path = link[1:link.index(">")] if link else ""
    assert got == tags
    r = client.req("GET", "/v2/p/tags/list?n=0")
    assert r.json()["tags"] == [] and "Link" not in r.headers
    r = client.req("GET", "/v2/p/tags/list?last=c")
    assert r.json()["tags"] == [t for t in tags if t > "c"]
    r = client.req("GET", f"/v2/p/tags/list?n={len(tags)}")
    assert r.json()["tags"] == tags and "Link" not in r.headers
    assert client.req("GET", "/v2/p/tags/list?n=x").status_code == 400


def test_catalog_pagination(client: Client) -> None:
    names = ["cat/a", "cat/b", "cat/c/d", "zeta"]
    for n in names:
        client.push_image(n, "v")
    assert client.req("GET", "/v2/_catalog").json()["repositories"] == names
    r = client.req("GET", "/v2/_catalog?n=2")
    assert r.json()["repositories"] == names[:2]
    assert r.headers["Link"] == '</v2/_catalog?last=cat%2Fb&n=2>; rel="next"'
    r = client.req("GET", "/v2/_catalog?n=2&last=cat/b")
    assert r.json()["repositories"] == names[2:]


def test_referrers(client: Client) -> None:
    subject, sdoc = client.push_image("ref", "v1")
    size = len(json.dumps(sdoc))
    empty = client.push_blob("ref", b"{}")
    arts = []
    for i, atype in enumerate(["application/vnd.example.sbom", "application/vnd.example.sig"]):
        layer = client.push_blob("ref", f"artifact {i}".encode())
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": atype,
               "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
               "layers": [{"mediaType": "text/plain", "digest": layer, "size": len(f"artifact {i}")}],
               "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": size},
               "annotations": {"n": str(i)}}
        d, r = client.push_manifest("ref", sha256(json.dumps(doc).encode()), doc)
        assert r.status_code == 201, r.text
        assert r.headers["OCI-Subject"] == subject
        arts.append((d, atype))
    r = client.req("GET", f"/v2/ref/referrers/{subject}")
    assert r.status_code == 200 and r.headers["Content-Type"] == OCI_INDEX
    got = {m["digest"]: m for m in r.json()["manifests"]}
    assert set(got) == {d for d, _ in arts}
    for d, atype in arts:
        assert got[d]["artifactType"] == atype and got[d]["mediaType"] == OCI_MANIFEST
        assert "n" in got[d]["annotations"]
    r = client.req("GET", f"/v2/ref/referrers/{subject}?artifactType=application/vnd.example.sig")
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in r.json()["manifests"]] == [arts[1][0]]
    r = client.req("GET", f"/v2/unknown/referrers/{subject}")
    assert r.status_code == 200 and r.json()["manifests"] == []
    assert client.req("GET", "/v2/ref/referrers/sha256:bad").status_code == 400
    assert client.req("DELETE", f"/v2/ref/manifests/{arts[0][0]}").status_code == 202
    r = client.req("GET", f"/v2/ref/referrers/{subject}")
    assert [m["digest"] for m in r.json()["manifests"]] == [arts[1][0]]


def test_push_by_digest_with_tags(client: Client) -> None:
    _, doc = client.push_image("pt", "seed")
    data = json.dumps(doc).encode()
    r = client.req("PUT", f"/v2/pt/manifests/{sha256(data)}?tag=1.0&tag=latest", data=data,
                   headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201
    assert "1.0" in r.headers["OCI-Tag"] and "latest" in r.headers["OCI-Tag"]
    assert client.req("GET", "/v2/pt/tags/list").json()["tags"] == ["1.0", "latest", "seed"]


def test_deletes(client: Client) -> None:
    d, doc = client.push_image("del", "v1")
    data = json.dumps(doc).encode()
    client.req("PUT", "/v2/del/manifests/v2", data=data, headers={"Content-Type": OCI_MANIFEST})
    assert client.req("DELETE", "/v2/del/manifests/v1").status_code == 202
    assert client.req("GET", "/v2/del/manifests/v1").status_code == 404
    assert client.req("GET", "/v2/del/manifests/v2").status_code == 200
    assert client.req("DELETE", f"/v2/del/manifests/{d}").status_code == 202
    assert client.req("GET", f"/v2/del/manifests/{d}").status_code == 404
    assert client.req("GET", "/v2/del/manifests/v2").status_code == 404
    r = client.req("DELETE", f"/v2/del/manifests/{d}")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    layer = doc["layers"][0]["digest"]
    assert client.req("DELETE", f"/v2/del/blobs/{layer}").status_code == 202
    r = client.req("GET", f"/v2/del/blobs/{layer}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    assert client.req("DELETE", f"/v2/del/blobs/{layer}").status_code == 404


def test_delete_disabled_and_read_only(start_registry: Callable[..., Server]) -> None:
    s = start_registry(storage={"delete": {"enabled": False}})
    c = Client(s.url)
    d, _ = c.push_image("x", "v1")
    r = c.req("DELETE", f"/v2/x/manifests/{d}")
    assert r.status_code == 405 and error_code(r) == "UNSUPPORTED"
    assert c.req("DELETE", "/v2/x/manifests/v1").status_code == 405
    c.close()
    ro = start_registry(storage={"maintenance": {"readonly": {"enabled": True}}})
    c = Client(ro.url)
    r = c.req("POST", "/v2/x/blobs/uploads/")
    assert r.status_code == 405 and error_code(r) == "UNSUPPORTED"
    assert c.req("GET", "/v2/").status_code == 200
    c.close()


def test_health_metrics_and_conditional_get(client: Client) -> None:
    assert client.req("GET", "/debug/health").status_code == 200
    d, _ = client.push_image("m", "v1")
    r = client.req("GET", f"/v2/m/manifests/{d}", headers={"If-None-Match": f'"{d}"'})
    assert r.status_code == 304
    client.req("GET", "/v2/m/manifests/v1")
    text = client.req("GET", "/metrics").text
    assert 'registry_http_requests_total{route="manifest",method="GET",code="200"}' in text
    assert 'registry_http_request_duration_seconds_bucket{route="blob_upload",le="+Inf"}' in text
    assert "registry_http_request_bytes_total" in text and "registry_http_response_bytes_total" in text


def test_unsupported_method(client: Client) -> None:
    r = client.req("POST", f"/v2/x/manifests/{sha256(b'a')}")
    assert r.status_code == 405 and error_code(r) == "UNSUPPORTED"


def test_final_put_chunk_out_of_order_is_416(client: Client) -> None:
    data = os.urandom(1000)
    loc = client.req("POST", "/v2/o/blobs/uploads/").headers["Location"]
    loc = client.req("PATCH", loc, data=data[:500], headers={"Content-Range": "0-499"}).headers["Location"]
    r = client.req("PUT", f"{loc}?digest={sha256(data)}", data=data[600:], headers={"Content-Range": "600-999"})
    assert r.status_code == 416
    assert r.headers["Range"] == "0-499"
    r = client.req("PUT", f"{loc}?digest={sha256(data)}", data=data[500:], headers={"Content-Range": "500-999"})
    assert r.status_code == 201


def test_upload_ids_are_checked(registry: Server) -> None:
    status, body = _raw(registry, "GET", "/v2/x/blobs/uploads/..")
    assert status in (400, 404)
    status, body = _raw(registry, "GET", "/v2/x/blobs/uploads/not-a-session-id!")
    assert status == 404 and b"BLOB_UPLOAD_UNKNOWN" in body


def test_sha512_manifest(client: Client) -> None:
    _, doc = client.push_image("m512", "seed")
    data = json.dumps(doc).encode()
    d = "sha512:" + hashlib.sha512(data).hexdigest()
    r = client.req("PUT", f"/v2/m512/manifests/{d}", data=data, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == d
    r = client.req("GET", f"/v2/m512/manifests/{d}")
    assert r.status_code == 200 and r.content == data


def test_error_codes_registered_once() -> None:
    import pytest

    from dockwright.registry import errcode

    assert errcode.lookup("BLOB_UNKNOWN") is errcode.BLOB_UNKNOWN
    with pytest.raises(ValueError):
        errcode.register("BLOB_UNKNOWN", "again", 404)
    expected = {"BLOB_UNKNOWN": 404, "BLOB_UPLOAD_UNKNOWN": 404, "MANIFEST_UNKNOWN": 404,
                "MANIFEST_BLOB_UNKNOWN": 404, "NAME_UNKNOWN": 404, "DIGEST_INVALID": 400, "SIZE_INVALID": 400,
                "UNAUTHORIZED": 401, "DENIED": 403, "UNSUPPORTED": 405, "TOOMANYREQUESTS": 429,
                "NAME_INVALID": 400, "MANIFEST_INVALID": 400, "BLOB_UPLOAD_INVALID": 400}
    for code, status in expected.items():
        ec = errcode.lookup(code)
        assert ec is not None and ec.status == status
    body = json.loads(errcode.RegistryError(errcode.BLOB_UNKNOWN, detail={"digest": "x"}).body())
    assert body == {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry",
                                "detail": {"digest": "x"}}]}
