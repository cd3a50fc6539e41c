"""RUN --mount=type=bind|tmpfs|secret against a real daemon: what the step sees, what the layer keeps,
what the cache key reads, and the errors found before the build starts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import uuid
from pathlib import Path

from tests.integration.build.test_build import _build
from tests.integration.conftest import docker
from tests.support.buildcache import DW, dw, steps
from tests.support.daemon import DaemonProc


def _ctx(tmp: Path, dockerfile: str) -> Path:
    ctx = tmp / f"mnt-{uuid.uuid4().hex[:6]}"
    (ctx / "data" / "sub").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "data" / "a.txt").write_text(f"alpha {uuid.uuid4().hex}\n")
    (ctx / "data" / "sub" / "b.txt").write_text("beta\n")
    (ctx / "data" / "ignored.txt").write_text("never sent\n")
    (ctx / "other.txt").write_text("unrelated\n")
    (ctx / ".dockerignore").write_text("data/ignored.txt\n")
    return ctx


def _context_tar(ctx: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for p in sorted(ctx.rglob("*")):
            tf.add(str(p), arcname=p.relative_to(ctx).as_posix(), recursive=False)
    return buf.getvalue()


def _api_build(d: DaemonProc, ctx: Path, headers: dict[str, str] | None = None) -> tuple[int, str]:
    status, body = d.request("POST", "/v1.47/build?version=1", _context_tar(ctx),
                             {"Content-Type": "application/x-tar", **(headers or {})})
    return status, body.decode(errors="replace")


BIND_DF = """FROM busybox
RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/a.txt /mnt/data/sub/b.txt > /got \\
 && test ! -e /mnt/data/ignored.txt && if touch /mnt/data/x 2>/dev/null; then exit 9; fi
