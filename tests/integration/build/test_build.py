"""docker build (legacy builder protocol) against a real daemon: cache, explanations, errors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.integration.conftest import api_json, docker
from tests.support.buildcache import steps
from tests.support.daemon import DaemonProc

APP_DOCKERFILE = """FROM busybox
WORKDIR /app
COPY requirements.txt .
RUN mkdir -p /deps && for i in $(cat requirements.txt); do mkdir -p /deps/$i && echo $i > /deps/$i/f; done
COPY . .
CMD ["sh"]
"""


def _app(tmp: Path, dockerfile: str = APP_DOCKERFILE) -> Path:
    ctx = tmp / f"app-{uuid.uuid4().hex[:6]}"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "requirements.txt").write_text(f"a\nb\nc\nu{uuid.uuid4().hex[:8]}\n")  # no cache shared between tests
    for i in range(50):
        (ctx / "src" / f"m{i}.py").write_text(f"x = {i}\n")
    (ctx / ".dockerignore").write_text("secret*\n")
    (ctx / "secret.txt").write_text("nope\n")
    return ctx


def _build(d: DaemonProc, ctx: Path, *args: str, check: bool = True) -> str:
    r = docker(d, "build", *args, str(ctx), check=check)
    return r.stdout + r.stderr


def test_cold_warm_one_file_change(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    ctx = _app(tmp_path)
    tag = f"dwb-app-{uuid.uuid4().hex[:6]}:1"
    out = _build(dw_daemon, ctx, "-t", tag)
    assert "Successfully built" in out and f"Successfully tagged {tag}" in out
    assert steps(out)[1:] == ["ran"] * 4  # WORKDIR /app on busybox may come from another test
    assert "Running in" in out and "Removing intermediate container" in out
    out2 = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out2) == ["cache"] * 5
    assert out2.count(" => CACHED") == 5
    (ctx / "src" / "m7.py").write_text("x = 'changed'\n")
    out3 = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out3) == ["cache", "cache", "cache", "ran", "ran"]
    assert "src/m7.py (changed)" in out3
    r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c", "cat /app/src/m7.py; ls /deps; ls /app")
    assert "changed" in r.stdout and "a\nb\nc" in r.stdout
    assert "secret.txt" not in r.stdout
    hist = docker(dw_daemon, "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag).stdout
    assert "/bin/sh -c #(nop)  CMD [\"sh\"]" in hist
    assert "/bin/sh -c #(nop) COPY dir:" in hist and "/bin/sh -c #(nop) WORKDIR /app" in hist
    status, df = api_json(dw_daemon, "GET", "/v1.47/system/df")
    assert status == 200 and isinstance(df, dict) and df["BuildCache"]
    docker(dw_daemon, "rmi", tag)


def test_bad_ordering_lint_and_rerun(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    df = "FROM busybox\nWORKDIR /app\nCOPY . .\nRUN for i in $(cat requirements.txt); do echo install $i; done\n"
    ctx = _app(tmp_path, df)
    out = _build(dw_daemon, ctx)
    assert "[lint]" in out and "COPY only" in out
    (ctx / "src" / "m1.py").write_text("y = 1\n")
    out2 = _build(dw_daemon, ctx)
    assert steps(out2) == ["cache", "ran", "ran"]


def test_multistage_target_args(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    df = ("ARG BASE=busybox\nFROM $BASE AS one\nARG V=1\nRUN echo v$V > /one\n"
          "FROM busybox AS two\nRUN echo two > /two\n"
          "FROM busybox\nCOPY --from=one /one /r/one\nCOPY --from=1 /two /r/two\n")
    ctx = _app(tmp_path, df)
    tag = f"dwb-ms-{uuid.uuid4().hex[:6]}:1"
    _build(dw_daemon, ctx, "-t", tag, "--build-arg", "V=7")
    r = docker(dw_daemon, "run", "--rm", tag, "cat", "/r/one", "/r/two")
    assert r.stdout == "v7\ntwo\n"
    out = _build(dw_daemon, ctx, "-t", tag, "--build-arg", "V=8")
    assert "build args changed: V (7 -> 8)" in out
    out = _build(dw_daemon, ctx, "-t", tag + "t", "--target", "two")
    assert "RUN echo v$V" not in out
    r = docker(dw_daemon, "run", "--rm", tag + "t", "ls", "/")
    assert "two" in r.stdout and "one" not in r.stdout.split()
    docker(dw_daemon, "rmi", tag, tag + "t")


def test_failing_run(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    ctx = _app(tmp_path, "FROM busybox\nRUN echo boom-output && exit 3\n")
    out = _build(dw_daemon, ctx, check=False)
    assert "boom-output" in out
    assert "The command '/bin/sh -c echo boom-output && exit 3' returned a non-zero code: 3" in out


BAD = {
    "unknown": ("FROM busybox\nFOO bar\n", "Dockerfile:2"),
    "nofrom": ("RUN true\n", "Dockerfile:1"),
    "badjson": ('FROM busybox\nSHELL ["a", \n', "Dockerfile:2"),
    "outside": ("FROM busybox\nCOPY ../x /x\n", "Dockerfile:2"),
    "badindex": ("FROM busybox\nCOPY --from=5 /a /b\n", "Dockerfile:2"),
    "cycle": ("FROM a AS b\nFROM b AS a\n", "circular"),
    "empty": ("", "Dockerfile"),
    "missing": ("FROM busybox\nCOPY nothere /x\n", "Dockerfile:2"),
}


def test_bad_dockerfiles(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    before = api_json(dw_daemon, "GET", "/v1.47/images/json?all=1")[1]
    for name, (text, want) in BAD.items():
        ctx = _app(tmp_path, text)
        out = _build(dw_daemon, ctx, "-t", f"dwb-bad-{name}", check=False)
        assert "Successfully built" not in out, name
        assert want in out, (name, out)
    ctx = _app(tmp_path, "FROM busybox\nCOPY link/x /x\n")
    (ctx / "link").symlink_to("/etc")
    out = _build(dw_daemon, ctx, check=False)
    assert "outside the build context" in out and "Dockerfile:2" in out
    assert api_json(dw_daemon, "GET", "/v1.47/images/json?all=1")[1] == before


def test_bad_dockerfile_is_400(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    import io
    import tarfile

    for name, (text, want) in BAD.items():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for fname, data in (("Dockerfile", text.encode()), ("requirements.txt", b"a\n")):
                ti = tarfile.TarInfo(fname)
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
        status, body = dw_daemon.request("POST", "/v1.47/build", buf.getvalue(),
                                         {"Content-Type": "application/x-tar"})
        assert status == 400, (name, status, body)
        assert want in json.loads(body)["message"], (name, body)


def test_independent_stages_run_concurrently(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    import time

    df = ("FROM busybox AS a\nRUN sleep 1 && echo a > /a\nFROM busybox AS b\nRUN sleep 1 && echo b > /b\n"
          "FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n")
    ctx = _app(tmp_path, df)
    t0 = time.monotonic()
    out = _build(dw_daemon, ctx, "--no-cache")
    elapsed = time.monotonic() - t0
    assert elapsed < 1.9, elapsed
    assert out.index("Step 2/7") < out.index("Step 3/7") < out.index("Step 4/7") < out.index("Step 5/7")


def test_run_network_modes(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    ctx = _app(tmp_path, "FROM busybox\nRUN cat /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ,\n")
    out = _build(dw_daemon, ctx, "--no-cache")
    assert "eth0," in out and "lo," in out
    out = _build(dw_daemon, ctx, "--no-cache", "--network", "none")
    assert "eth0," not in out and "lo," in out


def test_prune_cache_from_and_df(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    """Images are never cache sources unless named by --cache-from (CVE-2024-24557), then the legacy
    history rule applies; prune empties the cache; df lists it."""
    df = "FROM busybox\nENV A=1\nCOPY requirements.txt /r\nRUN echo built > /b\nCMD [\"sh\"]\n"
    ctx = _app(tmp_path, df)
    tag = f"dwb-cf-{uuid.uuid4().hex[:6]}:1"
    _build(dw_daemon, ctx, "-t", tag)
    r = docker(dw_daemon, "system", "df", "-v")
    assert "Build cache usage" in r.stdout
    status, body = api_json(dw_daemon, "GET", "/v1.47/system/df")
    assert isinstance(body, dict) and len(body["BuildCache"]) >= 4
    docker(dw_daemon, "builder", "prune", "-af", "--filter", "until=1h")  # everything is newer: kept
    status, body = api_json(dw_daemon, "GET", "/v1.47/system/df")
    assert isinstance(body, dict) and len(body["BuildCache"]) >= 4
    r = docker(dw_daemon, "builder", "prune", "-af")
    assert "Total reclaimed space" in r.stdout
    status, body = api_json(dw_daemon, "GET", "/v1.47/system/df")
    assert isinstance(body, dict) and body["BuildCache"] == []
    out = _build(dw_daemon, ctx)
    assert steps(out) == ["ran"] * 4
    docker(dw_daemon, "builder", "prune", "-af")
    out = _build(dw_daemon, ctx, "--cache-from", tag, "-t", tag + "b")
    assert steps(out) == ["cache"] * 4, out
    r = docker(dw_daemon, "run", "--rm", tag + "b", "cat", "/b")
    assert r.stdout == "built\n"
    docker(dw_daemon, "rmi", tag, tag + "b")


def test_cache_mount_and_add_tar(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    import io
    import tarfile

    df = ("FROM busybox\nADD bundle.tar /opt/\n"
          "RUN --mount=type=cache,target=/cache echo x >> /cache/count && wc -l < /cache/count > /seen\n")
    ctx = _app(tmp_path, "# syntax=docker/dockerfile:1\n" + df)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("inner/file.txt")
        ti.size = 5
        tf.addfile(ti, io.BytesIO(b"hello"))
    (ctx / "bundle.tar").write_bytes(buf.getvalue())
    tag = f"dwb-cm-{uuid.uuid4().hex[:6]}:1"
    _build(dw_daemon, ctx, "-t", tag, "--no-cache")
    _build(dw_daemon, ctx, "-t", tag, "--no-cache")
    r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c", "cat /opt/inner/file.txt; echo; cat /seen; test ! -e /cache")
    assert r.stdout.startswith("hello\n2\n"), r.stdout
    docker(dw_daemon, "rmi", tag)


def test_client_disconnect_stops_the_build(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    import io
    import socket
    import subprocess
    import tarfile
    import time

    marker = uuid.uuid4().hex[:8]
    df = f"FROM busybox\nENV M={marker}\nRUN sleep 20\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = len(df)
        tf.addfile(ti, io.BytesIO(df))
    body = buf.getvalue()
    s = socket.socket(socket.AF_UNIX)
    s.connect(dw_daemon.socket)
    s.sendall(b"POST /v1.47/build HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
              + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    got = b""
    deadline = time.time() + 20
    while b"Running in" not in got and time.time() < deadline:
        got += s.recv(65536)
    s.close()
    running = True
    deadline = time.time() + 10
    while running and time.time() < deadline:
        time.sleep(0.3)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        running = any("runc" in line and str(dw_daemon.data_root) in line for line in ps.splitlines())
    assert not running
    ctx = _app(tmp_path, df.decode().replace("sleep 20", "true"))
    out = _build(dw_daemon, ctx)
    assert steps(out) == ["cache", "ran"]


def test_dockerfile_outside_context_stdin_tags_quiet(dw_daemon: DaemonProc, busybox_image: str,
                                                     tmp_path: Path) -> None:
    ctx = _app(tmp_path, "")
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text("FROM busybox\nCOPY requirements.txt /\nONBUILD RUN echo triggered > /t\n")
    t1, t2 = f"dwb-f-{uuid.uuid4().hex[:6]}:1", f"dwb-f-{uuid.uuid4().hex[:6]}:2"
    iid = tmp_path / "iid"
    r = docker(dw_daemon, "build", "-q", "--iidfile", str(iid), "-t", t1, "-t", t2, "-f", str(outside), str(ctx))
    assert r.stdout.strip() == iid.read_text().strip() and iid.read_text().startswith("sha256:")  # as dockerd
    assert docker(dw_daemon, "image", "inspect", "-f", "{{.Id}}", t2).stdout.strip() == iid.read_text().strip()
    child = f"FROM {t1}\nRUN cat /t\n".encode()
    r = docker(dw_daemon, "build", "-f", "-", str(ctx), input=child)
    assert "triggered" in r.stdout and "Executing 1 build trigger" in r.stdout
    docker(dw_daemon, "rmi", t1, t2)


def test_copy_chown_chmod_and_cache_key(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    df = "FROM busybox\nCOPY --chown=1000:1001 --chmod=600 requirements.txt /r\nCOPY --chown=root src /s\n"
    ctx = _app(tmp_path, df)
    tag = f"dwb-own-{uuid.uuid4().hex[:6]}:1"
    _build(dw_daemon, ctx, "-t", tag, "--label", "team=build")
    labels = docker(dw_daemon, "image", "inspect", "-f", "{{json .Config.Labels}}", tag).stdout
    assert json.loads(labels) == {"team": "build"}
    r = docker(dw_daemon, "run", "--rm", tag, "stat", "-c", "%u %g %a", "/r", "/s/m1.py")
    assert r.stdout.split("\n")[:2] == ["1000 1001 600", "0 0 644"], r.stdout
    out = _build(dw_daemon, ctx, "-t", tag, "--label", "team=build")
    assert steps(out) == ["cache", "cache", "cache"]
    (ctx / "Dockerfile").write_text(df.replace("1000:1001", "1000:1002"))
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["ran", "ran"]
    docker(dw_daemon, "rmi", tag)


def test_scratch_and_copy_from_image(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    df = ("FROM scratch\nCOPY --from=busybox /bin/busybox /bin/busybox\nCOPY requirements.txt /\n"
          'CMD ["/bin/busybox", "cat", "/requirements.txt"]\n')
    ctx = _app(tmp_path, df)
    tag = f"dwb-scratch-{uuid.uuid4().hex[:6]}:1"
    out = _build(dw_daemon, ctx, "-t", tag)
    assert "Successfully tagged" in out
    r = docker(dw_daemon, "run", "--rm", tag)
    assert r.stdout.startswith("a\nb\nc\n")
    hist = docker(dw_daemon, "history", "-q", tag).stdout.split()
    assert len(hist) == 3
    docker(dw_daemon, "rmi", tag)
