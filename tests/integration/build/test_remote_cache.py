"""A build cache shared through a registry: daemon A exports it, daemon B (empty apart from the
base image) builds the same context without running anything."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from tests.integration.registry.conftest import RegistryProc, moto_endpoint  # noqa: F401 - the fixture
from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon

DW = [sys.executable, "-m", "dockwright"]

DOCKERFILE = """FROM busybox
COPY requirements.txt /app/requirements.txt
RUN mkdir -p /deps && for f in a b c; do echo dep-$f > /deps/$f; done && sleep 1
ENV APP=1
COPY . /app
RUN cat /app/src/m1.py > /app/built
"""


def _dw(d: DaemonProc, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([*DW, *args], capture_output=True, env=d.env, timeout=180, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"dockwright {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def _steps(out: str) -> list[str]:
    res = []
    for block in out.split("Step ")[1:]:
        if " : FROM " in block.splitlines()[0]:
            continue
        res.append("cache" if "Using cache" in block else "ran")
    return res


def _import_base(d: DaemonProc) -> str:
    status, body = d.request("POST", "/v1.47/images/create?fromSrc=-&repo=busybox&tag=latest"
                             "&changes=" + "CMD%20%5B%22sh%22%5D", rootfs_tar_bytes(),
                             {"Content-Type": "application/x-tar"})
    assert status == 200, body
    status, body = d.request("GET", "/v1.47/images/busybox:latest/json")
    assert status == 200, body
    return str(json.loads(body)["Id"])


def _context(tmp: Path) -> Path:
    ctx = tmp / f"ctx-{uuid.uuid4().hex[:6]}"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "requirements.txt").write_text(f"a\nb\nu{uuid.uuid4().hex[:8]}\n")
    for i in range(20):
        (ctx / "src" / f"m{i}.py").write_text(f"x = {i}\n")
    return ctx


def _two_daemons_scenario(tmp_path: Path, cache_to: str, cache_from: str) -> None:
    a, b = new_daemon(), new_daemon()
    try:
        a.start()
        b.start()
        base = _import_base(a)
        status, saved = a.request("GET", "/v1.47/images/busybox:latest/get")
        assert status == 200
        status, body = b.request("POST", "/v1.47/images/load?quiet=1", saved, {"Content-Type": "application/x-tar"})
        assert status == 200, body
        status, body = b.request("GET", "/v1.47/images/busybox:latest/json")
        assert status == 200 and json.loads(body)["Id"] == base, body
        ctx = _context(tmp_path)
        t0 = time.monotonic()
        r = _dw(a, "build", "--progress=plain", "--cache-to", cache_to, str(ctx))
        cold = time.monotonic() - t0
        out_a = r.stdout + r.stderr
        assert _steps(out_a) == ["ran"] * 5, out_a
        assert "exported cache" in out_a, out_a

        t0 = time.monotonic()
        r = _dw(b, "build", "--progress=plain", "-t", "app:b", "--cache-from", cache_from, str(ctx))
        warm = time.monotonic() - t0
        out_b = r.stdout + r.stderr
        assert _steps(out_b) == ["cache"] * 5, out_b
        assert "Running in" not in out_b, out_b
        print(f"[{cache_from.split(',')[0]}] cold build on A: {cold:.2f}s; first build on B from the cache: "
              f"{warm:.2f}s")
        # the image B got is the image A built, and it runs
        r = _dw(b, "run", "--rm", "app:b", "cat", "/deps/b", "/app/built")
        assert r.stdout == "dep-b\nx = 1\n", r.stdout

        # through the API: a cache type we do not know is the client's error
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            tf.add(ctx / "Dockerfile", "Dockerfile")
        status, body = b.request("POST", "/v1.47/build?cacheto=" + quote(json.dumps(["type=gha,url=x"])),
                                 buf.getvalue(), {"Content-Type": "application/x-tar"})
        assert status == 400 and b"not supported" in body, (status, body)

        (ctx / "src" / "m1.py").write_text("x = 'changed'\n")
        r = _dw(b, "build", "--progress=plain", "--cache-from", cache_from, str(ctx))
        out_b2 = r.stdout + r.stderr
        assert _steps(out_b2) == ["cache", "cache", "cache", "ran", "ran"], out_b2
    finally:
        for d in (a, b):
            d.kill_containers()
            d.stop()
            d.cleanup()


def test_registry_cache_between_daemons(tmp_path: Path) -> None:
    (tmp_path / "reg").mkdir()
    reg = RegistryProc(tmp_path / "reg", {})
    try:
        reg.start()
        ref = f"{reg.addr}/app{uuid.uuid4().hex[:6]}:cache"
        _two_daemons_scenario(tmp_path, f"type=registry,ref={ref},mode=max", f"type=registry,ref={ref}")
    finally:
        reg.stop()


def test_s3_cache_between_daemons(moto_endpoint: str, tmp_path: Path) -> None:  # noqa: F811
    import boto3

    bucket = f"cache-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket=bucket)
    spec = (f"type=s3,bucket={bucket},region=us-east-1,endpoint_url={moto_endpoint},prefix=app/,"
            "access_key_id=test,secret_access_key=test")
    _two_daemons_scenario(tmp_path, spec + ",mode=max", spec)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert "app/manifests/buildkit" in keys and any(k.startswith("app/blobs/sha256:") for k in keys)


MULTI = """FROM busybox AS builder
RUN dd if=/dev/zero of=/scratch bs=1k count=256 2>/dev/null && echo built > /out
FROM busybox
COPY --from=builder /out /out
RUN cat /out > /copied
"""


def test_unneeded_stage_layers_are_not_downloaded(tmp_path: Path) -> None:
    """mode=max exports the builder stage; B hits every step and fetches only the final image's layers."""
    (tmp_path / "reg").mkdir()
    reg = RegistryProc(tmp_path / "reg", {})
    a, b = new_daemon(), new_daemon()
    try:
        reg.start()
        a.start()
        b.start()
        _import_base(a)
        status, saved = a.request("GET", "/v1.47/images/busybox:latest/get")
        status, body = b.request("POST", "/v1.47/images/load?quiet=1", saved, {"Content-Type": "application/x-tar"})
        assert status == 200, body
        ctx = tmp_path / "multi"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(MULTI.replace("built", f"built-{uuid.uuid4().hex[:6]}"))
        ref = f"{reg.addr}/multi{uuid.uuid4().hex[:6]}:cache"
        out_a = _dw(a, "build", "--progress=plain", "--cache-to", f"type=registry,ref={ref},mode=max", str(ctx))
        assert "(3 steps, 4 layers)" in out_a.stdout  # the base layer too, out_a.stdout
        r = _dw(b, "build", "--progress=plain", "-t", "multi:b", "--cache-from", f"type=registry,ref={ref}",
                str(ctx))
        out_b = r.stdout + r.stderr
        assert _steps(out_b) == ["cache"] * 3 and "Running in" not in out_b, out_b
        assert "downloaded 2 layer blobs" in out_b, out_b
        r = _dw(b, "run", "--rm", "multi:b", "cat", "/copied")
        assert r.stdout.startswith("built-"), r.stdout
    finally:
        for d in (a, b):
            d.kill_containers()
            d.stop()
            d.cleanup()
        reg.stop()


