"""A build cache shared between two machines: daemon A shares it (registry cache, S3, inline cache,
or a pushed image for the docker CLI's ``--cache-from IMAGE``), daemon B (empty apart from the base
image) builds the same context without running anything. The story is ``buildcache.scenario``."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.conftest import DOCKER
from tests.integration.registry.conftest import RegistryProc, moto_endpoint  # noqa: F401 - the fixture
from tests.support.buildcache import Machines, context, dw, scenario, steps, two_daemons
from tests.support.cncf import cncf_registry
from tests.support.daemon import DaemonProc


@pytest.fixture
def machines() -> Iterator[Machines]:
    with two_daemons() as m:
        yield m


@pytest.fixture
def our_registry(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "reg").mkdir()
    reg = RegistryProc(tmp_path / "reg", {})
    try:
        reg.start()
        yield reg.addr
    finally:
        reg.stop()


@pytest.fixture
def cncf(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "cncf").mkdir()
    with cncf_registry(tmp_path / "cncf") as addr:
        yield addr


def _with_cache(cache_to: str, cache_from: str, label: str, m: Machines, ctx: Path) -> None:
    def build_a(d: DaemonProc, c: Path) -> str:
        r = dw(d, "build", "--progress=plain", "--cache-to", cache_to, str(c))
        assert "exported cache" in r.stdout + r.stderr, r.stdout + r.stderr
        return r.stdout + r.stderr

    def build_b(d: DaemonProc, c: Path) -> str:
        r = dw(d, "build", "--progress=plain", "-t", "app:b", "--cache-from", cache_from, str(c))
        return r.stdout + r.stderr

    scenario(m, ctx, build_a=build_a, share=lambda: None, build_b=build_b, label=label)
    # the image B got runs, with A's RUN result and B's changed file
    r = dw(m.b, "run", "--rm", "app:b", "cat", "/deps/b", "/app/built")
    assert r.stdout == "dep-b\nx = 'changed'\n", r.stdout


def test_registry_cache_between_daemons(machines: Machines, our_registry: str, tmp_path: Path) -> None:
    ref = f"{our_registry}/app{uuid.uuid4().hex[:6]}:cache"
    _with_cache(f"type=registry,ref={ref},mode=max", f"type=registry,ref={ref}", "registry", machines,
                context(tmp_path))
    # through the API: a cache type we do not know is the client's error
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("Dockerfile")
        info.size = 16
        tf.addfile(info, io.BytesIO(b"FROM busybox\n\n\n\n"))
    status, body = machines.b.request("POST", "/v1.47/build?cacheto=" + quote(json.dumps(["type=gha,url=x"])),
                                      buf.getvalue(), {"Content-Type": "application/x-tar"})
    assert status == 400 and b"not supported" in body, (status, body)


def test_s3_cache_between_daemons(machines: Machines, moto_endpoint: str, tmp_path: Path) -> None:  # noqa: F811
    import boto3

    bucket = f"cache-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket=bucket)
    spec = (f"type=s3,bucket={bucket},region=us-east-1,endpoint_url={moto_endpoint},prefix=app/,"
            "access_key_id=test,secret_access_key=test")
    _with_cache(spec + ",mode=max", spec, "s3", machines, context(tmp_path))
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert "app/manifests/buildkit" in keys and any(k.startswith("app/blobs/sha256:") for k in keys)
    # layers are stored compressed, and their media type says so
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="app/manifests/buildkit")["Body"].read())
    assert manifest["layers"], manifest
    for layer in manifest["layers"]:
        assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip", layer
        blob = s3.get_object(Bucket=bucket, Key=f"app/blobs/{layer['digest']}")["Body"].read()
        assert blob[:2] == b"\x1f\x8b" and len(blob) == layer["size"], layer


def test_s3_cache_of_plain_tars_still_imports(machines: Machines, moto_endpoint: str,  # noqa: F811
                                              tmp_path: Path) -> None:
    """Caches exported before layers were compressed hold plain tars: B still builds from them."""
    import boto3

    bucket = f"cache-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket=bucket)
    spec = (f"type=s3,bucket={bucket},region=us-east-1,endpoint_url={moto_endpoint},"
            "access_key_id=test,secret_access_key=test")
    ctx = context(tmp_path)
    dw(machines.a, "build", "--progress=plain", "--cache-to", spec + ",mode=max", str(ctx))
    # rewrite the cache as the old exporter wrote it: every layer an uncompressed tar
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="manifests/buildkit")["Body"].read())
    cfg = json.loads(s3.get_object(Bucket=bucket, Key=f"blobs/{manifest['config']['digest']}")["Body"].read())
    plain_of = {}
    for layer in manifest["layers"]:
        tar = gzip.decompress(s3.get_object(Bucket=bucket, Key=f"blobs/{layer['digest']}")["Body"].read())
        digest = "sha256:" + hashlib.sha256(tar).hexdigest()
        s3.put_object(Bucket=bucket, Key=f"blobs/{digest}", Body=tar)
        s3.delete_object(Bucket=bucket, Key=f"blobs/{layer['digest']}")
        plain_of[layer["digest"]] = digest
        layer.update(mediaType="application/vnd.oci.image.layer.v1.tar", digest=digest, size=len(tar))
    for entry in cfg["layers"]:
        entry["blob"] = plain_of[entry["blob"]]
    data = json.dumps(cfg).encode()
    cfg_digest = "sha256:" + hashlib.sha256(data).hexdigest()
    s3.put_object(Bucket=bucket, Key=f"blobs/{cfg_digest}", Body=data)
    manifest["config"].update(digest=cfg_digest, size=len(data))
    s3.put_object(Bucket=bucket, Key="manifests/buildkit", Body=json.dumps(manifest).encode())

    r = dw(machines.b, "build", "--progress=plain", "-t", "plain:b", "--cache-from", spec, str(ctx))
    out = r.stdout + r.stderr
    assert steps(out) == ["cache"] * 5 and "Running in" not in out, out
    r = dw(machines.b, "run", "--rm", "plain:b", "cat", "/deps/c", "/app/built")
    assert r.stdout == "dep-c\nx = 1\n", r.stdout


def test_inline_cache_through_pushed_image(machines: Machines, our_registry: str, tmp_path: Path) -> None:
    image = f"{our_registry}/inline{uuid.uuid4().hex[:6]}:1"
    first = [True]

    def build_a(d: DaemonProc, c: Path) -> str:
        r = dw(d, "build", "--progress=plain", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", image, str(c))
        assert "were not consumed" not in r.stdout + r.stderr
        return r.stdout + r.stderr

    def share() -> None:
        dw(machines.a, "push", image)
        dw(machines.b, "pull", image)

    def build_b(d: DaemonProc, c: Path) -> str:
        r = dw(d, "build", "--progress=plain", "--explain=json", "--cache-from", image, str(c))
        out = r.stdout + r.stderr
        if first[0]:
            first[0] = False
            assert "importing inline cache from" in out, out
            assert "downloaded 0 layer blobs" in out, out
            report = json.loads(r.stdout[r.stdout.index("[\n"):])
            assert all(e["cached"] and "imported" in e["reason"] for e in report), report
        return out

    scenario(machines, context(tmp_path), build_a=build_a, share=share, build_b=build_b, label="inline")


def _docker(d: DaemonProc, *args: str) -> str:
    """The real docker CLI with the legacy builder (what it picks for Builder-Version 1 anyway)."""
    env = d.env | {"DOCKER_BUILDKIT": "0"}
    r = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                             f"--- daemon log ---\n{d.log()}")
    return r.stdout + r.stderr


@pytest.mark.parametrize("registry", ["dockwright", "cncf-distribution"])
def test_docker_cli_cache_from_pulled_image(machines: Machines, registry: str, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    """Docker's legacy rule: B pulls A's image and ``docker build --cache-from`` reuses its layers."""
    if not os.path.exists(DOCKER):
        pytest.skip("the docker CLI is not installed")
    addr = request.getfixturevalue("our_registry" if registry == "dockwright" else "cncf")
    image = f"{addr}/cli{uuid.uuid4().hex[:6]}/app:1"

    def share() -> None:
        out = _docker(machines.a, "push", image)
        assert "digest: sha256:" in out, out
        out = _docker(machines.b, "pull", image)
        assert "Downloaded newer image" in out, out

    def build_b(d: DaemonProc, c: Path) -> str:
        return _docker(d, "build", "--cache-from", image, "-t", "app:b", str(c))

    scenario(machines, context(tmp_path), build_a=lambda d, c: _docker(d, "build", "-t", image, str(c)),
             share=share, build_b=build_b, label=f"docker CLI, {registry}")
    out = _docker(machines.b, "run", "--rm", "app:b", "cat", "/deps/a", "/app/built")
    assert out == "dep-a\nx = 'changed'\n", out


MULTI = """FROM busybox AS builder
RUN dd if=/dev/zero of=/scratch bs=1k count=256 2>/dev/null && echo built > /out
FROM busybox
COPY --from=builder /out /out
RUN cat /out > /copied
"""


def test_unneeded_stage_layers_are_not_downloaded(machines: Machines, our_registry: str, tmp_path: Path) -> None:
    """mode=max exports the builder stage; B hits every step and fetches only the final image's layers."""
    a, b = machines.a, machines.b
    ctx = tmp_path / "multi"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(MULTI.replace("built", f"built-{uuid.uuid4().hex[:6]}"))
    ref = f"{our_registry}/multi{uuid.uuid4().hex[:6]}:cache"
    out_a = dw(a, "build", "--progress=plain", "--cache-to", f"type=registry,ref={ref},mode=max", str(ctx))
    assert "(3 steps, 4 layers)" in out_a.stdout  # the base layer too, out_a.stdout
    r = dw(b, "build", "--progress=plain", "-t", "multi:b", "--cache-from", f"type=registry,ref={ref}", str(ctx))
    out_b = r.stdout + r.stderr
    assert steps(out_b) == ["cache"] * 3 and "Running in" not in out_b, out_b
    assert "downloaded 2 layer blobs" in out_b, out_b
    r = dw(b, "run", "--rm", "multi:b", "cat", "/copied")
    assert r.stdout.startswith("built-"), r.stdout
    # B kept what it fetched as its own cache: the final stage hits locally; the builder stage,
    # never downloaded, runs again (its output is the same, so the COPY --from still hits)
    r = dw(b, "build", "--progress=plain", str(ctx))
    out_local = r.stdout + r.stderr
    assert steps(out_local) == ["ran", "cache", "cache"], out_local


