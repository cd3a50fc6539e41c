"""Auth and TLS: anonymous, htpasswd, Docker token flow (built-in and external issuer)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt
import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .conftest import Client, Server, error_code


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}" for u, p in users.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_key(path: Path, key: Any) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def self_signed(key: Any, cn: str = "127.0.0.1") -> x509.Certificate:
    import ipaddress

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_anonymous_is_open(client: Client) -> None:
    client.push_image("open", "v1")


def test_htpasswd(start_registry: Callable[..., Server], tmp_path: Path) -> None:
    ht = write_htpasswd(tmp_path / "htpasswd", {"alice": "s3cret", "bob": "hunter2"})
    s = start_registry(auth={"htpasswd": {"realm": "test-realm", "path": str(ht)}})
    anon = Client(s.url)
    r = anon.req("POST", "/v2/x/blobs/uploads/")
    assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"
    assert r.headers["WWW-Authenticate"] == 'Basic realm="test-realm"'
    assert anon.req("GET", "/v2/").status_code == 401
    alice = Client(s.url, auth=("alice", "s3cret"))
    d, _ = alice.push_image("x", "v1")
    bob = Client(s.url, auth=("bob", "hunter2"))
    assert bob.req("GET", f"/v2/x/manifests/{d}").status_code == 200
    wrong = Client(s.url, auth=("bob", "wrong"))
    assert wrong.req("GET", f"/v2/x/manifests/{d}").status_code == 401
    for c in (anon, alice, bob, wrong):
        c.close()


@pytest.fixture
def token_registry(start_registry: Callable[..., Server], tmp_path: Path) -> tuple[Server, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ht = write_htpasswd(tmp_path / "users", {"alice": "pw-a", "bob": "pw-b"})
    s = start_registry(auth={"token": {
        "service": "test-registry", "issuer": "test-issuer", "signingkey": str(write_key(tmp_path / "k.pem", key)),
        "htpasswd": str(ht), "expiration": "5m",
        "acl": [
            {"account": "alice", "name": "a/*", "actions": ["pull", "push", "delete"]},
            {"account": "*", "name": "*", "actions": ["pull"]},
        ],
    }})
    return s, key


def _challenge(r: requests.Response) -> dict[str, str]:
    import re

    scheme, _, rest = r.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict(re.findall(r'(\w+)="([^"]*)"', rest))


def _token(realm: str, service: str, scope: str, auth: tuple[str, str] | None) -> str:
    r = requests.get(realm, params={"service": service, "scope": scope}, auth=auth, timeout=5)
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def test_token_flow_and_scopes(token_registry: tuple[Server, Any]) -> None:
    s, key = token_registry
    anon = Client(s.url)
    r = anon.req("POST", "/v2/a/app/blobs/uploads/")
    assert r.status_code == 401
    ch = _challenge(r)
    assert ch["realm"] == f"{s.url}/auth/token" and ch["service"] == "test-registry"
    assert ch["scope"] == "repository:a/app:pull,push"
    tok = _token(ch["realm"], ch["service"], ch["scope"], ("alice", "pw-a"))
    alice = Client(s.url, headers={"Authorization": f"Bearer {tok}"})
    d, _ = alice.push_image("a/app", "v1")
    # the same token (scoped to a/app) cannot push to b/other
    r = alice.req("POST", "/v2/b/other/blobs/uploads/")
    assert r.status_code == 401 and 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    # alice's ACL does not grant push on b/*, so a fresh token does not either
    tok_b = _token(ch["realm"], ch["service"], "repository:b/other:pull,push", ("alice", "pw-a"))
    claims = jwt.decode(tok_b, options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "b/other", "actions": ["pull"]}]
    r = requests.post(f"{s.url}/v2/b/other/blobs/uploads/", headers={"Authorization": f"Bearer {tok_b}"}, timeout=5)
    assert r.status_code == 401
    # bob may pull (ACL "*"), not push
    tok_bob = _token(ch["realm"], ch["service"], "repository:a/app:pull,push", ("bob", "pw-b"))
    bob = Client(s.url, headers={"Authorization": f"Bearer {tok_bob}"})
    assert bob.req("GET", f"/v2/a/app/manifests/{d}").status_code == 200
    assert bob.req("POST", "/v2/a/app/blobs/uploads/").status_code == 401
    # wrong password at the token endpoint
    r = requests.get(ch["realm"], params={"service": ch["service"], "scope": ch["scope"]}, auth=("bob", "x"),
                     timeout=5)
    assert r.status_code == 401
    for c in (anon, alice, bob):
        c.close()


def _sign(key: Any, access: list[dict[str, Any]], *, exp: float = 300, aud: str = "test-registry",
          iss: str = "test-issuer", alg: str = "RS256") -> str:
    now = int(time.time())
    return jwt.encode({"iss": iss, "sub": "x", "aud": aud, "exp": now + int(exp), "iat": now, "nbf": now - 1,
                       "access": access}, key, algorithm=alg)


def test_expired_badly_signed_and_wrong_audience(token_registry: tuple[Server, Any]) -> None:
    s, key = token_registry
    access = [{"type": "repository", "name": "a/x", "actions": ["pull", "push"]}]
    url = f"{s.url}/v2/a/x/blobs/uploads/"
    ok = _sign(key, access)
    assert requests.post(url, headers={"Authorization": f"Bearer {ok}"}, timeout=5).status_code == 202
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (_sign(key, access, exp=-600), _sign(other, access), _sign(key, access, aud="elsewhere"),
                _sign(key, access, iss="mallory"), ok[:-4] + "AAAA"):
        r = requests.post(url, headers={"Authorization": f"Bearer {bad}"}, timeout=5)
        assert r.status_code == 401
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_external_issuer_public_key(start_registry: Callable[..., Server], tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
    s = start_registry(auth={"token": {"realm": "https://auth.example/token", "service": "test-registry",
                                       "issuer": "test-issuer", "rootcertbundle": str(bundle)}})
    r = requests.get(f"{s.url}/v2/", timeout=5)
    assert r.status_code == 401 and 'realm="https://auth.example/token"' in r.headers["WWW-Authenticate"]
    tok = _sign(key, [{"type": "repository", "name": "ext", "actions": ["pull", "push"]}], alg="ES256")
    c = Client(s.url, headers={"Authorization": f"Bearer {tok}"})
    c.push_image("ext", "v1")
    assert requests.get(f"{s.url}/auth/token", timeout=5).status_code == 404
    c.close()


def test_catalog_needs_catalog_scope(token_registry: tuple[Server, Any]) -> None:
    s, key = token_registry
    tok = _sign(key, [{"type": "repository", "name": "a/x", "actions": ["pull"]}])
    r = requests.get(f"{s.url}/v2/_catalog", headers={"Authorization": f"Bearer {tok}"}, timeout=5)
    assert r.status_code == 401 and 'scope="registry:catalog:*"' in r.headers["WWW-Authenticate"]
    tok = _sign(key, [{"type": "registry", "name": "catalog", "actions": ["*"]}])
    r = requests.get(f"{s.url}/v2/_catalog", headers={"Authorization": f"Bearer {tok}"}, timeout=5)
    assert r.status_code == 200


def test_tls(start_registry: Callable[..., Server], tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = tmp_path / "cert.pem"
    cert.write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
    keyf = write_key(tmp_path / "key.pem", key)
    s = start_registry(http={"addr": "127.0.0.1:0", "tls": {"certificate": str(cert), "key": str(keyf)}})
    assert s.url.startswith("https://")
    c = Client(s.url, verify=str(cert))
    d, _ = c.push_image("tls", "v1")
    assert c.req("GET", f"/v2/tls/manifests/{d}").status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{s.url}/v2/", timeout=5)
    c.close()


def test_delete_needs_delete_action(token_registry: tuple[Server, Any]) -> None:
    s, key = token_registry
    push = _sign(key, [{"type": "repository", "name": "a/del", "actions": ["pull", "push"]}])
    c = Client(s.url, headers={"Authorization": f"Bearer {push}"})
    d, _ = c.push_image("a/del", "v1")
    r = c.req("DELETE", f"/v2/a/del/manifests/{d}")
    assert r.status_code == 401 and 'scope="repository:a/del:delete"' in r.headers["WWW-Authenticate"]
    c.close()
    delete = _sign(key, [{"type": "repository", "name": "a/del", "actions": ["delete"]}])
    r = requests.delete(f"{s.url}/v2/a/del/manifests/{d}", headers={"Authorization": f"Bearer {delete}"},
                        timeout=5)
    assert r.status_code == 202


def test_external_issuer_x5c_chain(start_registry: Callable[..., Server], tmp_path: Path) -> None:
    import base64

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = self_signed(root_key, "token-root")
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token-signer")]))
        .issuer_name(root.subject).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .sign(root_key, hashes.SHA256())
    )
    bundle = tmp_path / "root.pem"
    bundle.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    s = start_registry(auth={"token": {"realm": "https://auth.example/token", "service": "test-registry",
                                       "issuer": "test-issuer", "rootcertbundle": str(bundle)}})
    x5c = [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()]
    now_s = int(time.time())
    claims = {"iss": "test-issuer", "sub": "x", "aud": "test-registry", "exp": now_s + 300, "iat": now_s,
              "access": [{"type": "repository", "name": "chain", "actions": ["pull", "push"]}]}
    tok = jwt.encode(claims, leaf_key, algorithm="ES256", headers={"x5c": x5c})
    c = Client(s.url, headers={"Authorization": f"Bearer {tok}"})
    c.push_image("chain", "v1")
    c.close()
    rogue_root = ec.generate_private_key(ec.SECP256R1())
    rogue = self_signed(rogue_root, "rogue")
    bad = jwt.encode(claims, rogue_root, algorithm="ES256",
                     headers={"x5c": [base64.b64encode(rogue.public_bytes(serialization.Encoding.DER)).decode()]})
    r = requests.get(f"{s.url}/v2/chain/tags/list", headers={"Authorization": f"Bearer {bad}"}, timeout=5)
    assert r.status_code == 401