def test_inline_cache_through_pushed_image(tmp_path: Path) -> None:
    (tmp_path / "reg").mkdir()
    reg = RegistryProc(tmp_path / "reg", {})
    a, b = new_daemon(), new_daemon()
    try:
        reg.start()
        a.start()
        b.start()
        _import_base(a)
        status, saved = a.request("GET", "/v1.47/images/busybox:latest/get")
        status, body = b.request("POST", "/v1.47/images/load?quiet=1", saved, {"Content-Type": "application/x-tar"})
        assert status == 200, body
        ctx = _context(tmp_path)
        image = f"{reg.addr}/inline{uuid.uuid4().hex[:6]}:1"
        r = _dw(a, "build", "--progress=plain", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", image, str(ctx))
        assert "were not consumed" not in r.stdout + r.stderr
        r = _dw(a, "image", "inspect", image)
        _dw(a, "push", image)
        _dw(b, "pull", image)
        r = _dw(b, "build", "--progress=plain", "--explain=json", "--cache-from", image, str(ctx))
        out = r.stdout + r.stderr
        assert "importing inline cache from" in out and "Running in" not in out, out
        assert "downloaded 0 layer blobs" in out, out
        report = json.loads(r.stdout[r.stdout.index("[\n"):])
        assert all(e["cached"] and "imported" in e["reason"] for e in report), report
    finally:
        for d in (a, b):
            d.kill_containers()
            d.stop()
            d.cleanup()
        reg.stop()
