"""``dockwright build`` end to end, and a daemon killed in the middle of a build."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

from tests.integration.build.test_build import _app, _build
from tests.integration.conftest import docker
from tests.support.buildcache import dw, steps
from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon


def test_cli_build_explain_quiet_iidfile(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    ctx = _app(tmp_path)
    tag = f"dwb-cli-{uuid.uuid4().hex[:6]}:1"
    r = dw(dw_daemon, "build", "-t", tag, "--progress=plain", str(ctx))
    assert "Successfully tagged" in r.stdout and "Step 1/6 : FROM busybox" in r.stdout
    (ctx / "src" / "m3.py").write_text("changed\n")
    r = dw(dw_daemon, "build", "-t", tag, "--progress=plain", "--explain=json", str(ctx))
    report = json.loads(r.stdout[r.stdout.index("[\n"):])
    assert [e["cached"] for e in report] == [True, True, True, False, False]
    assert report[3]["changed_files"] == ["src/m3.py"]
    iid = tmp_path / "iid"
    r = dw(dw_daemon, "build", "-q", "--iidfile", str(iid), "-t", tag, str(ctx))
    assert r.stdout.strip() == iid.read_text() and r.stdout.startswith("sha256:")
    r = dw(dw_daemon, "build", "--explain", str(ctx))
    assert "5/5 steps from cache" in r.stdout
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN exit 4\n")
    r = dw(dw_daemon, "build", str(ctx), check=False)
    assert r.returncode != 0 and "returned a non-zero code: 4" in r.stderr
    docker(dw_daemon, "rmi", tag)


def test_kill_daemon_mid_build_then_reuse(tmp_path: Path) -> None:
    d = new_daemon()
    try:
        d.start()
        status, body = d.request("POST", "/v1.47/images/create?fromSrc=-&repo=busybox&tag=latest",
                                 rootfs_tar_bytes(), {"Content-Type": "application/x-tar"})
        assert status == 200, body
        df = ("FROM busybox\nCOPY requirements.txt /r.txt\nRUN echo first > /first\n"
              "RUN touch /started; sleep 30\nCOPY . /app\n")
        ctx = _app(tmp_path, df)
        proc = subprocess.Popen(["docker", "build", str(ctx)], env=d.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        seen = ""
        deadline = time.time() + 60
        while "Step 4/5" not in seen and time.time() < deadline:
            seen += proc.stdout.readline()
        time.sleep(1)
        assert d.proc is not None
        d.proc.kill()
        d.proc.wait()
        proc.wait(timeout=30)
        time.sleep(1)
        d.start()
        status, body = d.request("GET", "/v1.47/dockwright/system/check")
        report = json.loads(body)
        assert status == 200 and not report.get("Errors") and not report.get("Orphans"), body
        (ctx / "Dockerfile").write_text(df.replace("sleep 30", "true"))
        out = _build(d, ctx)
        assert steps(out)[:2] == ["cache", "cache"], out
        status, body = d.request("GET", "/v1.47/system/df")
        assert status == 200
    finally:
        d.cleanup()


def test_cli_builder_prune(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    """`dockwright builder prune` as `docker builder prune`: the report, --keep-storage, -a, the prompt."""
    ctx = _app(tmp_path, "FROM busybox\nCOPY requirements.txt /r\nRUN echo " + uuid.uuid4().hex + " > /b\n")
    dw(dw_daemon, "build", "-q", str(ctx))
    r = dw(dw_daemon, "builder", "prune", input="n\n")
    assert r.stdout.startswith("WARNING! This will remove all dangling build cache.") and "Total" not in r.stdout
    r = dw(dw_daemon, "builder", "prune", "-af", "--keep-storage", "1g")  # all of it fits: nothing goes
    assert r.stdout == "Total reclaimed space: 0B\n", r.stdout
    r = dw(dw_daemon, "builder", "prune", "-af")
    head, _, total = r.stdout.partition("\nTotal reclaimed space: ")
    assert head.startswith("Deleted build cache objects:\n") and len(head.splitlines()) >= 3, r.stdout
    assert total.strip() != "0B", r.stdout
    status, body = dw_daemon.request("GET", "/v1.47/system/df?type=build-cache")
    assert status == 200 and json.loads(body)["BuildCache"] == [], body
    r = dw(dw_daemon, "builder", "prune", "-f", "--keep-storage", "lots", check=False)
    assert r.returncode == 125 and 'invalid argument "lots" for "--keep-storage" flag' in r.stderr, r.stderr