def _snapshots(d: DaemonProc) -> int:
    return len(list((d.data_root / "snapshots").glob("*/fs")))


def test_reexport_of_imported_cache_unpacks_nothing(machines: Machines, our_registry: str, tmp_path: Path) -> None:
    """B passes on the cache it got from A (to a third machine, say): the export needs the layers'
    blobs only, so B's imported layers stay blobs, nothing is unpacked for it."""
    a, b = machines.a, machines.b
    ctx = context(tmp_path)
    first, second = (f"{our_registry}/app{uuid.uuid4().hex[:6]}:cache" for _ in range(2))
    dw(a, "build", "--progress=plain", "--cache-to", f"type=registry,ref={first},mode=max", str(ctx))
    r = dw(b, "build", "--progress=plain", "--cache-from", f"type=registry,ref={first}", str(ctx))
    assert "Running in" not in r.stdout + r.stderr, r.stdout + r.stderr
    before = _snapshots(b)
    r = dw(b, "build", "--progress=plain", "--cache-to", f"type=registry,ref={second},mode=max", str(ctx))
    out = r.stdout + r.stderr
    assert "Running in" not in out and "exported cache" in out, out
    assert _snapshots(b) == before
    # what B exported is whole: A, with its own cache gone, builds from it without running anything
    dw(a, "builder", "prune", "-af")
    r = dw(a, "build", "--progress=plain", "--cache-from", f"type=registry,ref={second}", str(ctx))
    assert "Running in" not in r.stdout + r.stderr, r.stdout + r.stderr
