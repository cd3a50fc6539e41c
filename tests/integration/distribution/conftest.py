"""Our registry on 127.0.0.1 for the distribution tests (plain, htpasswd, token auth)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.integration.registry.conftest import RegistryProc


def htpasswd(path: Path, users: dict[str, str]) -> str:
    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
                            for u, p in users.items()))
    return str(path)


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., RegistryProc]]:
    procs: list[RegistryProc] = []

    def start(doc: dict[str, Any] | None = None) -> RegistryProc:
        wd = tmp_path / f"reg{len(procs)}"
        wd.mkdir()
        p = RegistryProc(wd, doc or {"storage": {"delete": {"enabled": True}}})
        procs.append(p)
        return p.start()

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def registry(start_registry: Callable[..., RegistryProc]) -> RegistryProc:
    return start_registry()


@pytest.fixture
def basic_registry(start_registry: Callable[..., RegistryProc], tmp_path: Path) -> RegistryProc:
    ht = htpasswd(tmp_path / "htpasswd", {"alice": "pw-alice"})
    return start_registry({"auth": {"htpasswd": {"realm": "dw", "path": ht}}})


@pytest.fixture
def token_registry(start_registry: Callable[..., RegistryProc], tmp_path: Path) -> RegistryProc:
    key = ec.generate_private_key(ec.SECP256R1())
    kp = tmp_path / "signing.pem"
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    ht = htpasswd(tmp_path / "users", {"alice": "pw-alice"})
    return start_registry({"auth": {"token": {
        "service": "dw", "issuer": "dw-issuer", "signingkey": str(kp), "htpasswd": ht,
        "acl": [{"account": "alice", "name": "*", "actions": ["pull", "push"]},
                {"account": "alice", "name": "*/*", "actions": ["pull", "push"]}],
    }}})


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