RUN --mount=type=bind,target=ctx,rw echo scratch > ctx/written && cat ctx/other.txt > /other
RUN --mount=type=tmpfs,target=/scratch/t,size=1m echo t > /scratch/t/f && grep -q ' /scratch/t ' /proc/mounts
RUN ls / > /listing
"""


def test_bind_and_tmpfs_mounts(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, BIND_DF)
    tag = f"dwb-mnt-{uuid.uuid4().hex[:6]}:1"
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["ran"] * 4, out
    r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c", "cat /got /other; cat /listing; ls /tmp")
    assert (ctx / "data" / "a.txt").read_text() in r.stdout and "beta" in r.stdout and "unrelated" in r.stdout
    listing = r.stdout.split("unrelated\n", 1)[1]
    # the mount points were taken out again, and rw writes were discarded
    assert "mnt" not in listing.split() and "scratch" not in listing.split() and "ctx" not in listing.split()
    assert not (ctx / "written").exists()
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["cache"] * 4, out
    (ctx / "other.txt").write_text("unrelated but changed\n")  # not bound by step 1: only step 2 reruns
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["cache", "ran", "ran", "ran"], out
    (ctx / "data" / "sub" / "b.txt").write_text("beta 2\n")
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out)[0] == "ran" and "mount:/mnt/data/sub/b.txt (changed)" in out, out
    os.chmod(ctx / "data" / "a.txt", 0o600)  # the mode is part of the key, like COPY's
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out)[0] == "ran", out
    (ctx / "data" / "ignored.txt").write_text("ignored, changed\n")
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out)[0] == "cache", out
    docker(dw_daemon, "rmi", tag)


def test_bind_from_stage_and_image(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    df = (f"FROM busybox AS src\nRUN mkdir /stuff && echo from-stage-{uuid.uuid4().hex[:6]} > /stuff/f\n"
          "FROM busybox\n"
          "RUN --mount=type=bind,from=src,source=/stuff,target=/s cat /s/f > /got\n"
          "RUN --mount=type=bind,from=src,source=/stuff,target=/s,rw rm /s/f && echo rw-ok\n"
          "RUN --mount=type=bind,from=busybox,source=/bin,target=/b test -x /b/busybox\n")
    ctx = _ctx(tmp_path, df)
    tag = f"dwb-mntf-{uuid.uuid4().hex[:6]}:1"
    out = _build(dw_daemon, ctx, "-t", tag)
    assert "rw-ok" in out
    r = docker(dw_daemon, "run", "--rm", tag, "cat", "/got")
    assert r.stdout.startswith("from-stage-")
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["cache"] * 4, out
    (ctx / "Dockerfile").write_text(df.replace("from-stage-", "from-stage-changed-"))
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["ran"] * 4 and "its source stage or image changed" in out, out
    docker(dw_daemon, "rmi", tag)


def test_mount_errors_before_the_build(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    cases = {
        "FROM busybox\nRUN --mount=type=nfs,target=/x true\n": "Dockerfile:2: unsupported mount type 'nfs'",
        "FROM busybox\nRUN --mount=type=bind,source=../x,target=/x true\n":
            "Dockerfile:2: RUN failed: --mount=type=bind,source=../x: forbidden path outside the build context",
        "FROM busybox\nRUN --mount=type=bind,source=out/passwd,target=/x true\n":
            "Dockerfile:2: RUN failed: --mount=type=bind,source=out/passwd: forbidden path outside the build "
            "context",
        "FROM busybox\nRUN --mount=type=bind,source=nothere,target=/x true\n": "file not found in build context",
        "FROM busybox AS a\nFROM busybox\nRUN --mount=type=bind,from=nostage,target=/x true\n":
            "Dockerfile:3: RUN failed: --mount from=nostage: no build stage or local image named 'nostage'",
        "FROM busybox\nRUN --mount=type=secret,id=tok,required true\n":
            "Dockerfile:2: RUN failed: secret 'tok' is required but was not provided",
        "FROM busybox\nRUN --mount=type=ssh true\n": "Dockerfile:2: RUN failed: RUN --mount=type=ssh is not supported",
    }
    for df, want in cases.items():
        ctx = _ctx(tmp_path, df)
        os.symlink("../../../../etc", ctx / "out")
        status, body = _api_build(dw_daemon, ctx)
        assert status == 400 and want in json.loads(body)["message"], (df, status, body)
    r = docker(dw_daemon, "build", str(_ctx(tmp_path, "FROM busybox\nRUN --mount=type=nfs,target=/x true\n")),
               check=False)
    assert r.returncode != 0 and "Dockerfile:2: unsupported mount type 'nfs'" in r.stderr
    status, body = _api_build(dw_daemon, _ctx(tmp_path, "FROM busybox\n"), {"X-Dockwright-Build-Secrets": "!!"})
    assert status == 400 and "X-Dockwright-Build-Secrets" in body


SECRET_DF = """FROM busybox
RUN --mount=type=secret,id=tok test "$(sha256sum < /run/secrets/tok | cut -d' ' -f1)" = "HASH" \\
 && stat -c '%a %u' /run/secrets/tok && if echo x > /run/secrets/tok; then exit 7; fi && echo secret-file-ok
RUN --mount=type=secret,id=tok,target=/k/key,mode=0440,uid=1000,gid=2 stat -c 'mode=%a uid=%u gid=%g' /k/key
RUN --mount=type=secret,id=tok,env=TOK,target=/run/secrets/tok2 test -s /run/secrets/tok2 \\
 && test "$(printf %s "$TOK" | sha256sum | cut -d' ' -f1)" = "HASH" && echo secret-env-ok
