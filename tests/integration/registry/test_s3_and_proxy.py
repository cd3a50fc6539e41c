"""The registry on S3 (moto's server), and as a pull-through cache of another registry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import bcrypt
import boto3
import pytest
import requests

from .conftest import RegistryProc, skopeo
from .layouts import multi_arch, single_image


@pytest.mark.parametrize("redirect", [True, False])
def test_s3_storage_push_pull(start_proc: Callable[..., RegistryProc], moto_endpoint: str, tmp_path: Path,
                              redirect: bool) -> None:
    bucket = f"reg-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket=bucket)
    reg = start_proc({"storage": {
        "s3": {"bucket": bucket, "region": "us-east-1", "regionendpoint": moto_endpoint, "accesskey": "test",
               "secretkey": "test", "secure": False, "rootdirectory": "/reg"},
        "delete": {"enabled": True}, "redirect": {"disable": not redirect},
    }})
    src = tmp_path / "multi"
    multi_arch(src, "v1")
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{src}:v1", f"docker://{reg.addr}/s3/multi:v1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.startswith("reg/docker/registry/v2/blobs/sha256/") for k in keys)
    out = tmp_path / "out"
    skopeo("copy", "--all", "--src-tls-verify=false", f"docker://{reg.addr}/s3/multi:v1", f"oci:{out}:v1")
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.addr}/s3/multi:v1").stdout)
    layer = json.loads((out / "blobs/sha256" / raw["manifests"][0]["digest"].split(":")[1]).read_text())
    r = requests.get(f"{reg.url}/v2/s3/multi/blobs/{layer['layers'][0]['digest']}", allow_redirects=False,
                     timeout=5)
    assert r.status_code == (307 if redirect else 200)
    for k in keys:
        s3.delete_object(Bucket=bucket, Key=k)
    s3.delete_bucket(Bucket=bucket)


def test_pull_through_cache(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    ht = tmp_path / "htpasswd"
    ht.write_text(f"mirror:{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}\n")
    upstream = start_proc({"auth": {"htpasswd": {"realm": "up", "path": str(ht)}}})
    src = tmp_path / "img"
    desc = single_image(src, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "mirror:pw", f"oci:{src}:v1",
           f"docker://{upstream.addr}/library/app:v1")
    mirror = start_proc({"proxy": {"remoteurl": upstream.url, "username": "mirror", "password": "pw",
                                   "ttl": "1h"}})
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{mirror.addr}/library/app").stdout)
    assert tags["Tags"] == ["v1"]
    out = tmp_path / "out1"
    skopeo("copy", "--src-tls-verify=false", f"docker://{mirror.addr}/library/app:v1", f"oci:{out}:v1")
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == desc["digest"]
    r = requests.post(f"{mirror.url}/v2/library/app/blobs/uploads/", timeout=5)
    assert r.status_code == 405
    upstream.stop()  # from now on only the cache answers
    out2 = tmp_path / "out2"
    skopeo("copy", "--src-tls-verify=false", f"docker://{mirror.addr}/library/app:v1", f"oci:{out2}:v1")
    skopeo("inspect", "--tls-verify=false", f"docker://{mirror.addr}/library/app@{desc['digest']}")
    r = skopeo("inspect", "--tls-verify=false", f"docker://{mirror.addr}/library/other:v1", check=False)
    assert r.returncode != 0


def test_pull_through_cache_ttl_rechecks_tags(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    upstream = start_proc()
    first = single_image(tmp_path / "one", "v1", files={"a": b"first"})
    second = single_image(tmp_path / "two", "v1", files={"a": b"second"})
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'one'}:v1", f"docker://{upstream.addr}/app:v1")
    mirror = start_proc({"proxy": {"remoteurl": upstream.url, "ttl": "0s"}})

    def digest() -> str:
        out = skopeo("inspect", "--tls-verify=false", f"docker://{mirror.addr}/app:v1").stdout
        return str(json.loads(out)["Digest"])

    assert digest() == first["digest"]
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'two'}:v1", f"docker://{upstream.addr}/app:v1")
    assert digest() == second["digest"]


def test_pull_through_cache_of_a_token_auth_upstream(
    start_proc: Callable[..., RegistryProc], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    kp = tmp_path / "k.pem"
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    ht = tmp_path / "users"
    ht.write_text(f"mirror:{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}\n")
    upstream = start_proc({"auth": {"token": {
        "service": "up", "issuer": "up", "signingkey": str(kp), "htpasswd": str(ht),
        "acl": [{"account": "mirror", "name": "*", "actions": ["pull", "push"]}]}}})
    src = tmp_path / "img"
    desc = single_image(src, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "mirror:pw", f"oci:{src}:v1",
           f"docker://{upstream.addr}/tok/app:v1")
    mirror = start_proc({"proxy": {"remoteurl": upstream.url, "username": "mirror", "password": "pw"}})
    out = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{mirror.addr}/tok/app:v1").stdout)
    assert out["Digest"] == desc["digest"]
    skopeo("copy", "--src-tls-verify=false", f"docker://{mirror.addr}/tok/app:v1", f"oci:{tmp_path / 'o'}:v1")
