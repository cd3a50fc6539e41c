"""Container lifecycle through the real docker CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import DOCKER, docker
from tests.support.daemon import DaemonProc


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_run_output_and_exit_codes(dw_daemon: DaemonProc, busybox_image: str) -> None:
    r = docker(dw_daemon, "run", "--rm", busybox_image, "echo", "hi")
    assert r.stdout == "hi\n"
    r = docker(dw_daemon, "run", "--rm", busybox_image, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3 and r.stdout == "out\n" and "err\n" in r.stderr
    r = docker(dw_daemon, "run", "--rm", busybox_image, "no-such-command", check=False)
    assert r.returncode == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in r.stderr
    r = docker(dw_daemon, "run", "-i", "--rm", busybox_image, "cat", input=b"piped\n")
    assert r.stdout == "piped\n"
    out = docker(dw_daemon, "ps", "-a", "--format", "{{.Image}}").stdout
    assert busybox_image.split(":")[0] not in out.split()  # --rm removed them all


def test_detached_logs_exec_stop_restart_rm(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name = _name("life")
    cid = docker(dw_daemon, "run", "-d", "--name", name, busybox_image, "sh", "-c",
                 "trap 'echo bye; exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"
                 ).stdout.strip()
    assert len(cid) == 64
    ps = docker(dw_daemon, "ps", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout
    assert f"{cid[:12]} {name} Up" in ps
    time.sleep(0.4)
    logs = docker(dw_daemon, "logs", name).stdout.splitlines()
    assert logs[0] == "tick 0" and len(logs) >= 2
    assert docker(dw_daemon, "logs", "--tail", "1", name).stdout.count("\n") == 1
    ts = docker(dw_daemon, "logs", "-t", "--tail", "1", name).stdout
    assert ts[:4].isdigit() and "Z tick" in ts
    follow = subprocess.Popen([DOCKER, "logs", "-f", "--tail", "0", name], env=dw_daemon.env,
                              stdout=subprocess.PIPE, text=True)
    r = docker(dw_daemon, "exec", name, "sh", "-c", "echo in-exec $HOSTNAME; exit 5", check=False)
    assert r.returncode == 5 and r.stdout == f"in-exec {cid[:12]}\n"
    r = docker(dw_daemon, "exec", "-i", name, "cat", input=b"to exec\n")
    assert r.stdout == "to exec\n"
    r = docker(dw_daemon, "exec", "-u", "app", "-w", "/tmp", "-e", "X=1", name, "sh", "-c", "id -u; pwd; echo $X")
    assert r.stdout.split() == ["1000", "/tmp", "1"]
    t = time.time()
    docker(dw_daemon, "stop", name)
    assert time.time() - t < 5  # the trap exits at once on SIGTERM
    tail, _ = follow.communicate(timeout=10)
    assert "bye" in tail  # logs -f ends when the container stops
    state = json.loads(docker(dw_daemon, "inspect", name).stdout)[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 0 and not state["Running"]
    assert state["FinishedAt"] > state["StartedAt"]
    docker(dw_daemon, "restart", name)
    assert json.loads(docker(dw_daemon, "inspect", name).stdout)[0]["State"]["Running"]
    r = docker(dw_daemon, "rm", name, check=False)
    assert r.returncode == 1 and "container is running" in r.stderr
    docker(dw_daemon, "rm", "-f", name)
    r = docker(dw_daemon, "inspect", name, check=False)
    assert r.returncode == 1 and f"No such object: {name}" in r.stderr


def test_stop_timeout_kills(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name = _name("stubborn")
    docker(dw_daemon, "run", "-d", "--name", name, busybox_image, "sh", "-c", "trap '' TERM; sleep 60")
    t = time.time()
    docker(dw_daemon, "stop", "-t", "1", name)
    assert 0.8 < time.time() - t < 6
    assert json.loads(docker(dw_daemon, "inspect", name).stdout)[0]["State"]["ExitCode"] == 137
    docker(dw_daemon, "start", name)
    docker(dw_daemon, "kill", "--signal", "KILL", name)
    docker(dw_daemon, "wait", name)
    r = docker(dw_daemon, "kill", "--signal", "NOPE", name, check=False)
    assert r.returncode == 1
    docker(dw_daemon, "rm", name)


def test_rename_pause_and_wait(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name, new = _name("ren"), _name("renamed")
    docker(dw_daemon, "run", "-d", "--name", name, busybox_image, "sleep", "30")
    docker(dw_daemon, "rename", name, new)
    assert new in docker(dw_daemon, "ps", "--format", "{{.Names}}").stdout
    docker(dw_daemon, "pause", new)
    st = json.loads(docker(dw_daemon, "inspect", new).stdout)[0]["State"]
    assert st["Status"] == "paused" and st["Paused"]
    docker(dw_daemon, "unpause", new)
    waiter = subprocess.Popen([DOCKER, "wait", new], env=dw_daemon.env, stdout=subprocess.PIPE, text=True)
    docker(dw_daemon, "kill", new)
    out, _ = waiter.communicate(timeout=15)
    assert out.strip() == "137"
    docker(dw_daemon, "rm", new)


def test_create_start_attach(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name = _name("att")
    docker(dw_daemon, "create", "--name", name, busybox_image, "sh", "-c", "echo attached; exit 4")
    r = docker(dw_daemon, "start", "-a", name, check=False)
    assert r.returncode == 4 and r.stdout == "attached\n"
    docker(dw_daemon, "rm", name)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_interactive_tty_in_tmux(dw_daemon: DaemonProc, busybox_image: str) -> None:
    session = _name("dwtmux")
    env = " ".join(f"{k}={v}" for k, v in (("DOCKER_HOST", dw_daemon.host),
                                           ("DOCKER_CONFIG", dw_daemon.env["DOCKER_CONFIG"])))
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    f"env {env} {DOCKER} run -it --rm {busybox_image} sh"], check=True)
    try:
        def screen() -> str:
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                  text=True).stdout

        deadline = time.time() + 15
        while time.time() < deadline and "#" not in screen():
            time.sleep(0.1)
        assert "#" in screen(), screen()
        subprocess.run(["tmux", "send-keys", "-t", session, "echo $((6*7))", "Enter"], check=True)
        deadline = time.time() + 10
        while time.time() < deadline and "42" not in screen():
            time.sleep(0.1)
        assert "42" in screen(), screen()
        subprocess.run(["tmux", "send-keys", "-t", session, "exit", "Enter"], check=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            alive = subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0
            if not alive:
                break
            time.sleep(0.1)
        assert not alive, screen()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_add_host_and_unknown_network(dw_daemon: DaemonProc, busybox_image: str) -> None:
    """--add-host in every form the CLI passes on (as dockerd writes them), and an unknown network or
    container in --network failing at start, as dockerd's do: a 404 from create would make the CLI
    try to pull the image."""
    r = docker(dw_daemon, "run", "--rm", "--add-host", "foo:1.2.3.4", "--add-host", "bar=5.6.7.8",
               "--add-host", "gw:host-gateway", "--add-host", "v6:::1", "--add-host", "v6b=[::2]",
               busybox_image, "sh", "-c", "grep -v localhost /etc/hosts; ip route | grep default")
    lines = r.stdout.splitlines()
    gateway = lines[-1].split()[2]
    assert ["1.2.3.4\tfoo", "5.6.7.8\tbar", f"{gateway}\tgw", "::1\tv6", "::2\tv6b"] == \
        [x for x in lines if x.split("\t")[-1] in ("foo", "bar", "gw", "v6", "v6b")], r.stdout
    for net, message in (("nosuchnet", "network nosuchnet not found"),
                         ("container:nosuch", "No such container: nosuch")):
        r = docker(dw_daemon, "run", "--rm", "--network", net, busybox_image, "true", check=False)
        assert r.returncode == 125 and message in r.stderr and "Unable to find image" not in r.stderr, r.stderr


def test_links_uts_host_mac_and_platform(dw_daemon: DaemonProc, busybox_image: str) -> None:
    """--link on the default bridge (hosts entry and ALIAS_* variables as dockerd writes them),
    --uts host, --mac-address, and --platform naming another platform than the local image's."""
    target = _name("linked")
    docker(dw_daemon, "run", "-d", "--name", target, "-e", "SECRET=x", "--expose", "80", busybox_image, "sleep", "30")
    try:
        ip = json.loads(docker(dw_daemon, "inspect", target).stdout)[0]["NetworkSettings"]["IPAddress"]
        me = _name("linker")
        r = docker(dw_daemon, "run", "--rm", "--name", me, "--link", f"{target}:db", busybox_image, "sh", "-c",
                   "grep -w db /etc/hosts; env | grep ^DB_ | sort")
        lines = r.stdout.splitlines()
        assert lines[0].split("\t") == [ip, f"db {lines[0].split()[2]} {target}"], r.stdout
        assert lines[1:] == ["DB_ENV_SECRET=x", f"DB_NAME=/{me}/db", f"DB_PORT=tcp://{ip}:80",
                             f"DB_PORT_80_TCP=tcp://{ip}:80", f"DB_PORT_80_TCP_ADDR={ip}", "DB_PORT_80_TCP_PORT=80",
                             "DB_PORT_80_TCP_PROTO=tcp"], r.stdout
        parent = _name("parent")  # a link is a name of the linked container until `rm --link`
        docker(dw_daemon, "create", "--name", parent, "--link", f"{target}:db", busybox_image, "true")
        names = docker(dw_daemon, "ps", "-a", "--no-trunc", "--format", "{{.Names}}").stdout.split()
        assert f"{target},{parent}/db" in names, names
        docker(dw_daemon, "rm", "--link", f"/{parent}/db")
        names = docker(dw_daemon, "ps", "-a", "--no-trunc", "--format", "{{.Names}}").stdout.split()
        assert target in names and parent in names, names
        docker(dw_daemon, "rm", parent)
    finally:
        docker(dw_daemon, "rm", "-f", target)
    r = docker(dw_daemon, "run", "--rm", "--uts", "host", busybox_image, "hostname")
    assert r.stdout.strip() == os.uname().nodename
    r = docker(dw_daemon, "run", "--rm", "--mac-address", "02:42:ac:11:00:99", busybox_image,
               "cat", "/sys/class/net/eth0/address")
    assert r.stdout == "02:42:ac:11:00:99\n"
    status, raw = dw_daemon.request("POST", "/v1.47/containers/create?platform=linux/s390x",
                                    json.dumps({"Image": busybox_image, "Cmd": ["true"]}).encode(),
                                    {"Content-Type": "application/json"})
    assert status == 404 and "does not match the specified platform: wanted linux/s390x" in raw.decode(), raw


