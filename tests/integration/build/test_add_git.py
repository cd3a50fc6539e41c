"""ADD <git-url>: repositories made here, served by ``git daemon`` (git://) and by a plain HTTP server
(the dumb protocol: no shallow clones, so the full-clone fallback), built with the real docker CLI."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.build.test_build import _build
from tests.integration.conftest import docker
from tests.support.buildcache import steps
from tests.support.daemon import DaemonProc
from tests.support.ports import free_port, wait_for_port

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed (apt-get install git)")


def _git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": "/usr/bin:/bin",
           "GIT_CONFIG_NOSYSTEM": "1"}
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=True)
    return r.stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A work tree at base/src with a tag v1, and ``git daemon`` serving base at the returned URL."""
    base = tmp_path_factory.mktemp("gitsrv")
    name = f"repo-{uuid.uuid4().hex[:6]}"
    src = base / f"{name}.git"
    (src / "sub" / "deep").mkdir(parents=True)
    _git(src, "init", "-q", "-b", "main")
    (src / "README").write_text(f"readme {name}\n")
    (src / "sub" / "one.txt").write_text("one v1\n")
    (src / "sub" / "deep" / "two.txt").write_text("two\n")
    (src / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (src / "run.sh").chmod(0o755)
    _git(src, "add", "-A")
    _git(src, "commit", "-q", "-m", "first")
    _git(src, "tag", "-a", "v1", "-m", "v1")
    port = free_port()
    proc = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={base}", "--listen=127.0.0.1",
                             f"--port={port}", "--reuseaddr", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 20)
        yield src, f"git://127.0.0.1:{port}/{name}.git"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_add_git_refs_subdir_keep_git_dir_and_cache(dw_daemon: DaemonProc, busybox_image: str, repo: tuple[Path, str],
                                                    tmp_path: Path) -> None:
    src, url = repo
    first = _git(src, "rev-parse", "HEAD")
    df = (f"FROM busybox\n"
          f"ADD {url}#v1:sub /tagged\n"
          f"ADD {url} /whole\n"
          f"ADD --keep-git-dir {url}#main /withgit\n"
          f"ADD {url}#{first}:sub/deep /bysha/\n"
          "RUN ls -a /whole /tagged; ls -l /whole/run.sh; cat /tagged/one.txt /bysha/two.txt; "
          "test -d /withgit/.git && test ! -e /whole/.git && echo git-ok\n")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(df)
    tag = f"dwb-git-{uuid.uuid4().hex[:6]}:1"
    out = _build(dw_daemon, ctx, "-t", tag)
    assert "git-ok" in out and "one v1" in out and "two" in out and "-rwxr-xr-x" in out, out
    assert "Cloning " in out
    r = docker(dw_daemon, "run", "--rm", tag, "sh", "-c", "ls /tagged /whole; cat /whole/README")
    assert "one.txt" in r.stdout and "deep" in r.stdout and "readme" in r.stdout
    out = _build(dw_daemon, ctx, "-t", tag)
    assert steps(out) == ["cache"] * 5 and "Cloning" not in out, out
    (src / "sub" / "one.txt").write_text("one v2\n")
    _git(src, "commit", "-q", "-am", "second")
    out = _build(dw_daemon, ctx, "-t", tag)
    # the tag and the sha still name the first commit; the default branch and main moved
    assert steps(out) == ["cache", "ran", "ran", "ran", "ran"], out
    r = docker(dw_daemon, "run", "--rm", tag, "cat", "/tagged/one.txt", "/whole/sub/one.txt")
    assert r.stdout == "one v1\none v2\n"
    docker(dw_daemon, "rmi", tag)


def test_add_git_errors(dw_daemon: DaemonProc, busybox_image: str, repo: tuple[Path, str], tmp_path: Path) -> None:
    _, url = repo
    closed = free_port()
    cases = {
        f"FROM busybox\nADD {url}#no-such-branch /x\n": "Dockerfile:2: ADD failed: git repository",
        f"FROM busybox\nRUN true\nADD git://127.0.0.1:{closed}/nothing.git /x\n":
            "Dockerfile:3: ADD failed: cannot reach git repository git://127.0.0.1:",
        f"FROM busybox\nADD {url}#v1:nodir /x\n": "Dockerfile:2: ADD failed: subdir 'nodir' not found",
    }
    for df, want in cases.items():
        ctx = tmp_path / uuid.uuid4().hex[:6]
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(df)
        r = docker(dw_daemon, "build", str(ctx), check=False)
        assert r.returncode != 0 and want in r.stderr + r.stdout, (df, r.stdout, r.stderr)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_add_git_dumb_http_full_clone_fallback(dw_daemon: DaemonProc, busybox_image: str, repo: tuple[Path, str],
                                               tmp_path: Path) -> None:
    src, _ = repo
    serve = tmp_path / "www"
    serve.mkdir()
    bare = serve / "r.git"
    _git(tmp_path, "clone", "-q", "--bare", str(src), str(bare))
    _git(bare, "update-server-info")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(serve)))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        port = server.server_address[1]
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(f"FROM busybox\nADD http://127.0.0.1:{port}/r.git#v1 /repo\n"
                                        "RUN cat /repo/sub/one.txt\n")
        out = _build(dw_daemon, ctx)
        assert "one v1" in out, out
    finally:
        server.shutdown()
        server.server_close()
        t.join(timeout=10)
