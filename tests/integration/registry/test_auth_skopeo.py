"""skopeo through htpasswd basic auth and the Docker token flow of the built-in issuer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bcrypt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .conftest import RegistryProc, skopeo
from .layouts import single_image


def _htpasswd(path: Path, users: dict[str, str]) -> str:
    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
                            for u, p in users.items()))
    return str(path)


def test_htpasswd_users_push_and_pull(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    ht = _htpasswd(tmp_path / "htpasswd", {"alice": "pw"})
    reg = start_proc({"auth": {"htpasswd": {"realm": "r", "path": ht}}})
    src = tmp_path / "img"
    single_image(src, "v1")
    r = skopeo("copy", "--dest-tls-verify=false", f"oci:{src}:v1", f"docker://{reg.addr}/sec:v1", check=False)
    assert r.returncode != 0 and ("401" in r.stderr or "unauthorized" in r.stderr.lower())
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:pw", f"oci:{src}:v1",
           f"docker://{reg.addr}/sec:v1")
    skopeo("copy", "--src-tls-verify=false", "--src-creds", "alice:pw", f"docker://{reg.addr}/sec:v1",
           f"oci:{tmp_path / 'out'}:v1")


def test_token_flow_with_skopeo(start_proc: Callable[..., RegistryProc], tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    kp = tmp_path / "signing.pem"
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    ht = _htpasswd(tmp_path / "users", {"alice": "pw-a", "bob": "pw-b"})
    reg = start_proc({"auth": {"token": {
        "service": "dw", "issuer": "dw-issuer", "signingkey": str(kp), "htpasswd": ht,
        "acl": [{"account": "alice", "name": "team-a/*", "actions": ["pull", "push"]},
                {"account": "bob", "name": "team-b/*", "actions": ["pull", "push"]}],
    }}})
    src = tmp_path / "img"
    single_image(src, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:pw-a", f"oci:{src}:v1",
           f"docker://{reg.addr}/team-a/app:v1")
    r = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:pw-a", f"oci:{src}:v1",
               f"docker://{reg.addr}/team-b/app:v1", check=False)
    assert r.returncode != 0
    r = skopeo("inspect", "--tls-verify=false", "--creds", "bob:pw-b", f"docker://{reg.addr}/team-a/app:v1",
               check=False)
    assert r.returncode != 0
    skopeo("inspect", "--tls-verify=false", "--creds", "alice:pw-a", f"docker://{reg.addr}/team-a/app:v1")