def test_mount_flag_bind_and_tmpfs(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    """--mount type=bind (read-only enforced) and type=tmpfs (size, mode), and inspect's Mounts."""
    (tmp_path / "f").write_text("hi\n")
    name = _name("mounts")
    docker(dw_daemon, "run", "-d", "--name", name, "--mount", f"type=bind,src={tmp_path},dst=/m,readonly",
           "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "-v", f"{tmp_path}:/v:ro",
           busybox_image, "sleep", "30")
    try:
        r = docker(dw_daemon, "exec", name, "sh", "-c", "cat /m/f; stat -c %a /t; grep ' /t ' /proc/mounts; "
                   "touch /m/x 2>&1; touch /t/x && echo tmpfs-writable")
        assert r.stdout.startswith("hi\n1770\n") and "size=1024k" in r.stdout, r.stdout
        assert "Read-only file system" in r.stdout and "tmpfs-writable" in r.stdout, r.stdout
        mounts = json.loads(docker(dw_daemon, "inspect", name).stdout)[0]["Mounts"]
        assert {"Type": "bind", "Source": str(tmp_path), "Destination": "/v", "Mode": "ro", "RW": False,
                "Propagation": "rprivate"} in mounts
        assert {"Type": "bind", "Source": str(tmp_path), "Destination": "/m", "Mode": "", "RW": False,
                "Propagation": "rprivate"} in mounts
        assert {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True, "Propagation": ""} in mounts
    finally:
        docker(dw_daemon, "rm", "-f", name)
    assert not (tmp_path / "x").exists()
