"""top, stats, cp, diff, export, commit, update, healthchecks, --init and resource limits, end to end.

Driven with the real docker CLI and the docker SDK against our daemon; each test
names its containers and images uniquely and removes them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.conftest import docker as dk
from tests.support.daemon import DaemonProc


def _name(prefix: str) -> str:
    return f"x{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cleanup(dw_daemon: DaemonProc) -> Iterator[list[str]]:
    """Names of containers (and ``image:`` prefixed images) to remove after the test."""
    items: list[str] = []
    yield items
    for it in reversed(items):
        if it.startswith("image:"):
            dk(dw_daemon, "rmi", "-f", it[6:], check=False)
        else:
            dk(dw_daemon, "rm", "-f", it, check=False)


def _sleeper(d: DaemonProc, cleanup: list[str], image: str, *opts: str) -> str:
    name = _name("s")
    cleanup.append(name)
    dk(d, "run", "-d", "--name", name, *opts, image, "sleep", "300")
    return name


def test_top(dw_daemon: DaemonProc, busybox_image: str, cleanup: list[str]) -> None:
    name = _sleeper(dw_daemon, cleanup, busybox_image)
    out = dk(dw_daemon, "top", name).stdout.splitlines()
    assert out[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert len(out) == 2 and out[1].split()[0] == "root" and out[1].endswith("sleep 300")
    st, body = dw_daemon.request("GET", f"/v1.47/containers/{name}/top?ps_args=aux")
    top = json.loads(body)
    assert st == 200 and top["Titles"][0] == "USER" and top["Processes"][0][-1] == "sleep 300"
    dk(dw_daemon, "stop", "-t", "0", name)
    cid = dk(dw_daemon, "inspect", "-f", "{{.Id}}", name).stdout.strip()
    st, body = dw_daemon.request("GET", f"/v1.47/containers/{name}/top")
    assert st == 409 and json.loads(body)["message"] == f"Container {cid} is not running"


def test_stats(dw_daemon: DaemonProc, client: docker.DockerClient, busybox_image: str, cleanup: list[str]) -> None:
    name = _sleeper(dw_daemon, cleanup, busybox_image, "-m", "64m")
    s = client.api.stats(name, stream=False)
    assert s["name"] == "/" + name and s["pids_stats"]["current"] == 1
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and s["cpu_stats"]["online_cpus"] >= 1
    assert s["precpu_stats"]["system_cpu_usage"] > 0 and s["preread"] != "0001-01-01T00:00:00Z"
    assert s["memory_stats"]["limit"] == 64 << 20 and s["memory_stats"]["usage"] > 0
    assert "eth0" in s["networks"]
    one = client.api.stats(name, stream=False, one_shot=True)
    assert one["preread"] == "0001-01-01T00:00:00Z" and one["read"] != "0001-01-01T00:00:00Z"
    out = dk(dw_daemon, "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", name).stdout
    assert out.startswith(name + " ") and out.strip().endswith(" 1") and "64MiB" in out
    gen = client.api.stats(name, decode=True)
    first, second = next(gen), next(gen)
    assert second["preread"] == first["read"]
    gen.close()
    dk(dw_daemon, "stop", "-t", "0", name)
    z = client.api.stats(name, stream=False)
    assert z["read"] == "0001-01-01T00:00:00Z" and z["memory_stats"] == {} and z["pids_stats"] == {}


def _tar(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for n, data in entries.items():
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("running", [True, False])
def test_cp_both_ways_and_escapes(dw_daemon: DaemonProc, busybox_image: str, cleanup: list[str],
                                  running: bool) -> None:
    outside = Path(tempfile.mkdtemp(prefix="dw-cp-outside-"))
    (outside / "secret").write_text("host secret\n")
    work = Path(tempfile.mkdtemp(prefix="dw-cp-work-"))
    try:
        name = _sleeper(dw_daemon, cleanup, busybox_image)
        dk(dw_daemon, "exec", name, "sh", "-c",
           f"mkdir -p /d && echo inside > /d/f && ln -s {outside} /d/esc && ln -s ../../../../../ /d/up")
        if not running:
            dk(dw_daemon, "stop", "-t", "0", name)
        # out, and the stat header
        dk(dw_daemon, "cp", f"{name}:/d/f", str(work / "f"))
        assert (work / "f").read_text() == "inside\n"
        st, _ = dw_daemon.request("HEAD", f"/v1.47/containers/{name}/archive?path=/d/f")
        assert st == 200
        # a link pointing out of the container resolves inside it: the host's file is never read
        r = dk(dw_daemon, "cp", f"{name}:/d/esc/secret", str(work / "s"), check=False)
        assert r.returncode != 0 and "Could not find the file /d/esc/secret in container" in r.stderr
        assert not (work / "s").exists()
        st, body = dw_daemon.request("GET", f"/v1.47/containers/{name}/archive?path=/d/up/etc/passwd")
        assert st == 200 and b"root:" in body and "host" not in body.decode(errors="replace")
        # in: a file, a directory; writes through the escaping link stay inside the container
        (work / "in.txt").write_text("from host\n")
        dk(dw_daemon, "cp", str(work / "in.txt"), f"{name}:/d/")
        r = dk(dw_daemon, "cp", str(work / "in.txt"), f"{name}:/d/esc/", check=False)
        assert r.returncode != 0  # /tmp/... does not exist in the container
        dk(dw_daemon, "cp", str(work / "in.txt"), f"{name}:/d/esc", check=False)
        assert sorted(os.listdir(outside)) == ["secret"]
        (work / "tree" / "sub").mkdir(parents=True)
        (work / "tree" / "sub" / "g").write_text("deep\n")
        dk(dw_daemon, "cp", str(work / "tree"), f"{name}:/d/")
        dk(dw_daemon, "cp", f"{name}:/d/tree", str(work / "back"))
        assert (work / "back" / "sub" / "g").read_text() == "deep\n"
        st, body = dw_daemon.request("PUT", f"/v1.47/containers/{name}/archive?path=/d/f", _tar({"x": b"1"}))
        assert st == 400 and json.loads(body)["message"] == "extraction point is not a directory"
        st, body = dw_daemon.request("PUT", f"/v1.47/containers/{name}/archive?path=/nope", _tar({"x": b"1"}))
        assert st == 404 and "Could not find the file /nope in container" in json.loads(body)["message"]
        evil = _tar({"../../../../../../" + str(outside.relative_to("/")) + "/evil": b"pwned"})
        st, body = dw_daemon.request("PUT", f"/v1.47/containers/{name}/archive?path=/d", evil)
        assert st == 400, body
        assert sorted(os.listdir(outside)) == ["secret"]
        st, body = dw_daemon.request("GET", f"/v1.47/containers/{name}/archive?path=/nope")
        assert st == 404
        if not running:
            dk(dw_daemon, "start", name)
        out = dk(dw_daemon, "exec", name, "sh", "-c", f"cat /d/in.txt; cat {outside}").stdout
        assert out == "from host\nfrom host\n"  # the copy through the link landed inside the container
    finally:
        shutil.rmtree(outside)
        shutil.rmtree(work)


def test_cp_reaches_binds_of_a_running_container(dw_daemon: DaemonProc, busybox_image: str,
                                                 cleanup: list[str]) -> None:
    vol = Path(tempfile.mkdtemp(prefix="dw-cp-bind-"))
    try:
        (vol / "there").write_text("on the bind\n")
        name = _sleeper(dw_daemon, cleanup, busybox_image, "-v", f"{vol}:/data")
        with tempfile.TemporaryDirectory() as td:
            dk(dw_daemon, "cp", f"{name}:/data/there", f"{td}/there")
            assert Path(td, "there").read_text() == "on the bind\n"
            Path(td, "in").write_text("into the bind\n")
            dk(dw_daemon, "cp", f"{td}/in", f"{name}:/data/")
        assert (vol / "in").read_text() == "into the bind\n"
        ro = _sleeper(dw_daemon, cleanup, busybox_image, "--read-only", "-v", f"{vol}:/data")
        st, body = dw_daemon.request("PUT", f"/v1.47/containers/{ro}/archive?path=/etc", _tar({"x": b"1"}))
        assert st == 403 and json.loads(body)["message"] == "container rootfs is marked read-only"
        st, _ = dw_daemon.request("PUT", f"/v1.47/containers/{ro}/archive?path=/data", _tar({"x": b"1"}))
        assert st == 200 and (vol / "x").read_text() == "1"
        dk(dw_daemon, "rm", "-f", ro)
        dk(dw_daemon, "rm", "-f", name)
    finally:
        for f in vol.iterdir():
            f.unlink()
        vol.rmdir()


def test_diff_export_commit(dw_daemon: DaemonProc, client: docker.DockerClient, busybox_image: str,
                            cleanup: list[str]) -> None:
    name = _sleeper(dw_daemon, cleanup, busybox_image)
    assert dk(dw_daemon, "diff", name).stdout == ""  # the engine's mount points are not changes
    dk(dw_daemon, "exec", name, "sh", "-c", "mkdir /new && echo hi > /new/f && rm /bin/ls && touch /etc/passwd")
    lines = dk(dw_daemon, "diff", name).stdout.splitlines()
    assert lines == ["C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "A /new", "A /new/f"]
    image = f"xcommit-{uuid.uuid4().hex[:8]}"
    cleanup.insert(0, f"image:{image}:v1")
    img_id = dk(dw_daemon, "commit", "-m", "a message", "-a", "someone", "-c", "ENV COMMITTED=1", name,
                f"{image}:v1").stdout.strip()
    assert img_id.startswith("sha256:")
    info = client.api.inspect_image(f"{image}:v1")
    assert info["Parent"] and info["Comment"] == "a message" and info["Author"] == "someone"
    assert "COMMITTED=1" in info["Config"]["Env"] and info["Config"]["Cmd"] == ["sleep", "300"]
    hist = client.api.history(f"{image}:v1")
    assert hist[0]["CreatedBy"] == "sleep 300" and hist[0]["Comment"] == "a message"
    out = dk(dw_daemon, "run", "--rm", f"{image}:v1", "sh", "-c", "cat /new/f; ls /bin/ls 2>&1; echo $COMMITTED")
    assert out.stdout.splitlines()[0] == "hi" and out.stdout.splitlines()[-1] == "1"
    assert "No such file" in out.stdout or "can't access" in out.stdout or "No such file" in out.stderr
    with tempfile.TemporaryDirectory() as td:  # the new layer holds the changes, not the engine's mount points
        dk(dw_daemon, "save", "-o", f"{td}/img.tar", f"{image}:v1")
        with tarfile.open(f"{td}/img.tar") as tf:
            manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
            layer = tf.extractfile(manifest[0]["Layers"][-1])
            assert layer is not None
            with tarfile.open(fileobj=io.BytesIO(layer.read())) as lt:
                layer_names = {n.rstrip("/") for n in lt.getnames()}
    assert {"new/f", "bin/.wh.ls", "etc/passwd"} <= layer_names
    assert not layer_names & {"etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys", "dev"}
    # export of the stopped container: the whole root
    dk(dw_daemon, "stop", "-t", "0", name)
    with tempfile.TemporaryDirectory() as td:
        tarp = Path(td) / "x.tar"
        dk(dw_daemon, "export", "-o", str(tarp), name)
        with tarfile.open(tarp) as tf:
            names = set(tf.getnames())
        assert {"bin/busybox", "new/f", "etc/passwd"} <= names and "bin/ls" not in names


def test_update_limits_seen_inside(dw_daemon: DaemonProc, client: docker.DockerClient, busybox_image: str,
                                   cleanup: list[str]) -> None:
    name = _sleeper(dw_daemon, cleanup, busybox_image, "-m", "64m")
    dk(dw_daemon, "update", "--memory", "96m", "--memory-swap", "200m", "--pids-limit", "33",
       "--restart", "on-failure:2", name)
    hc = client.api.inspect_container(name)["HostConfig"]
    assert hc["Memory"] == 96 << 20 and hc["PidsLimit"] == 33 and hc["RestartPolicy"]["Name"] == "on-failure"
    script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
              "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
    out = dk(dw_daemon, "exec", name, "sh", "-c", script).stdout.split()
    assert out == [str(96 << 20), "33"]
    dk(dw_daemon, "update", "--pids-limit", "-1", name)
    assert dk(dw_daemon, "exec", name, "sh", "-c", script).stdout.split()[-1] == "max"
    r = dk(dw_daemon, "update", "--memory", "1m", name, check=False)
    assert r.returncode != 0 and "Minimum memory limit allowed is 6MB" in r.stderr
    st, body = dw_daemon.request("POST", f"/v1.47/containers/{name}/update",
                                 json.dumps({"RestartPolicy": {"Name": "bogus"}}).encode(),
                                 {"Content-Type": "application/json"})
    assert st == 400 and json.loads(body)["message"] == "invalid restart policy 'bogus'"
    st, _ = dw_daemon.request("POST", "/v1.47/containers/nope-nope/update", b"{}",
                              {"Content-Type": "application/json"})
    assert st == 404


def _wait_health(client: docker.DockerClient, name: str, want: str, timeout: float = 20) -> dict[str, Any]:
    end = time.monotonic() + timeout
    h: dict[str, Any] = {}
    while time.monotonic() < end:
        h = client.api.inspect_container(name)["State"].get("Health") or {}
        if h.get("Status") == want:
            return h
        time.sleep(0.2)
    raise AssertionError(f"health never became {want}: {h}")


def test_healthcheck(dw_daemon: DaemonProc, client: docker.DockerClient, busybox_image: str,
                     cleanup: list[str]) -> None:
    name = _sleeper(dw_daemon, cleanup, busybox_image, "--health-cmd", "cat /tmp/ok", "--health-interval", "300ms",
                    "--health-retries", "2", "--health-timeout", "2s")
    state = client.api.inspect_container(name)["State"]
    if "Health" not in state:
        pytest.skip("health.start_health is not called from the service's start path yet")
    assert state["Health"]["Status"] == "starting"
    dk(dw_daemon, "exec", name, "sh", "-c", "echo fine > /tmp/ok")
    h = _wait_health(client, name, "healthy")
    log = h["Log"]
    assert isinstance(log, list) and log[-1]["ExitCode"] == 0 and log[-1]["Output"] == "fine\n"
    dk(dw_daemon, "exec", name, "rm", "/tmp/ok")
    h = _wait_health(client, name, "unhealthy")
    assert h["FailingStreak"] >= 2 and len(h["Log"]) <= 5
    filters = urllib.parse.quote(json.dumps({"container": [name]}))
    st, raw = dw_daemon.request("GET", f"/v1.47/events?since=0&until={int(time.time()) + 1}&filters={filters}")
    events = [json.loads(ln)["Action"] for ln in raw.splitlines() if ln.strip()]
    assert "health_status: healthy" in events and "health_status: unhealthy" in events, events


def test_init(dw_daemon: DaemonProc, busybox_image: str) -> None:
    from dockwright.errors import InvalidParameter
    from dockwright.runtime.init import find_init

    try:
        find_init()
    except InvalidParameter:
        pytest.skip("no init binary (tini/docker-init) on this host")
    out = dk(dw_daemon, "run", "--rm", "--init", busybox_image, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    if "docker-init" not in out.stdout:
        pytest.skip("runtime.init.with_init is not called from bundle.py yet")
    assert out.stdout.startswith("/sbin/docker-init -- sh -c")


def test_oom_killed(dw_daemon: DaemonProc, client: docker.DockerClient, busybox_image: str,
                    cleanup: list[str]) -> None:
    name = _name("oom")
    cleanup.append(name)
    r = dk(dw_daemon, "run", "--name", name, "-m", "32m", "--memory-swap", "32m", busybox_image,
           "sh", "-c", "tail /dev/zero", check=False)
    assert r.returncode == 137, r.stderr
    st = client.api.inspect_container(name)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137


def test_pids_limit_stops_fork_bomb(dw_daemon: DaemonProc, busybox_image: str, cleanup: list[str]) -> None:
    name = _name("pids")
    cleanup.append(name)
    script = ("i=0; while [ $i -lt 60 ]; do (sleep 30 &); i=$((i+1)); done; "
              "f=/sys/fs/cgroup/pids/pids.current; [ -e $f ] || f=/sys/fs/cgroup/pids.current; read n < $f; echo n=$n")
    r = dk(dw_daemon, "run", "--name", name, "--pids-limit", "20", busybox_image, "sh", "-c", script,
           check=False, timeout=60)
    assert "n=" in r.stdout, (r.stdout, r.stderr)  # builtins only: forks fail at the limit
    assert int(r.stdout.split("n=")[-1]) <= 20 and "can't fork" in r.stderr, (r.stdout, r.stderr)
