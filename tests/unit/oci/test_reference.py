from __future__ import annotations

import pytest

from dockwright.oci.digest import DigestError, chain_ids, parse_digest
from dockwright.oci.reference import ReferenceError, looks_like_id, parse_reference, parse_repository

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("raw", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
        ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"),
        ("127.0.0.1:5000/x@" + D, "127.0.0.1:5000/x@" + D, "127.0.0.1:5000/x@" + D),
        ("reg.example.com/ns/app:1@" + D, "reg.example.com/ns/app:1@" + D, "reg.example.com/ns/app:1@" + D),
        ("a__b/c-d.e_f:T_1.x-y", "docker.io/a__b/c-d.e_f:T_1.x-y", "a__b/c-d.e_f:T_1.x-y"),
    ],
)
def test_normalisation(raw: str, full: str, familiar: str) -> None:
    ref = parse_reference(raw)
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Busybox", "repository name (library/Busybox) must be lowercase"),
        ("busy box", "invalid reference format"),
        ("", "invalid reference format"),
        ("x@sha256:zz", "invalid reference format"),
        ("x@sha256:" + "a" * 63, "invalid reference format"),
        ("/x", "invalid reference format"),
        ("x/", "invalid reference format"),
        ("x:" + "t" * 129, "invalid reference format"),
        ("a" * 256, "255"),
        ("x:-tag", "invalid reference format"),
        ("a..b", "invalid reference format"),
    ],
)
def test_bad_references(raw: str, message: str) -> None:
    with pytest.raises(ReferenceError) as err:
        parse_reference(raw)
    assert message in str(err.value)


def test_repository_and_ids() -> None:
    assert str(parse_repository("busybox")) == "docker.io/library/busybox"
    with pytest.raises(ReferenceError):
        parse_repository("busybox:1")
    assert looks_like_id("a" * 64) and looks_like_id(D)
    assert not looks_like_id("a" * 12)


def test_digests_and_chain_ids() -> None:
    assert parse_digest(D) == D
    for bad in ("sha256:" + "A" * 64, "md5:" + "a" * 32, "sha256:abc", "nope", "sha512:" + "a" * 64):
        with pytest.raises(DigestError):
            parse_digest(bad)
    a, b = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    ids = chain_ids([a, b])
    assert ids[0] == a
    import hashlib

    assert ids[1] == "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
