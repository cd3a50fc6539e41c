"""Heredocs in RUN/COPY, ADD from a URL and ADD of compressed tars, built with the docker CLI
against our daemon (the legacy CLI sends any Dockerfile; our daemon parses the heredocs)."""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import os
import tarfile
import threading
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.build.test_build import _build
from tests.integration.conftest import docker
from tests.support.buildcache import steps
from tests.support.daemon import DaemonProc

HEREDOC_DOCKERFILE = """FROM busybox
ARG X=argval
RUN <<EOF
echo "one $X" > /r1
echo two >> /r1
EOF
RUN <<EOF sh
echo "via sh $X" > /r2
EOF
RUN <<EOF
#!/bin/sh
echo "shebang $0" > /r3
EOF
RUN cat <<A > /r4a && cat <<-B > /r4b
a
A
\tb
\tB
COPY <<EOF /c1
hello ${X}
EOF
COPY <<'EOF' /c2
hello ${X}
EOF
COPY --chmod=0755 --chown=12:34 <<A <<B /dir/
aa
A
bb
B
"""


def _ctx(tmp: Path, dockerfile: str) -> Path:
    ctx = tmp / f"ctx-{uuid.uuid4().hex[:6]}"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def _rmi(d: DaemonProc, tag: str) -> None:
    docker(d, "rmi", "-f", tag, check=False)


def test_heredocs_run_and_copy(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    tag = f"dwb-heredoc-{uuid.uuid4().hex[:6]}:1"
    marker = uuid.uuid4().hex[:8]
    ctx = _ctx(tmp_path, HEREDOC_DOCKERFILE.replace("echo two", f"echo two-{marker}"))
    try:
        out = _build(dw_daemon, ctx, "-t", tag)
        assert "Successfully built" in out, out
        r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c",
                   "cat /r1 /r2 /r3 /r4a /r4b /c1 /c2 /dir/A /dir/B; stat -c '%a %u %g' /c1 /dir/A /dir/B")
        assert r.stdout.splitlines() == [
            "one argval", f"two-{marker}", "via sh argval", "shebang /dev/pipes/EOF", "a", "b",
            "hello argval", "hello ${X}", "aa", "bb", "644 0 0", "755 12 34", "755 12 34"], r.stdout
        # nothing of the /dev/pipes mount ends up in the image
        r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c", "ls /dev/pipes 2>&1 || true")
        assert "EOF" not in r.stdout
        out = _build(dw_daemon, ctx, "-t", tag)
        assert steps(out) == ["cache"] * 8, out
        # the heredoc's content is part of the cache key
        (ctx / "Dockerfile").write_text(
            HEREDOC_DOCKERFILE.replace("echo two", f"echo two-{marker}").replace("aa\n", "changed\n"))
        out = _build(dw_daemon, ctx, "-t", tag)
        assert steps(out) == ["cache"] * 7 + ["ran"], out
        _build(dw_daemon, ctx, "-t", tag, "--build-arg", "X=other")
        r = docker(dw_daemon, "run", "--rm", tag, "cat", "/c1", "/c2", "/dir/A")
        assert r.stdout.splitlines() == ["hello other", "hello ${X}", "changed"]
    finally:
        _rmi(dw_daemon, tag)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(_QuietHandler, directory=str(root))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", root
    finally:
        srv.shutdown()
        srv.server_close()
        t.join()


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o640
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_add_from_url(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path,
                      http_files: tuple[str, Path]) -> None:
    base, root = http_files
    marker = uuid.uuid4().hex
    (root / "hello.txt").write_text(f"hello {marker}\n")
    os.utime(root / "hello.txt", (1600000000, 1600000000))
    tgz = _tar({"inner.txt": b"inner\n"})
    import gzip
    (root / "a.tar.gz").write_bytes(gzip.compress(tgz))
    digest = hashlib.sha256((root / "a.tar.gz").read_bytes()).hexdigest()
    tag = f"dwb-addurl-{uuid.uuid4().hex[:6]}:1"
    df = (f"FROM busybox\nADD {base}/hello.txt /dl/\n"
          f"ADD --checksum=sha256:{digest} {base}/a.tar.gz /dl/a.tar.gz\n"
          f"ADD --chmod=644 {base}/hello.txt /named\n")
    ctx = _ctx(tmp_path, df)
    try:
        out = _build(dw_daemon, ctx, "-t", tag)
        assert "Successfully built" in out, out
        r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c",
                   "cat /dl/hello.txt; stat -c '%a %Y %s' /dl/hello.txt /named; ls /dl; cat /dl/a.tar.gz | wc -c")
        lines = r.stdout.splitlines()
        assert lines[0] == f"hello {marker}"
        assert lines[1] == f"600 1600000000 {len(marker) + 7}" and lines[2].startswith("644 1600000000")
        assert lines[3:5] == ["a.tar.gz", "hello.txt"]  # not extracted
        assert int(lines[5]) == (root / "a.tar.gz").stat().st_size
        out = _build(dw_daemon, ctx, "-t", tag)
        assert steps(out) == ["cache"] * 3, out
        os.utime(root / "hello.txt", (1700000000, 1700000000))  # the key is the content, not the time
        out = _build(dw_daemon, ctx, "-t", tag)
        assert steps(out) == ["cache"] * 3, out
        (root / "hello.txt").write_text("changed\n")
        out = _build(dw_daemon, ctx, "-t", tag)
        assert steps(out) == ["ran"] * 3, out
        (ctx / "Dockerfile").write_text(df.replace(digest, "0" * 64))
        out = _build(dw_daemon, ctx, "-t", tag + "x", check=False)
        assert "digest mismatch" in out and "Successfully built" not in out, out
        (ctx / "Dockerfile").write_text(f"FROM busybox\nADD {base}/missing.txt /m\n")
        out = _build(dw_daemon, ctx, "-t", tag + "x", check=False)
        assert "404" in out and "Successfully built" not in out, out
        (ctx / "Dockerfile").write_text(f"FROM busybox\nADD --checksum=sha256:{digest} Dockerfile /m\n")
        out = _build(dw_daemon, ctx, "-t", tag + "x", check=False)
        assert "non-HTTP(S) sources" in out and "Successfully built" not in out, out
    finally:
        _rmi(dw_daemon, tag)


