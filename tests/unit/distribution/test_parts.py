"""Pure pieces of the registry client: auth parsing, resolver rules, manifests, progress, blobsums."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
from pathlib import Path

import pytest

from dockwright.distribution import manifest as mf
from dockwright.distribution.auth import ANONYMOUS, Credentials, parse_challenges, parse_registry_auth
from dockwright.distribution.progress import bar, detail, status
from dockwright.distribution.pushed import BlobSums, PushedBlob
from dockwright.distribution.resolver import Resolver, is_insecure, login_domain, ssl_context_for
from dockwright.errors import InvalidParameter, NotFound
from dockwright.oci import mediatypes
from dockwright.oci.descriptor import Descriptor, Platform
from dockwright.oci.digest import Digest

D1 = Digest("sha256:" + "a" * 64)
D2 = Digest("sha256:" + "b" * 64)
D3 = Digest("sha256:" + "c" * 64)


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_registry_auth_header() -> None:
    assert parse_registry_auth(None) == (ANONYMOUS, "")
    assert parse_registry_auth("e30=") == (ANONYMOUS, "")
    creds, server = parse_registry_auth(_b64url({"username": "u", "password": "p/+?", "serveraddress": "h:5"}))
    assert creds == Credentials("u", "p/+?") and server == "h:5"
    creds, _ = parse_registry_auth(_b64url({"auth": base64.b64encode(b"x:y:z").decode()}))
    assert (creds.username, creds.password) == ("x", "y:z")
    creds, _ = parse_registry_auth(_b64url({"identitytoken": "tok"}))
    assert creds.identity_token == "tok" and not creds.anonymous
    with pytest.raises(InvalidParameter):
        parse_registry_auth("!!!not-base64")
    with pytest.raises(InvalidParameter):
        parse_registry_auth(_b64url([1, 2]))


def test_challenges() -> None:
    [c] = parse_challenges('Bearer realm="https://auth.example/token",service="registry.example",'
                           'scope="repository:a/b:pull,push"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.example/token", "service": "registry.example",
                        "scope": "repository:a/b:pull,push"}
    [b] = parse_challenges('Basic realm="r"')
    assert b.scheme == "basic" and b.params["realm"] == "r"
    assert parse_challenges("Negotiate")[0].scheme == "negotiate"


def test_insecure_rules() -> None:
    assert is_insecure("127.0.0.1:5000", [])
    assert is_insecure("127.9.9.9", [])
    assert is_insecure("localhost:5000", [])
    assert is_insecure("[::1]:5000", [])
    assert not is_insecure("10.1.2.3:5000", [])
    assert is_insecure("10.1.2.3:5000", ["10.0.0.0/8"])
    assert is_insecure("reg.local:5000", ["reg.local:5000"])
    assert is_insecure("reg.local", ["http://reg.local/"])
    assert not is_insecure("reg.local:5000", ["other:5000"])


def test_resolver_mirrors_and_hub() -> None:
    r = Resolver(mirrors=["https://mirror.example", "http://127.0.0.1:5999/"], certs_dirs=[])
    eps = [*r.mirrors_for("docker.io"), r.endpoint("docker.io")]
    assert [e.base for e in eps] == ["https://mirror.example", "http://127.0.0.1:5999",
                                     "https://registry-1.docker.io"]
    assert eps[0].mirror and not eps[-1].mirror
    assert r.mirrors_for("quay.io") == []
    local = r.candidates("127.0.0.1:5000")
    assert [(e.base, e.verify) for e in local] == [("https://127.0.0.1:5000", False), ("http://127.0.0.1:5000", True)]
    assert local[0].ssl_arg() is False and local[1].ssl_arg() is False
    [hub] = r.candidates("docker.io")
    assert hub.ssl_arg() is True
    assert r.endpoint("quay.io").base == "https://quay.io"
    assert login_domain("https://index.docker.io/v1/") == "docker.io"
    assert login_domain("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"


def test_certs_dir(tmp_path: Path) -> None:
    d = tmp_path / "reg.example:5443"
    d.mkdir()
    key, crt = d / "ca.key", d / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(crt), "-days", "1", "-subj", "/CN=test-ca"], check=True, capture_output=True)
    key.unlink()
    ctx = ssl_context_for("reg.example:5443", [tmp_path])
    assert isinstance(ctx, ssl.SSLContext)
    assert any(c.get("subject") == ((("commonName", "test-ca"),),) for c in ctx.get_ca_certs())
    assert ssl_context_for("other:1", [tmp_path]) is None


def _entry(digest: Digest, arch: str, variant: str = "") -> Descriptor:
    return Descriptor(mediatypes.DOCKER_MANIFEST, digest, 100, platform=Platform("linux", arch, variant))


def test_choose_platform() -> None:
    entries = [_entry(D1, "amd64"), _entry(D2, "arm64", "v8"), _entry(D3, "arm", "v7")]
    assert mf.choose(entries, Platform("linux", "amd64")).digest == D1
    assert mf.choose(entries, mf.parse_platform("linux/arm64")).digest == D2
    assert mf.choose(entries, mf.parse_platform("linux/arm/v7")).digest == D3
    assert mf.choose([_entry(D2, "arm64")], mf.parse_platform("linux/arm64/v8")).digest == D2
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x"):
        mf.choose(entries, mf.parse_platform("linux/s390x"))
    with pytest.raises(InvalidParameter):
        mf.parse_platform("a/b/c/d")
    assert mf.parse_platform("aarch64") == Platform("linux", "arm64", "v8")


def test_manifest_media_types() -> None:
    body = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert mf.media_type_of(body, "") == mediatypes.OCI_INDEX
    m = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST,
                    "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": D1, "size": 3},
                    "layers": [{"mediaType": mediatypes.DOCKER_LAYER_GZIP, "digest": D2, "size": 9}]}).encode()
    assert mf.media_type_of(m, "application/json") == mediatypes.DOCKER_MANIFEST
    parsed = mf.parse_manifest(m, mediatypes.DOCKER_MANIFEST)
    assert parsed.config.digest == D1 and parsed.layers[0].size == 9
    with pytest.raises(InvalidParameter, match="schema 1"):
        mf.media_type_of(json.dumps({"schemaVersion": 1}).encode(), "")
    with pytest.raises(InvalidParameter):
        mf.parse_manifest(b"{}", mediatypes.OCI_MANIFEST)
    built = json.loads(mf.image_manifest_json(mediatypes.OCI_MANIFEST, parsed.config, list(parsed.layers)))
    assert built["schemaVersion"] == 2 and built["layers"][0]["digest"] == D2


def test_progress_shapes() -> None:
    assert status("Waiting", "abc") == {"status": "Waiting", "id": "abc"}
    m = detail("Downloading", "abc", 50, 100)
    assert m["progressDetail"] == {"current": 50, "total": 100}
    assert m["progress"].startswith("[" + "=" * 24 + ">")
    assert bar(100, 100).startswith("[" + "=" * 50 + "]")


def test_blobsums(tmp_path: Path) -> None:
    p = tmp_path / "d" / "blobsums.json"
    s = BlobSums(p)
    assert s.lookup("r", D1) == []
    s.add("r", D1, PushedBlob(D2, mediatypes.DOCKER_LAYER_GZIP, 5, "a/b"))
    s.add("r", D1, PushedBlob(D3, mediatypes.OCI_LAYER_ZSTD, 4, "a/c"))
    s.add("r", D1, PushedBlob(D2, mediatypes.DOCKER_LAYER_GZIP, 5, "a/b"))
    again = BlobSums(p)
    got = again.lookup("r", D1)
    assert [(b.digest, b.repository) for b in got] == [(D2, "a/b"), (D3, "a/c")]
    assert again.lookup("other", D1) == []
    p.write_text("not json")
    assert BlobSums(p).lookup("r", D1) == []