RUN --mount=type=secret,id=absent,env=ABSENT test -z "$ABSENT" && test ! -e /run/secrets/absent && echo opt-ok
RUN ls -a / /run > /listing 2>&1; true
"""


def _image_bytes(d: DaemonProc, tag: str) -> bytes:
    raw = subprocess.run(["docker", "save", tag], env=d.env, capture_output=True, timeout=120, check=True).stdout
    blobs = [raw]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        for m in tf:
            f = tf.extractfile(m) if m.isreg() else None
            if f is not None:
                blobs.append(f.read())
    return b"".join(blobs)


def test_secrets_through_our_cli(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    ctx = _ctx(tmp_path, SECRET_DF.replace("HASH", hashlib.sha256(value.encode()).hexdigest()))
    secret_file = tmp_path / "tok.txt"
    secret_file.write_text(value)
    tag = f"dwb-sec-{uuid.uuid4().hex[:6]}:1"
    r = dw(dw_daemon, "build", "--progress=plain", "-t", tag, "--secret", f"id=tok,src={secret_file}", str(ctx))
    assert "secret-file-ok" in r.stdout and "400 0" in r.stdout, r.stdout
    assert "mode=440 uid=1000 gid=2" in r.stdout and "secret-env-ok" in r.stdout and "opt-ok" in r.stdout
    listing = docker(dw_daemon, "run", "--rm", tag, "cat", "/listing").stdout
    assert "No such file" in listing and "k" not in listing.split(), listing  # no stubs left in the layers
    assert value.encode() not in _image_bytes(dw_daemon, tag)
    hist = docker(dw_daemon, "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag).stdout
    inspect = docker(dw_daemon, "image", "inspect", tag).stdout
    assert value not in hist and value not in inspect and "secret-file-ok" in hist
    grep = subprocess.run(["grep", "-rlF", "--", value, str(dw_daemon.tmp)], capture_output=True, text=True,
                          timeout=60)
    assert grep.stdout.strip() == "", grep.stdout  # no file of the daemon's holds it, the log included
    # the key names the secret's id, not its value: another value is a cache hit (as BuildKit does)
    env = dict(dw_daemon.env, TOKVAR="another value")
    r = subprocess.run([*DW, "build", "-t", tag, "--progress=plain", "--secret", "id=tok,env=TOKVAR", str(ctx)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and steps(r.stdout) == ["cache"] * 5, r.stdout + r.stderr
    docker(dw_daemon, "rmi", tag)


def test_missing_required_secret_cli(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM busybox\nRUN echo before\nRUN --mount=type=secret,id=npmrc,required=true cat "
                         "/run/secrets/npmrc\n")
    r = dw(dw_daemon, "build", str(ctx), check=False)
    assert r.returncode != 0
    assert "Dockerfile:3: RUN failed: secret 'npmrc' is required but was not provided" in r.stderr, r.stderr
    r = dw(dw_daemon, "build", "--secret", f"id=npmrc,src={tmp_path / 'missing'}", str(ctx), check=False)
    assert r.returncode != 0 and "cannot read" in r.stderr


def test_cache_mount_persists_and_leaves_no_stub(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    cid = uuid.uuid4().hex[:8]
    ctx = _ctx(tmp_path, f"FROM busybox\nWORKDIR /w\nRUN --mount=type=cache,id={cid},target=c,uid=1000 "
                         "echo x >> c/log && echo runs=$(wc -l < c/log) owner=$(stat -c %u c)\nRUN ls -a /w > /l\n")
    out = _build(dw_daemon, ctx)
    assert "runs=1 owner=1000" in out, out
    tag = f"dwb-cache-{uuid.uuid4().hex[:6]}:1"
    out = _build(dw_daemon, ctx, "--no-cache", "-t", tag)
    assert "runs=2" in out, out
    r = docker(dw_daemon, "run", "--rm", tag, "cat", "/l")
    assert r.stdout.split() == [".", ".."]
    docker(dw_daemon, "rmi", tag)


def test_mount_stub_cleanup_never_touches_the_host(dw_daemon: DaemonProc, busybox_image: str,
                                                   tmp_path: Path) -> None:
    """The step swaps a stub's parent for a symlink to a host dir: the cleanup must not follow it."""
    victim = tmp_path / f"victim-{uuid.uuid4().hex[:6]}"
    (victim / "y").mkdir(parents=True)
    df = (f"FROM busybox\nRUN --mount=type=tmpfs,target=/x/y mv /x /z && ln -s {victim} /x\n")
    ctx = _ctx(tmp_path, df)
    _build(dw_daemon, ctx, "--no-cache")
    assert (victim / "y").is_dir()