def test_add_local_compressed_tars(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    tag = f"dwb-addtar-{uuid.uuid4().hex[:6]}:1"
    marker = uuid.uuid4().hex[:8]
    ctx = _ctx(tmp_path, "FROM busybox\nADD a.tar.bz2 b.tar.xz c.tar /x/\nADD notatar.bz2 /y/\n")
    (ctx / "a.tar.bz2").write_bytes(bz2.compress(_tar({"a/one.txt": f"one {marker}\n".encode()})))
    (ctx / "b.tar.xz").write_bytes(lzma.compress(_tar({"two.txt": b"two\n"})))
    (ctx / "c.tar").write_bytes(_tar({"three.txt": b"three\n"}))
    (ctx / "notatar.bz2").write_bytes(bz2.compress(b"just text\n"))
    try:
        _build(dw_daemon, ctx, "-t", tag)
        r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c",
                   "cat /x/a/one.txt /x/two.txt /x/three.txt; stat -c %a /x/two.txt; ls /y")
        assert r.stdout.splitlines() == [f"one {marker}", "two", "three", "640", "notatar.bz2"], r.stdout
    finally:
        _rmi(dw_daemon, tag)


def test_history_names_step_images_and_rmi_prunes_them(dw_daemon: DaemonProc, busybox_image: str,
                                                         tmp_path: Path) -> None:
    tag = f"dwb-hist-{uuid.uuid4().hex[:6]}:1"
    marker = uuid.uuid4().hex[:8]
    ctx = _ctx(tmp_path, f"FROM busybox\nENV M={marker}\nRUN echo $M > /m\nCOPY <<EOF /f\n{marker}\nEOF\n"
                         "CMD [\"cat\", \"/m\"]\n")
    _build(dw_daemon, ctx, "-t", tag)
    try:
        ids = docker(dw_daemon, "history", "-q", "--no-trunc", tag).stdout.split()
        base = docker(dw_daemon, "image", "inspect", "-f", "{{.Id}}", busybox_image).stdout.strip()
        assert len(ids) == 5 and "<missing>" not in ids and ids[-1] == base, ids
        steps = ids[1:4]
        assert docker(dw_daemon, "image", "inspect", "-f", "{{.Parent}}", tag).stdout.strip() == ids[1]
        listed = docker(dw_daemon, "images", "-q", "--no-trunc").stdout.split()
        listed_all = docker(dw_daemon, "images", "-a", "-q", "--no-trunc").stdout.split()
        assert not set(steps) & set(listed) and set(steps) <= set(listed_all)
        # a rebuild from the cache gives the same step images
        _build(dw_daemon, ctx, "-t", tag)
        assert docker(dw_daemon, "history", "-q", "--no-trunc", tag).stdout.split() == ids
        r = docker(dw_daemon, "rmi", tag)
        deleted = {line.removeprefix("Deleted: ") for line in r.stdout.splitlines()}
        assert {ids[0], *steps} <= deleted and base not in deleted, r.stdout
        listed_all = docker(dw_daemon, "images", "-a", "-q", "--no-trunc").stdout.split()
        assert not {ids[0], *steps} & set(listed_all) and base in listed_all
    finally:
        _rmi(dw_daemon, tag)


def test_failed_build_leaves_a_dangling_chain_prune_removes_it(dw_daemon: DaemonProc, busybox_image: str,
                                                                tmp_path: Path) -> None:
    marker = uuid.uuid4().hex[:8]
    ctx = _ctx(tmp_path, f"FROM busybox\nLABEL dwtest={marker}\nRUN echo {marker} > /x\nRUN exit 3\n")
    out = _build(dw_daemon, ctx, check=False)
    assert "returned a non-zero code: 3" in out
    ids = docker(dw_daemon, "images", "-a", "-q", "--no-trunc", "-f", f"label=dwtest={marker}").stdout.split()
    dangling = docker(dw_daemon, "images", "-q", "--no-trunc", "-f", "dangling=true",
                      "-f", f"label=dwtest={marker}").stdout.split()
    assert len(ids) == 2 and len(dangling) == 1 and dangling[0] in ids, (ids, dangling)
    r = docker(dw_daemon, "image", "prune", "-f", "--filter", f"label=dwtest={marker}")
    assert all(i in r.stdout for i in ids), r.stdout
    assert not docker(dw_daemon, "images", "-a", "-q", "-f", f"label=dwtest={marker}").stdout.split()
